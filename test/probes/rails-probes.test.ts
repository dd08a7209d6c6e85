/**
 * Probe rails at their boundaries, with the product's defaults (a config without a `probes` key): a GPU at
 * `gpu_busy_percent` is busy; a GPU sample or stored answer older than `stale_after` is unknown, never idle; Jupyter
 * activity within `active_window` is busy; an idle release decided without the GPU seen acts only after a warning,
 * and one decided with it seen acts only on a fresh GPU sample that is not busy.
 * Real parts: the simulator's SSH server streaming `nvidia-smi`, the guard core over the simulator, real SQLite.
 */
import { instanceAt } from '../helpers/policy-input.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { parseConfig } from '../../src/config/load.js';
import { openDb, type GuardDb } from '../../src/db/open.js';
import { instanceStates, storedProbeViews } from '../../src/jobs/assess.js';
import { evaluatePolicies } from '../../src/policies/engine.js';
import type { Decision, InstanceState, ProbeView } from '../../src/policies/types.js';
import { judgeGpuWindow } from '../../src/probes/gpu-signals.js';
import { judgeJupyter } from '../../src/probes/jupyter.js';
import { ProbeMonitor } from '../../src/probes/monitor.js';
import { monitorOptionsFromConfig, staleAfterByProbe } from '../../src/probes/options.js';
import { persistProbeResults } from '../../src/probes/runner.js';
import { startSimulator, type RunningSim } from '../../src/sim/index.js';
import { XgcClient } from '../../src/xgc/index.js';
import type { InstanceAccess } from '../../src/xgc/types.js';
import { startHarness, type Harness } from '../helpers/guard.js';

const MIN = 60_000;
const T = Date.UTC(2026, 10, 26, 10, 0, 0);
const config = parseConfig({});
const defaults = monitorOptionsFromConfig(config.probes);

describe('gpu busy threshold', () => {
  const g = defaults.gpu;
  const judge = (util: number) => judgeGpuWindow([{ at: T, gpus: [{ util, memUsedMiB: 100 }] }], T, g, { lastBusy: null, watchingSince: T - 3_600_000 });

  it('a GPU exactly at the default gpu_busy_percent is busy; one percent below is idle', () => {
    expect(g.gpuBusyPercent).toBe(10);
    expect(judge(g.gpuBusyPercent)).toMatchObject({ verdict: 'busy', code: { code: 'gpu.busy' } });
    expect(judge(g.gpuBusyPercent - 1).verdict).toBe('idle');
  });
});

describe('gpu stale sample (monitor, product defaults)', () => {
  let sim: RunningSim;
  let gdb: GuardDb;
  let access: InstanceAccess;
  let m: ProbeMonitor | undefined;

  beforeAll(async () => {
    sim = await startSimulator({ token: 'rails-probes', instances: 0, speed: 1, seed: 7 });
    sim.world.addInstance({ name: 'idle-box', image: 'Jupyter', busy: false });
    gdb = openDb(':memory:');
    [{ access }] = await new XgcClient({ baseUrl: sim.url, token: 'rails-probes' }).listInstances();
  });
  afterAll(async () => {
    await m?.stop();
    gdb?.close();
    await sim?.close();
  });

  it('a sample exactly stale_after old is still judged; one ms older is unknown, never idle, though still in the window', async () => {
    const g = defaults.gpu;
    // the real-world gap: the default stale_after is shorter than the judging window
    expect(g.staleAfterMs).toBe(30_000);
    expect(g.windowMs).toBeGreaterThan(g.staleAfterMs + 1);
    const clock = new ManualClock(T); // every sample is stamped T
    m = new ProbeMonitor({ db: gdb.db, clock, options: defaults });
    m.setTargets([access]);
    await m.settle(60_000);
    expect(m.status().sampleAgesMs).toEqual([0]);
    expect(m.gpuAnswer(access.id, T + g.staleAfterMs)).toMatchObject({ verdict: 'idle' });
    const stale = m.gpuAnswer(access.id, T + g.staleAfterMs + 1)!;
    expect(stale).toMatchObject({ verdict: 'unknown', code: { code: 'gpu.not_seen' } });
    expect(stale.code!.details).toContainEqual({ code: 'gpu.stale', params: { age_ms: g.staleAfterMs + 1 } });
  });
});

describe('stored probe answers past stale_after (product defaults)', () => {
  it('a stored idle answer exactly stale_after old still counts; one ms older is unknown, for the GPU and the apps', () => {
    const limits = staleAfterByProbe(config.probes);
    expect(limits).toMatchObject({ gpu: 30_000, jupyter: 120_000 });
    const g = openDb(':memory:');
    const id = 'aaaaaaaaaaaaaaaa';
    persistProbeResults(g.db, new Map([[id, { gpu: { verdict: 'idle', since: T - 3_600_000, detail: 'GPU at most 0%' }, jupyter: { verdict: 'idle', since: T - 3_600_000, detail: 'no activity' } }]]), T);
    const view = (name: 'gpu' | 'jupyter', now: number) => storedProbeViews(g.db, [id], now, limits).get(id)![name].verdict;
    for (const name of ['gpu', 'jupyter'] as const) {
      expect(view(name, T + limits[name]), name).toBe('idle');
      expect(view(name, T + limits[name] + 1), name).toBe('unknown');
    }
    g.close();
  });
});

describe('jupyter activity within active_window (product default)', () => {
  const opts = { activeWindowMs: config.probes.jupyter.active_window, countConnections: true };
  const at = (ago: number) => new Date(T - ago).toISOString();
  const terminal = (ago: number) => judgeJupyter({ kernels: [], sessions: [], terminals: [{ name: '1', last_activity: at(ago) }] }, T, opts).verdict;
  const starting = (ago: number) => judgeJupyter({ kernels: [{ id: 'k', execution_state: 'starting', last_activity: at(ago) }], sessions: [], terminals: [] }, T, opts).verdict;

  it('activity 1 ms inside active_window is busy; exactly active_window old is idle (terminals and starting kernels)', () => {
    expect(opts.activeWindowMs).toBe(120_000);
    expect(terminal(opts.activeWindowMs - 1)).toBe('busy');
    expect(terminal(opts.activeWindowMs)).toBe('idle');
    expect(starting(opts.activeWindowMs - 1)).toBe('busy');
    expect(starting(opts.activeWindowMs)).toBe('idle');
  });
});

describe('an idle decision without the GPU seen acts only after a warning', () => {
  it('even with warn_before 0s: no act without a warning; the warning goes out, and the act follows it', () => {
    const inst = instanceAt(T);
    const probes: Record<string, ProbeView> = {
      jupyter: { verdict: 'idle', since: T - 2 * 60 * MIN, detail: 'no activity' },
      gpu: { verdict: 'unknown', since: T - 60 * MIN, detail: 'GPU not seen: SSH connection refused' },
    };
    const policy = { name: 'idle', type: 'idle', idle_for: '45m', min_uptime: '10m', warn_before: '0s' };
    const at = (now: number, warnedAt = new Map<string, number>()) =>
      evaluatePolicies({
        now,
        config: parseConfig({ policies: [policy] }),
        instances: [inst],
        probes: new Map([[inst.id, probes]]),
        balance: 500,
        spend: { today: 0, month: 0, dayStart: T - 2 * 60 * MIN, monthStart: T - 25 * 24 * 60 * MIN },
        overrides: [],
        cooldownUntil: new Map(),
        warnedAt,
      }).decisions;
    const first = at(T);
    expect(first.filter((d: Decision) => d.kind === 'act')).toEqual([]);
    const warning = first.find((d: Decision) => d.kind === 'warn') as Extract<Decision, { kind: 'warn' }>;
    expect(warning).toMatchObject({ policy: 'idle', plannedAt: T });
    // once that warning is out, the next tick acts on it
    expect(at(T + MIN, new Map([[warning.key, T]])).filter((d: Decision) => d.kind === 'act')).toHaveLength(1);
  });
});

describe('the re-check right before an idle release (executor, through the simulator)', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });
  const release = (state: InstanceState, key: string, requireGpu: boolean) =>
    h!.core.executor.execute({ key, policy: 'idle', action: 'release_gpu', instance: state, reason: 'test', requireIdle: true, requireGpu, dryRun: false, who: 'policy' });

  it('a release decided with the GPU seen aborts when no fresh GPU sample is there to act on; one warned as GPU-unseen goes ahead', async () => {
    h = await startHarness({ policies: [] });
    await h.ctl('/sim/faults', { ssh_refuse_rate: 1 }); // the GPU cannot be seen
    const id = await h.add({ name: 'sd-idle', image: 'WebUI', status: 'running' });
    await h.step(10 * MIN); // past Jupyter's active_window since the boot
    const [state] = instanceStates(h.gdb.db, h.core.ticker.lastObservation!.list);
    const seen = await release(state, 'k-seen', true);
    expect(seen).toMatchObject({ state: 'aborted', reason: expect.stringMatching(/no fresh GPU sample/) });
    expect(h.sim.world.instance(id)!.status).toBe('running');
    expect(await release(state, 'k-warned', false)).toMatchObject({ state: 'sent' });
  });

  it('a stepped settle inside a sample period is satisfied by the last sample (no timeout sat out); a period on, it has the new one', async () => {
    h = await startHarness({ policies: [] });
    const id = await h.add({ name: 'sd', image: 'WebUI', status: 'running' });
    await h.step(MIN); // the tick starts watching it
    await h.step(MIN); // streaming
    const period = h.config.probes.gpu.sample_every;
    const sampled = () => h!.core.probes.status().sampleAgesMs;
    expect(sampled()).toEqual([0]);
    // inside the period the stream prints nothing new, and the last sample is the one due: settled at once
    h.clock.advance(period / 2);
    h.sim.ssh?.reconcile();
    expect(await h.core.probes.settle(20_000)).toBe(true);
    expect(sampled()).toEqual([period / 2]);
    // a period on, a new sample is due
    h.clock.advance(period / 2);
    h.sim.ssh?.reconcile();
    expect(await h.core.probes.settle(20_000)).toBe(true);
    expect(sampled()).toEqual([0]);
    expect(h.sim.world.instance(id)!.status).toBe('running');
  });

  it('a GPU busy at the re-check aborts the release though every app says idle (nohup/tmux work)', async () => {
    h = await startHarness({ policies: [] });
    const id = await h.add({ name: 'train-nohup', image: 'Jupyter', status: 'running' });
    h.sim.world.setActivity(id, true, undefined, 'background');
    await h.step(MIN); // the tick starts watching it
    await h.step(10 * MIN); // streaming, and past Jupyter's active_window since the boot
    const [state] = instanceStates(h.gdb.db, h.core.ticker.lastObservation!.list);
    const r = await release(state, 'k-busy', true);
    expect(r).toMatchObject({ state: 'aborted', reason: expect.stringMatching(/^busy now: gpu: GPU at \d+%/) });
    expect(r.reason).not.toMatch(/jupyter/);
    expect(h.sim.world.instance(id)!.status).toBe('running');
  });
});
