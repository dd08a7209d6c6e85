/**
 * Crash safety (issue 11): the real daemon (`node dist/cli.js run`) ticking every second against a
 * simulator at real speed (through a counting proxy), enforcing an idle policy (idle_for 30s,
 * min_uptime 0s) on several idle instances next to busy ones, notifying a local generic webhook, is
 * killed with SIGKILL at seeded points and restarted, over and over. Kill points (seeded): at a random
 * moment, right after the simulator applied a release but before its answer reaches the daemon, or
 * while a webhook delivery waits for its answer. The "user" boots released instances again, so new
 * idle stretches and new actions keep coming.
 *
 * Default (CI): 3 independent lanes (own simulator, proxy, receiver, DB) x 80 s, ~100 s wall in all.
 * Last run: 36 kills (13 random, 9 right after an applied release, 14 during a webhook delivery), 250
 * ticks, 30 applied releases, 58 outbox events; 16 webhook resends, each from a kill inside the
 * send-to-marker window (16 such kills). Soak: XGC_CRASH_SECONDS=600 (XGC_CRASH_LANES, XGC_CRASH_SEED).
 * Held after every kill: `PRAGMA integrity_check` is ok. At the end: no gap between ticks beyond a
 * downtime; the intervals of every instance are contiguous (a still-running one has one open interval
 * from first sight); no instance was released twice in one idle stretch and no release request followed
 * an applied one (proxy count); at most one sent/confirmed journal row per decision; every outbox event
 * reached the webhook; duplicates happen only when a kill landed between the receiver getting an event
 * and the daemon writing its sent marker (the documented at-least-once window), never more than such
 * kills; no daemon died on its own.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startSimulator, type RunningSim } from '../../src/sim/index.js';
import { spawnCli, tempDir, type Proc } from '../helpers/proc.js';
import { seededRandom, sleep, startCountingProxy, startWebhookReceiver, type CountingProxy, type WebhookReceiver } from './helpers.js';

const SECONDS = Number(process.env.XGC_CRASH_SECONDS ?? 80);
const LANES = Number(process.env.XGC_CRASH_LANES ?? 3);
const SEED = Number(process.env.XGC_CRASH_SEED ?? 20261126);
const RELEASE = '/open/instance/shutdown_release_gpu';
/** how long the webhook receiver holds its answer: the window in which a kill causes a resend */
const HOOK_DELAY = 250;

type KillMode = 'random' | 'on-release' | 'on-webhook';
interface Kill {
  mode: KillMode;
  at: number;
  /** when the next daemon answered on HTTP */
  restartedAt: number;
  /** the daemon had already exited on its own */
  diedEarly: boolean;
}

interface LaneReport {
  seed: number;
  kills: Kill[];
  ticks: number;
  okTicks: number;
  /** tick rows by outcome (ok, blind, skipped) */
  outcomes: Record<string, number>;
  integrity: string[];
  actions: number;
  appliedReleases: number;
  events: number;
  hits: number;
  duplicates: Array<{ id: number; count: number; firstAt: number }>;
  killsInWindow: number;
  /** findings per property (empty = held) */
  problems: Record<'process' | 'history' | 'actions' | 'outbox' | 'notices', string[]>;
}

const lanes: LaneReport[] = [];
const cleanup: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const c of cleanup.reverse()) await c().catch(() => undefined);
});

function writeConfig(dir: string, proxy: CountingProxy, hook: WebhookReceiver): string {
  const file = join(dir, 'guard.yaml');
  writeFileSync(
    file,
    [
      `xgc: { base_url: "${proxy.url}", timeout: 3s, retries: 1 }`,
      `db: { path: "${join(dir, 'guard.db')}" }`,
      'http: { host: 127.0.0.1, port: 0 }',
      'timezone: UTC',
      'snapshot: { every: "*/1 * * * * *" }',
      'dry_run: false',
      'limits: { max_actions_per_tick: 10, max_actions_per_hour: 10000, cooldown_after_boot: 1s }',
      'probes: { heartbeat: { enabled: false }, jupyter: { active_window: 1s } }',
      'policies:',
      '  - { name: idle, type: idle, idle_for: 30s, min_uptime: 0s, warn_before: 20s, action: release_gpu }',
      `notify: { webhooks: [ { kind: webhook, url: "${hook.url}" } ] }`,
      '',
    ].join('\n'),
  );
  return file;
}

async function runLane(seed: number, seconds: number): Promise<LaneReport> {
  const rnd = seededRandom(seed);
  // Real time (speed 1); short boot/release steps so each idle instance goes round several times.
  const sim: RunningSim = await startSimulator({ token: 'crash-token', instances: 0, speed: 1, seed, balance: 100_000, durations: { boot: 3, release: 3 } });
  cleanup.push(() => sim.close());
  const proxy = await startCountingProxy(sim.url);
  cleanup.push(() => proxy.close());
  const hook = await startWebhookReceiver(HOOK_DELAY);
  cleanup.push(() => hook.close());
  const w = sim.world;
  // Idle instances start busy and go idle 6 s apart, so their actions and notices do not all share a tick.
  const idleIds = Array.from({ length: 5 }, (_, i) => w.addInstance({ name: `idle-${i}`, image: 'Jupyter', busy: true }).id);
  const t0 = Date.now();
  const busyIds = Array.from({ length: 2 }, (_, i) => w.addInstance({ name: `busy-${i}`, image: 'Jupyter', busy: true }).id);
  const dir = tempDir('xgc-crash-');
  const cfg = writeConfig(dir, proxy, hook);
  const dbPath = join(dir, 'guard.db');
  const report: LaneReport = {
    seed,
    kills: [],
    ticks: 0,
    okTicks: 0,
    outcomes: {},
    integrity: [],
    actions: 0,
    appliedReleases: 0,
    events: 0,
    hits: 0,
    duplicates: [],
    killsInWindow: 0,
    problems: { process: [], history: [], actions: [], outbox: [], notices: [] },
  };
  const boots = new Map<string, number[]>();
  const logs: string[] = [];

  // The user: boots an instance that has sat released for a few seconds (a new idle stretch).
  const releasedSince = new Map<string, number>();
  const userRnd = seededRandom(seed ^ 0x5a5a);
  let userOn = true;
  const user = (async () => {
    while (userOn) {
      await sleep(500);
      idleIds.forEach((id, i) => {
        if (w.instance(id)!.busy && Date.now() - t0 > i * 6_000) w.setActivity(id, false);
      });
      for (const id of idleIds) {
        const s = w.instance(id)!;
        if (s.status !== 'shutdown') {
          releasedSince.delete(id);
          continue;
        }
        const since = releasedSince.get(id) ?? Date.now();
        releasedSince.set(id, since);
        if (Date.now() - since > 1_000 + userRnd() * 2_000) {
          boots.set(id, [...(boots.get(id) ?? []), Date.now()]);
          w.boot(id);
          releasedSince.delete(id);
        }
      }
    }
  })();

  const start = async (): Promise<Proc> => {
    const p = spawnCli(['run', '--config', cfg], { XGC_API_TOKEN: 'crash-token', GUARD_LOG_LEVEL: 'info' });
    await p.waitFor(/"url":"http:\/\/127\.0\.0\.1:\d+"/, 20_000);
    return p;
  };
  const integrity = () => {
    const db = new Database(dbPath);
    try {
      return String(db.pragma('integrity_check', { simple: true }));
    } finally {
      db.close();
    }
  };

  const deadline = Date.now() + seconds * 1000;
  let proc = await start();
  while (Date.now() < deadline) {
    const roll = rnd();
    const mode: KillMode = roll < 0.3 ? 'random' : roll < 0.65 ? 'on-release' : 'on-webhook';
    const maxWait = 1_500 + rnd() * 7_500;
    const current = proc;
    let killedAt = 0;
    let diedEarly = false;
    const kill = async () => {
      if (killedAt) return;
      killedAt = Date.now();
      diedEarly = current.child.exitCode !== null;
      current.child.kill('SIGKILL');
      await current.exited;
    };
    let fired: (() => void) | undefined;
    const trigger = new Promise<void>((r) => (fired = r));
    if (mode === 'on-release')
      proxy.onAnswered = async (c) => {
        if (c.method === 'POST' && c.path === RELEASE && c.ok) {
          await kill();
          fired!();
        }
      };
    if (mode === 'on-webhook')
      hook.onHit = () => {
        void kill().then(() => fired!());
      };
    await Promise.race([trigger, sleep(mode === 'random' ? maxWait : 12_000)]);
    proxy.onAnswered = undefined;
    hook.onHit = undefined;
    await kill();
    logs.push(current.out() + current.err());
    const ic = integrity();
    report.integrity.push(ic);
    await sleep(rnd() * 1_500);
    proc = await start();
    report.kills.push({ mode, at: killedAt, restartedAt: Date.now(), diedEarly });
  }

  // Settle: no more kills, no more boots; let every idle instance be released and the outbox drain.
  userOn = false;
  await user;
  await sleep(12_000);
  proc.child.kill('SIGTERM');
  const end = await proc.exited;
  logs.push(proc.out() + proc.err());
  if (end.code !== 0) report.problems.process.push(`final daemon exited with ${end.code}/${end.signal}`);
  report.integrity.push(integrity());

  const db = new Database(dbPath, { readonly: true });
  if (process.env.XGC_CRASH_DEBUG) console.info(dbPath, db.prepare('select * from probe_state').all(), db.prepare('select id, status, billed_since, running_since from instances').all());
  try {
    // Ticks: every gap over 2.5 s lies over a downtime (kill -> restart + start-up slack).
    const ticks = db.prepare('select at, outcome from ticks order by at').all() as Array<{ at: number; outcome: string }>;
    report.ticks = ticks.length;
    report.okTicks = ticks.filter((t) => t.outcome === 'ok').length;
    for (const t of ticks) report.outcomes[t.outcome] = (report.outcomes[t.outcome] ?? 0) + 1;
    for (let i = 1; i < ticks.length; i++) {
      const [a, b] = [ticks[i - 1].at, ticks[i].at];
      if (b - a <= 2_500) continue;
      const k = report.kills.find((x) => x.at >= a - 50 && x.at <= b);
      if (!k) report.problems.history.push(`tick gap ${a}..${b} (${b - a} ms) with no kill in it`);
      else if (b - a > k.restartedAt - k.at + 4_000) report.problems.history.push(`tick gap ${b - a} ms after a ${k.restartedAt - k.at} ms downtime`);
    }
    // Intervals: contiguous per instance, one open at the end; busy ones one open interval from first sight.
    const ivs = db.prepare('select instance_id id, status, from_ts f, to_ts t from intervals order by instance_id, from_ts, id').all() as Array<{ id: string; status: string; f: number; t: number | null }>;
    const byInst = new Map<string, typeof ivs>();
    for (const r of ivs) byInst.set(r.id, [...(byInst.get(r.id) ?? []), r]);
    for (const [id, list] of byInst) {
      for (let i = 1; i < list.length; i++) if (list[i - 1].t !== list[i].f) report.problems.history.push(`intervals of ${id} not contiguous: ${list[i - 1].t} -> ${list[i].f}`);
      if (list.slice(0, -1).some((r) => r.t === null) || list.at(-1)!.t !== null) report.problems.history.push(`intervals of ${id}: open rows misplaced`);
    }
    const firstTick = ticks.find((t) => t.outcome === 'ok')?.at;
    for (const id of busyIds) {
      const list = byInst.get(id) ?? [];
      if (list.length !== 1 || list[0].status !== 'running' || list[0].t !== null || list[0].f !== firstTick) report.problems.history.push(`busy ${id} history: ${JSON.stringify(list)}`);
    }
    // Journal: at most one sent/confirmed row per decision; nothing left in flight.
    const acts = db.prepare('select id, decision_key k, instance_id i, state from actions').all() as Array<{ k: string; i: string; state: string }>;
    report.actions = acts.length;
    const done = new Map<string, number>();
    for (const a of acts) if (a.state === 'sent' || a.state === 'confirmed') done.set(a.k.split('#')[0], (done.get(a.k.split('#')[0]) ?? 0) + 1);
    for (const [k, n] of done) if (n > 1) report.problems.actions.push(`decision ${k} sent ${n} times`);
    for (const a of acts) if (a.state === 'decided') report.problems.actions.push(`action ${a.k} left in decided`);
    for (const a of acts) if (busyIds.includes(a.i)) report.problems.actions.push(`busy instance ${a.i} acted on`);
    const taken = new Set((db.prepare("select dedup_key k from outbox_events where type = 'action_taken'").all() as Array<{ k: string }>).map((r) => r.k));
    const sentRows = db.prepare("select id, detail from actions where mode = 'enforce' and state in ('sent', 'confirmed')").all() as Array<{ id: number; detail: string | null }>;
    for (const a of sentRows) if (!taken.has(`action_taken:${a.id}`)) report.problems.notices.push(`action #${a.id} (${a.detail ?? ''}) was never notified`);
    // Outbox: everything delivered, each event reached the receiver.
    const undelivered = db.prepare("select count(*) n from outbox_deliveries where state != 'sent'").get() as { n: number };
    if (undelivered.n) report.problems.outbox.push(`${undelivered.n} deliveries not sent at the end`);
    const eventIds = (db.prepare("select e.id from outbox_events e join outbox_deliveries d on d.event_id = e.id where d.channel = 'webhook'").all() as Array<{ id: number }>).map((r) => r.id);
    report.events = eventIds.length;
    const counts = hook.counts();
    report.hits = hook.hits.length;
    for (const id of eventIds) if (!counts.has(id)) report.problems.outbox.push(`event ${id} never reached the webhook`);
    for (const id of counts.keys()) if (!eventIds.includes(id)) report.problems.outbox.push(`webhook got unknown event ${id}`);
    // Duplicates: only for a kill that landed between the receiver getting the event and the sent marker.
    const inWindow = (k: Kill) => hook.hits.some((h) => k.at >= h.at && k.at <= h.at + HOOK_DELAY + 300);
    report.killsInWindow = report.kills.filter(inWindow).length;
    for (const [id, n] of counts) {
      if (n < 2) continue;
      const hits = hook.hits.filter((h) => h.json?.id === id);
      report.duplicates.push({ id, count: n, firstAt: hits[0].at });
      // Each resend must be explained by its own kill inside a send window of this very event.
      const explaining = report.kills.filter((k) => hits.some((h) => k.at >= h.at && k.at <= h.at + HOOK_DELAY + 300)).length;
      if (n - 1 > explaining) report.problems.outbox.push(`event ${id} received ${n} times with ${explaining} kill(s) in its send windows`);
    }
    const resent = report.duplicates.reduce((a, d) => a + d.count - 1, 0);
    if (resent > report.killsInWindow) report.problems.outbox.push(`${resent} resends > ${report.killsInWindow} kills in a send window`);
  } finally {
    db.close();
  }
  // Releases: per idle stretch at most one applied, none sent after an applied one.
  const releases = new Map<string, Array<{ at: number; ok: boolean }>>();
  for (const c of proxy.calls) if (c.method === 'POST' && c.path === RELEASE && c.id) releases.set(c.id, [...(releases.get(c.id) ?? []), { at: c.at, ok: c.ok }]);
  for (const [id, calls] of releases) {
    const cuts = boots.get(id) ?? [];
    const applied = new Set<number>();
    for (const c of calls) {
      const stretch = cuts.filter((b) => b <= c.at).length;
      if (applied.has(stretch)) report.problems.actions.push(`release of ${id} sent again in idle stretch ${stretch}`);
      if (c.ok) {
        applied.add(stretch);
        report.appliedReleases++;
      }
    }
  }
  for (const id of busyIds) if (w.instance(id)!.status !== 'running') report.problems.actions.push(`busy ${id} is ${w.instance(id)!.status}`);
  for (const k of report.kills) if (k.diedEarly) report.problems.process.push(`daemon died on its own before a ${k.mode} kill`);
  const all = logs.join('\n');
  if (/unhandled|uncaught/i.test(all)) report.problems.process.push('a daemon logged an unhandled rejection or exception');
  if (/"level":50.*"job failed"/.test(all)) report.problems.process.push('a job failed (see logs)');
  return report;
}

const kinds = (r: LaneReport, m: KillMode) => r.kills.filter((k) => k.mode === m).length;

describe('crash safety (real daemon, SIGKILL at seeded points, restarted each time)', () => {
  beforeAll(async () => {
    lanes.push(...(await Promise.all(Array.from({ length: LANES }, (_, i) => runLane(SEED + i, SECONDS)))));
    for (const r of lanes)
      console.info(
        `[crash] seed=${r.seed} kills=${r.kills.length} (random ${kinds(r, 'random')}, on-release ${kinds(r, 'on-release')}, on-webhook ${kinds(r, 'on-webhook')}) ` +
          `ticks=${JSON.stringify(r.outcomes)} actions=${r.actions} applied releases=${r.appliedReleases} events=${r.events} webhook hits=${r.hits} ` +
          `resends=${r.duplicates.reduce((a, d) => a + d.count - 1, 0)} kills in send window=${r.killsInWindow}`,
        JSON.stringify(r.problems),
      );
  }, (SECONDS + 90) * 1000);

  it('the runs did what they claim: kills of every kind, releases, notifications, a few hundred ticks', () => {
    expect(lanes).toHaveLength(LANES);
    for (const r of lanes) {
      expect(r.kills.length).toBeGreaterThanOrEqual(5);
      expect(r.appliedReleases).toBeGreaterThanOrEqual(5);
      expect(r.events).toBeGreaterThan(5);
    }
    const total = (f: (r: LaneReport) => number) => lanes.reduce((s, r) => s + f(r), 0);
    expect(total((r) => kinds(r, 'on-release'))).toBeGreaterThan(0);
    expect(total((r) => kinds(r, 'on-webhook'))).toBeGreaterThan(0);
    // the daemon ticks once a second while it is up
    expect(total((r) => r.ticks)).toBeGreaterThan(0.7 * SECONDS * LANES);
  });

  it('PRAGMA integrity_check is ok after every kill', () => {
    for (const r of lanes) expect(r.integrity).toEqual(r.integrity.map(() => 'ok'));
  });

  it('no gap in tick history beyond a downtime; the intervals of each instance stay contiguous', () => {
    for (const r of lanes) expect(r.problems.history).toEqual([]);
  });

  it('no action is sent twice for one decision and an instance is released at most once per idle stretch', () => {
    for (const r of lanes) expect(r.problems.actions).toEqual([]);
  });

  it('every outbox event reaches the webhook; a duplicate only comes from a kill inside the send-to-marker window', () => {
    for (const r of lanes) expect(r.problems.outbox).toEqual([]);
  });

  it('no daemon dies on its own or logs an unhandled rejection; the last one stops cleanly on SIGTERM', () => {
    for (const r of lanes) expect(r.problems.process).toEqual([]);
  });

  // Was a bug: recoverInterrupted() marked a release that took effect before the crash as sent without telling
  // anyone; it now raises action_taken in the same transaction.
  it('an action that took effect just before a crash is still notified after the restart', () => {
    for (const r of lanes) expect(r.problems.notices).toEqual([]);
  });
});
