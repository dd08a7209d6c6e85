/**
 * Cloud faults (issue 11): the guard core on a shared ManualClock against the real simulator over HTTP,
 * through a counting proxy, with the simulator's fault dice on.
 *
 * Tried: 160 ticks under a mix of 30% HTTP 500, 5% timeouts, 5% malformed JSON, 5% `success:false`
 * envelopes and 2% token errors per request (the proxy tallies what was injected; last run: 565
 * requests, 182 HTTP 500s, 31 hangs, 20 garbled bodies, 32 refusals; 72 of 168 ticks blind; 32 journal
 * rows, 12 applied releases, 3 idle stretches given up), with the user booting released instances again
 * every 40 ticks; full outages by token errors and by a dead balance endpoint while the
 * list works; latency spikes below and above the client timeout.
 * Held: blind ticks decide and act on nothing; every journaled action was decided at a tick whose observe
 * step succeeded; no instance is marked gone by a failed list; an instance is released at most once per
 * idle stretch and no release request follows an applied one; guard_blind is raised once after
 * `blind_alert_after` blind ticks and cleared by a guard_recovered notice; the guard recovers by itself;
 * no unhandled rejection.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import pino from 'pino';
import { ManualClock } from '../../src/clock.js';
import { parseConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { openDb, type GuardDb } from '../../src/db/open.js';
import { createGuardCore, type GuardCore } from '../../src/guard.js';
import { retryBackoffMs } from '../../src/actions/executor.js';
import type { TickResult } from '../../src/jobs/tick.js';
import { startSimulator, type RunningSim } from '../../src/sim/index.js';
import { XgcClient } from '../../src/xgc/index.js';
import { tempDir } from '../helpers/proc.js';
import { startCountingProxy, type CountingProxy } from './helpers.js';

const T0 = Date.UTC(2026, 10, 23, 0, 0, 0);
const STEP = 30_000;
const RELEASE = '/open/instance/shutdown_release_gpu';

interface Rig {
  clock: ManualClock;
  sim: RunningSim;
  proxy: CountingProxy;
  gdb: GuardDb;
  config: Config;
  core: GuardCore;
  results: TickResult[];
  /** wall times of user boots per instance (they start a new idle stretch) */
  boots: Map<string, number[]>;
  step(): Promise<TickResult>;
  faults(f: Record<string, unknown>): Promise<void>;
  close(): Promise<void>;
}

async function startRig(raw: Record<string, unknown> = {}): Promise<Rig> {
  const clock = new ManualClock(T0);
  const sim = await startSimulator({ token: 'T', instances: 0, clock, seed: 11, balance: 5000 });
  const proxy = await startCountingProxy(sim.url);
  const dir = tempDir('xgc-faults-');
  const config = parseConfig({
    xgc: { token: 'T', base_url: proxy.url },
    db: { path: join(dir, 'guard.db') },
    dry_run: false,
    blind_alert_after: 3,
    limits: { max_actions_per_hour: 1000, cooldown_after_boot: '1s' },
    // cloud API faults are the subject here: the GPU is not watched (the SSH link would race the stepped clock),
    // so idle decisions come after a one-minute warning
    probes: { heartbeat: { enabled: false }, gpu: { enabled: false } },
    policies: [{ name: 'idle', type: 'idle', idle_for: '2m', min_uptime: '0s', warn_before: '1m' }],
    ...raw,
  });
  const gdb = openDb(config.db.path);
  // A short timeout keeps hung requests (timeout faults) cheap in real time; one retry per GET.
  const client = new XgcClient({ baseUrl: proxy.url, token: 'T', timeoutMs: 400, retries: 1, retryBaseMs: 1 });
  const core = createGuardCore({ db: gdb.db, config, clock, log: pino({ level: process.env.TEST_LOG ?? 'silent' }), channels: () => ['webhook'], client });
  const results: TickResult[] = [];
  return {
    clock,
    sim,
    proxy,
    gdb,
    config,
    core,
    results,
    boots: new Map(),
    async step() {
      clock.advance(STEP);
      // the daemon's probe loop, driven on the stepped clock
      await core.probes.pollApps();
      core.probes.flushGpu();
      const r = await core.ticker.tick(clock.now());
      results.push(r);
      return r;
    },
    async faults(f) {
      const r = await fetch(`${sim.url}/sim/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(f) });
      expect(r.status).toBe(200);
    },
    async close() {
      await core.probes.stop();
      await sim.close();
      await proxy.close();
      gdb.close();
    },
  };
}

const addInstances = async (rig: Rig, idle: number, busy: number) => {
  const w = rig.sim.world;
  const idleIds = Array.from({ length: idle }, (_, i) => w.addInstance({ name: `idle-${i}`, image: 'Jupyter' }).id);
  const busyIds = Array.from({ length: busy }, (_, i) => w.addInstance({ name: `busy-${i}`, image: 'Jupyter', busy: true }).id);
  return { idleIds, busyIds };
};

const rows = <T>(rig: Rig, sql: string, ...args: unknown[]) => rig.gdb.sqlite.prepare(sql).all(...args) as T[];

/** Actions sent by the first successful tick `first` and the next ticks up to `ticks` in all (each must observe). */
async function actedWithin(rig: Rig, first: TickResult, ticks: number): Promise<number> {
  let sent = first.acted.filter((a) => a.state === 'sent').length;
  for (let n = 1; n < ticks; n++) {
    const r = await rig.step();
    expect(r.outcome).toBe('ok');
    sent += r.acted.filter((a) => a.state === 'sent').length;
  }
  return sent;
}

/** Every journaled action was decided at the time of a tick whose observe step succeeded. */
function expectActionsFromOkTicks(rig: Rig): number {
  const okAt = new Set(rig.results.filter((r) => r.outcome === 'ok').map((r) => r.at));
  const acts = rows<{ id: number; decided_at: number; instance_id: string }>(rig, 'select id, decided_at, instance_id from actions');
  for (const a of acts) expect(okAt.has(a.decided_at), `action #${a.id} decided at a blind tick`).toBe(true);
  const dbOk = new Set(rows<{ at: number }>(rig, "select at from ticks where outcome = 'ok'").map((t) => t.at));
  for (const a of acts) expect(dbOk.has(a.decided_at)).toBe(true);
  for (const r of rig.results.filter((x) => x.outcome === 'blind')) {
    expect(r.decisions).toBe(0);
    expect(r.acted).toEqual([]);
  }
  return acts.length;
}

/**
 * Per instance and idle stretch (between user boots): at most one release the simulator applied, and no
 * release request at all after an applied one. Returns the number of applied releases.
 */
function expectOneReleasePerStretch(proxy: CountingProxy, boots: Map<string, number[]>): number {
  const byInst = new Map<string, typeof proxy.calls>();
  for (const c of proxy.calls.filter((x) => x.method === 'POST' && x.path === RELEASE && x.id)) byInst.set(c.id!, [...(byInst.get(c.id!) ?? []), c]);
  let applied = 0;
  for (const [id, calls] of byInst) {
    const cuts = boots.get(id) ?? [];
    const stretchOf = (at: number) => cuts.filter((b) => b <= at).length;
    const appliedIn = new Set<number>();
    for (const c of calls) {
      const s = stretchOf(c.at);
      expect(appliedIn.has(s), `release of ${id} sent again in stretch ${s} after an applied one`).toBe(false);
      if (c.ok) {
        appliedIn.add(s);
        applied++;
      }
    }
  }
  return applied;
}

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
beforeAll(() => {
  process.on('unhandledRejection', onUnhandled);
});
afterAll(() => {
  process.off('unhandledRejection', onUnhandled);
});

let rig: Rig | undefined;
afterEach(async () => {
  await rig?.close();
  rig = undefined;
  expect(unhandled).toEqual([]);
});

describe('cloud faults (in-process guard, simulator fault dice)', () => {
  it('under 30% HTTP 500 plus timeouts, malformed JSON, success:false and token errors, acts only from ticks that observed, releases once per idle stretch, and recovers', { timeout: 480_000 }, async () => {
    rig = await startRig();
    const { idleIds, busyIds } = await addInstances(rig, 5, 2);
    await rig.faults({ http_500_rate: 0.3, timeout_rate: 0.05, malformed_rate: 0.05, error_rate: 0.05, token_error_rate: 0.02 });
    const w = rig.sim.world;
    for (let n = 1; n <= 160; n++) {
      if (n % 40 === 0) {
        // The user boots the released ones again: a new idle stretch for each.
        for (const id of idleIds) {
          const s = w.instance(id)!;
          if (s.status === 'shutdown') {
            rig.boots.set(id, [...(rig.boots.get(id) ?? []), Date.now()]);
            w.boot(id);
          }
        }
      }
      const r = await rig.step();
      // No instance is ever marked gone while lists fail (checked at every tick: a later good list would revive it).
      expect(r.recorded?.gone ?? [], `tick ${n}`).toEqual([]);
      expect(rows(rig, 'select id from instances where gone_at is not null'), `tick ${n}`).toEqual([]);
    }
    const blind = rig.results.filter((r) => r.outcome === 'blind').length;
    const injected = {
      http500: rig.proxy.calls.filter((c) => c.status === 500).length,
      hung: rig.proxy.calls.filter((c) => c.status === 0).length,
      garbled: rig.proxy.calls.filter((c) => c.status === 200 && c.garbled).length,
      refused: rig.proxy.calls.filter((c) => c.status === 200 && !c.ok && !c.garbled).length,
    };
    expect(injected.http500).toBeGreaterThan(50);
    expect(injected.hung).toBeGreaterThan(3);
    expect(injected.garbled).toBeGreaterThan(3);
    expect(injected.refused).toBeGreaterThan(10);
    expect(blind).toBeGreaterThan(10);
    expect(blind).toBeLessThan(150);

    const journaled = expectActionsFromOkTicks(rig);
    expect(journaled).toBeGreaterThan(4);
    const applied = expectOneReleasePerStretch(rig.proxy, rig.boots);
    expect(applied).toBeGreaterThanOrEqual(idleIds.length);
    // Busy instances were never touched; nothing was declared gone by a failed list.
    for (const id of busyIds) expect(w.instance(id)!.status).toBe('running');
    expect(rows(rig, 'select id from actions where instance_id in (?, ?)', ...busyIds)).toEqual([]);
    expect(rows(rig, 'select id from instances where gone_at is not null')).toEqual([]);
    // Journal states are all final (no row stuck in decided) or a real outcome.
    for (const a of rows<{ state: string }>(rig, 'select state from actions')) expect(['sent', 'confirmed', 'failed', 'aborted']).toContain(a.state);

    // Faults off: the guard recovers by itself and releases what is still idle.
    await rig.faults({});
    // Every idle instance is released once the cloud is healthy, at the latest after its retry backoff
    // (1, 2, 4 ... minutes after a failed attempt, capped at an hour): the guard never gives up for good.
    // On a loaded machine a clean request can outlast this rig's 400 ms client timeout: such a tick is blind (and
    // acts on nothing, checked below) but says nothing about recovery; any other outcome than ok fails it.
    let slow = 0;
    for (let n = 0; n < 130 && idleIds.some((id) => w.instance(id)!.gpuUsed > 0); n++) {
      const r = await rig.step();
      if (r.outcome === 'blind' && r.errorClass === 'timeout') slow++;
      else expect(r.outcome, `tick ${n} after the faults ended (${r.errorClass ?? ''})`).toBe('ok');
    }
    expect(slow).toBeLessThan(10);
    for (const id of idleIds) expect(w.instance(id)!.gpuUsed).toBe(0);
    expectActionsFromOkTicks(rig);
    expectOneReleasePerStretch(rig.proxy, rig.boots);
    console.info(`[faults] ticks=${rig.results.length} blind=${blind} injected=${JSON.stringify(injected)} requests=${rig.proxy.calls.length} journaled=${journaled} applied releases=${applied}`);
  });

  it('token errors mid-run: blind ticks decide nothing, guard_blind is raised once after blind_alert_after ticks, a resolved notice follows recovery', async () => {
    rig = await startRig();
    const { idleIds } = await addInstances(rig, 2, 1);
    expect((await rig.step()).outcome).toBe('ok');
    await rig.faults({ token_error_rate: 1 });
    const blindEvents = () => rows<{ type: string; reason: string; created_at: number }>(rig!, "select type, reason, created_at from outbox_events where dedup_key = 'guard_blind' order by id");
    for (let n = 1; n <= 6; n++) {
      const r = await rig.step();
      expect(r.outcome).toBe('blind');
      expect(r.errorClass).toBe('auth');
      // idle_for (2m) passes during the outage: still nothing is decided from missing data.
      expect(blindEvents().length).toBe(n >= 3 ? 1 : 0);
    }
    expect(blindEvents()[0]).toMatchObject({ type: 'guard_blind', reason: 'first' });
    expect(rows(rig, 'select id from actions')).toEqual([]);
    for (const id of idleIds) expect(rig.sim.world.instance(id)!.status).toBe('running');

    await rig.faults({});
    const back = await rig.step();
    expect(back.outcome).toBe('ok');
    const ev = blindEvents();
    expect(ev.map((e) => [e.type, e.reason])).toEqual([
      ['guard_blind', 'first'],
      ['guard_recovered', 'resolved'],
    ]);
    expect(ev[1].created_at).toBe(back.at);
    // Only ticks that saw the account act on what is idle: the first one, or (when the GPU cannot be seen and the
    // outage swallowed the warning) the ones within the warning's one-minute lead.
    expect(await actedWithin(rig, back, 3)).toBe(idleIds.length);
    expectActionsFromOkTicks(rig);
    // A second outage raises a fresh alert (the first one was resolved).
    await rig.faults({ error_rate: 1 });
    for (let n = 0; n < 3; n++) await rig.step();
    expect(blindEvents().map((e) => e.type)).toEqual(['guard_blind', 'guard_recovered', 'guard_blind']);
  });

  it('the balance endpoint down while the list works: the tick is blind (no action on half an observation), and recovers', async () => {
    rig = await startRig();
    const { idleIds } = await addInstances(rig, 2, 0);
    expect((await rig.step()).outcome).toBe('ok');
    await rig.faults({ http_500_rate: 1, endpoints: ['/open/balance'] });
    for (let n = 0; n < 8; n++) {
      const r = await rig.step();
      expect(r.outcome).toBe('blind');
      expect(r.decisions).toBe(0);
    }
    const listOk = rig.proxy.calls.filter((c) => c.path === '/open/instances' && c.ok).length;
    const balance500 = rig.proxy.calls.filter((c) => c.path === '/open/balance' && c.status === 500).length;
    expect(listOk).toBeGreaterThanOrEqual(8);
    expect(balance500).toBeGreaterThanOrEqual(16); // one retry each
    expect(rows(rig, 'select id from actions')).toEqual([]);
    expect(rows(rig, "select id from outbox_events where type = 'guard_blind'")).toHaveLength(1);
    for (const id of idleIds) expect(rig.sim.world.instance(id)!.status).toBe('running');
    await rig.faults({});
    const r = await rig.step();
    expect(r.outcome).toBe('ok');
    expect(await actedWithin(rig, r, 3)).toBe(2);
    expect(rows(rig, "select state from actions").map((a: any) => a.state)).toEqual(['sent', 'sent']);
    expect(rows(rig, "select id from outbox_events where type = 'guard_recovered'")).toHaveLength(1);
    expectActionsFromOkTicks(rig);
  });

  it('latency spikes: slower than usual but under the timeout is fine; beyond the timeout the ticks go blind and nothing is acted on', async () => {
    rig = await startRig();
    const { idleIds } = await addInstances(rig, 2, 1);
    await rig.faults({ latency_ms: 150 });
    for (let n = 0; n < 2; n++) {
      const r = await rig.step();
      expect(r.outcome).toBe('ok');
      expect(r.decisions).toBe(0); // not idle for 2m yet
    }
    await rig.faults({ latency_ms: 700 });
    for (let n = 0; n < 5; n++) expect((await rig.step()).outcome).toBe('blind');
    expect(rig.results.at(-1)!.errorClass).toBe('timeout');
    expect(rows(rig, 'select id from actions')).toEqual([]);
    await rig.faults({ latency_ms: 150 });
    const r = await rig.step();
    expect(r.outcome).toBe('ok');
    // Both idle instances are released once requests are under the timeout again. On a loaded machine a request can
    // still outlast this rig's 400 ms client timeout (150 ms of latency plus the load; CI once saw one release of
    // two within 3 ticks): a release whose answer timed out is seen applied or retried after its backoff, a tick
    // whose list timed out is blind. Neither fails this; a repeated release would (checked below).
    const w = rig.sim.world;
    let slow = 0;
    for (let n = 0; n < 12 && idleIds.some((id) => w.instance(id)!.gpuUsed > 0); n++) {
      const t = await rig.step();
      if (t.outcome === 'blind' && t.errorClass === 'timeout') slow++;
      else expect(t.outcome, `tick ${n} at 150 ms of latency (${t.errorClass ?? ''})`).toBe('ok');
    }
    for (const id of idleIds) expect(w.instance(id)!.gpuUsed, id).toBe(0);
    expect(slow).toBeLessThan(6);
    expectActionsFromOkTicks(rig);
    expect(expectOneReleasePerStretch(rig.proxy, rig.boots)).toBe(idleIds.length);
  });

  // Was a bug: the executor gave up on a decision key after three failed attempts with no expiry, so a short
  // cloud hiccup left an idle GPU billed. Attempts now back off (retryBackoffMs) instead of giving up.
  it('after three faulted release attempts during a hiccup, the guard still releases the idle instance once the cloud is healthy again', async () => {
    rig = await startRig();
    const { idleIds } = await addInstances(rig, 1, 0);
    expect((await rig.step()).outcome).toBe('ok');
    for (let n = 0; n < 2; n++) await rig.step(); // idle for 1.5 minutes: the next tick decides to release
    await rig.faults({ http_500_rate: 1, endpoints: [RELEASE] });
    let failed = 0;
    for (let n = 0; n < 40 && failed < 3; n++) {
      const r = await rig.step();
      expect(r.outcome).toBe('ok');
      failed += r.acted.filter((a) => a.state === 'failed').length;
      expect(r.acted.every((a) => a.state === 'failed')).toBe(true);
    }
    expect(failed).toBe(3);
    await rig.faults({});
    const waitSteps = Math.ceil(retryBackoffMs(3) / STEP) + 2;
    for (let n = 0; n < waitSteps; n++) await rig.step(); // a healthy cloud for longer than the backoff
    expect(rig.sim.world.instance(idleIds[0])!.gpuUsed).toBe(0);
  });
});
