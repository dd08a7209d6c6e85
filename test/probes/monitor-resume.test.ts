/**
 * The GPU's idle `since` across a restart of the guard: a new monitor on the same database goes on from the
 * answer the previous one stored when its stream starts within `stale_after` of it (else `idle_for` would start
 * over at every restart, and a guard restarted more often than `idle_for` would never release), and starts over
 * when the gap was longer, when the stored answer was busy, or when this monitor itself saw the instance stop.
 * Also: an unknown answer says since when the GPU has not been seen, and a new unseen stretch has a new since.
 * Real parts: the simulator's SSH server streaming `nvidia-smi`, a real SQLite file.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/clock.js';
import { openDb, type GuardDb } from '../../src/db/open.js';
import { GPU_SIGNAL_DEFAULTS } from '../../src/probes/gpu-signals.js';
import { ProbeMonitor, type GpuProbeOptions } from '../../src/probes/monitor.js';
import { loadProbeState } from '../../src/probes/runner.js';
import { startSimulator, type RunningSim } from '../../src/sim/index.js';
import { XgcClient } from '../../src/xgc/index.js';
import type { InstanceAccess } from '../../src/xgc/types.js';
import { tempDir } from '../helpers/proc.js';
import { sleep, waitFor } from './helpers.js';

const TOKEN = 'resume-token';
const STALE_AFTER = 1_500;

describe('gpu probe: idle since across a restart of the guard', () => {
  let sim: RunningSim;
  let g: GuardDb;
  let access: InstanceAccess;
  let id: string;
  const monitors: ProbeMonitor[] = [];

  beforeAll(async () => {
    sim = await startSimulator({ token: TOKEN, instances: 0, speed: 1, seed: 5 });
    id = sim.world.addInstance({ name: 'idle-box', image: 'Jupyter', busy: false }).id;
    g = openDb(join(tempDir('xgc-resume-'), 'guard.db'));
    const [first] = await new XgcClient({ baseUrl: sim.url, token: TOKEN }).listInstances();
    access = first.access;
  });
  afterAll(async () => {
    for (const m of monitors) await m.stop();
    g?.close();
    await sim?.close();
  });

  /** A monitor as the daemon makes one, sampling every 200 ms, on the shared database. */
  function monitor(staleAfterMs = STALE_AFTER): ProbeMonitor {
    const gpu: GpuProbeOptions = {
      ...GPU_SIGNAL_DEFAULTS,
      enabled: true,
      sampleEveryMs: 200,
      connectTimeoutMs: 5_000,
      staleAfterMs,
      windowMs: 1_000,
      connectConcurrency: 4,
    };
    const m = new ProbeMonitor({ db: g.db, clock: systemClock, options: { gpu, apps: {}, appIntervalMs: 60_000, concurrency: 1 } });
    monitors.push(m);
    return m;
  }
  /** Watch the instance until the GPU answer is idle; returns that answer's `since`. */
  async function idleSince(m: ProbeMonitor): Promise<number> {
    m.setTargets([access]);
    const a = await waitFor(async () => {
      const x = m.gpuAnswer(access.id, systemClock.now());
      return x?.verdict === 'idle' ? x : undefined;
    }, 15_000, 50);
    return a.since!;
  }
  const storedGpu = () => loadProbeState(g.db, [access.id]).get(access.id)?.gpu;

  it('settle waits for a GPU sample at or after the clock, and gives up after its timeout when none can come', async () => {
    const m = monitor();
    m.setTargets([access]);
    await m.settle(15_000);
    expect(m.gpuAnswer(access.id, systemClock.now())?.detail).not.toBe('no sample yet');
    // a clock that runs backwards: every sample the link streams is stamped before the instant settle waits for, so
    // only the timeout ends the wait
    let k = 0;
    const ahead = { now: () => systemClock.now() + 86_400_000 - (k += 1_000) };
    const gpu: GpuProbeOptions = { ...GPU_SIGNAL_DEFAULTS, enabled: true, sampleEveryMs: 200, connectTimeoutMs: 5_000, staleAfterMs: STALE_AFTER, windowMs: 1_000, connectConcurrency: 4 };
    const late = new ProbeMonitor({ db: g.db, clock: ahead, options: { gpu, apps: {}, appIntervalMs: 60_000, concurrency: 1 } });
    monitors.push(late);
    late.setTargets([access]);
    await waitFor(async () => late.gpuAnswer(access.id, ahead.now())?.detail !== 'no sample yet' || undefined, 15_000, 50); // the link streams
    await late.settle(300); // without its deadline this never returns (the test times out)
    await m.stop();
  });

  it('a new monitor streaming within stale_after of the stored idle answer goes on from its since', async () => {
    const first = monitor();
    const since = await idleSince(first);
    await sleep(1_000); // idle for a while: the restart must not move `since` to now
    first.flushGpu();
    expect(storedGpu()).toMatchObject({ verdict: 'idle', since });
    await first.stop();
    // the production default (30 s): a restart's SSH handshake on a loaded machine may take longer than 1.5 s
    const restarted = monitor(30_000);
    const resumed = await idleSince(restarted);
    expect(resumed).toBe(since);
    await restarted.stop();
  });

  it('after a gap longer than stale_after it starts over from the new stream', async () => {
    const first = monitor();
    const since = await idleSince(first);
    first.flushGpu();
    const storedAt = storedGpu()!.checkedAt;
    await first.stop();
    await sleep(STALE_AFTER + 500);
    const restarted = monitor();
    const resumed = await idleSince(restarted);
    expect(resumed).toBeGreaterThan(storedAt + STALE_AFTER);
    expect(resumed).toBeGreaterThan(since);
    await restarted.stop();
  });

  it('a stored busy answer carries nothing over', async () => {
    const first = monitor();
    await idleSince(first);
    sim.world.setActivity(id, true, 90, 'background');
    await waitFor(async () => first.gpuAnswer(access.id, systemClock.now())?.verdict === 'busy', 15_000, 50);
    first.flushGpu();
    expect(storedGpu()!.verdict).toBe('busy');
    await first.stop();
    sim.world.setActivity(id, false);
    const restarted = monitor();
    const startedAt = systemClock.now();
    const resumed = await idleSince(restarted);
    expect(resumed).toBeGreaterThanOrEqual(startedAt);
    await restarted.stop();
  });

  it('an instance this monitor stopped watching (it stopped) starts over when it runs again', async () => {
    const m = monitor();
    const since = await idleSince(m);
    await sleep(500);
    m.flushGpu();
    expect(storedGpu()).toMatchObject({ verdict: 'idle', since });
    m.setTargets([]); // it stopped: the tick no longer lists it as running
    const again = systemClock.now();
    const resumed = await idleSince(m);
    expect(resumed).toBeGreaterThanOrEqual(again);
    await m.stop();
  });

  it('an unknown answer carries since when the GPU has not been seen, and each unseen stretch its own', async () => {
    const m = monitor();
    await idleSince(m);
    const t1 = systemClock.now() + STALE_AFTER + 1_000; // no sample for longer than stale_after: unknown
    const blind = m.gpuAnswer(access.id, t1)!;
    expect(blind).toMatchObject({ verdict: 'unknown', since: t1 });
    expect(m.gpuAnswer(access.id, t1 + 500)).toMatchObject({ verdict: 'unknown', since: t1 }); // the same stretch
    expect(m.gpuAnswer(access.id, systemClock.now())!.verdict).toBe('idle'); // seen again
    const t2 = systemClock.now() + STALE_AFTER + 2_000;
    expect(m.gpuAnswer(access.id, t2)).toMatchObject({ verdict: 'unknown', since: t2 }); // a new stretch
    await m.stop();
  });
});
