/**
 * Crash safety (issue 11): the real daemon (`node dist/cli.js run`) ticking every second against a
 * simulator at real speed (through a counting proxy), enforcing an idle policy (idle_for 30s,
 * min_uptime 0s) on several idle instances next to busy ones, notifying a local generic webhook, is
 * killed with SIGKILL at seeded points and restarted, over and over. Kill points (seeded): at a random
 * moment, right after the simulator applied a release but before its answer reaches the daemon, or
 * while a webhook delivery waits for its answer. The "user" boots released instances again, so new
 * idle stretches and new actions keep coming.
 *
 * Default (CI): 2 independent lanes (own simulator, proxy, receiver, DB) x 80 s, ~95 s wall in all; each lane must
 * do on its own what the checks below claim, and one that has not yet runs on (up to 4x in time its daemons had a
 * CPU, at most 8x), each daemon then living until the release or webhook delivery still missing and killed right at
 * it. Last run: 23 kills (11 random, 4 right after an applied release, 8 during a webhook delivery), 173 ticks,
 * 14 applied releases, 36 outbox events; 14 webhook resends, from 11 kills inside the send-to-marker window (one
 * grouped message can carry several events); each lane met its claims at 80-81 s. More lanes, longer: the soak,
 * XGC_CRASH_SECONDS=600 (XGC_CRASH_LANES, XGC_CRASH_SEED).
 * Held after every kill: `PRAGMA integrity_check` is ok. At the end: no gap between ticks beyond the
 * measured downtimes (kill -> restarted daemon answering) plus a slack, plus what the machine's load
 * measurably cost (this process's timer lateness, the daemons' run-queue wait from /proc/PID/schedstat);
 * the intervals of every instance are contiguous (a still-running one has one open interval from first
 * sight); no instance was released twice in one idle stretch and no release request followed an applied
 * one (proxy count); at most one sent/confirmed journal row per decision; every outbox event reached the
 * webhook; duplicates happen only when a kill landed between the receiver getting an event and the daemon
 * writing its sent marker (the documented at-least-once window: as long as the slowest such time observed
 * in the run, not counting time the daemon waited for a CPU), never more than such kills; no daemon died
 * on its own.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startSimulator, type RunningSim } from '../../src/sim/index.js';
import { spawnCli, tempDir, type Proc } from '../helpers/proc.js';
import { hitIds, seededRandom, sleep, startCountingProxy, startWebhookReceiver, type CountingProxy, type WebhookReceiver } from './helpers.js';

const SECONDS = Number(process.env.XGC_CRASH_SECONDS ?? 80);
const LANES = Number(process.env.XGC_CRASH_LANES ?? 2);
const SEED = Number(process.env.XGC_CRASH_SEED ?? 20261126);
const RELEASE = '/open/instance/shutdown_release_gpu';
/** how long the webhook receiver holds its answer: the window in which a kill causes a resend */
const HOOK_DELAY = 250;
/** what each lane must have done for its checks to mean something (a lane runs on until it has, see runLane) */
const CLAIMS = { kills: 5, appliedReleases: 5, events: 5 };
/** longest tick gap (ms) a running daemon may leave on an idle machine; timer lateness measured here adds to it */
const TICK_SLACK = 2_500;
/** kills that hit their trigger, over all lanes (each kind must occur somewhere) */
const triggered = { onRelease: 0, onWebhook: 0 };

/** 'on-release' / 'on-webhook' only when that event triggered the kill; a trigger that never came is 'random' */
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
  /** when the first daemon answered on HTTP, and when the last one was told to stop */
  readyAt: number;
  /** seconds from the start until the lane had done what the checks claim (null: never), and until its kill loop ended */
  claimsMetS: number | null;
  loopS: number;
  /** seconds from the start of each applied release (and the attempts that failed: `x` + seconds) */
  releasesAtS: string[];
  stoppedAt: number;
  /** time some daemon was up (answering, until killed or stopped) */
  uptimeMs: number;
  /** the longest this process's timers ran late (ms), and the daemons' run-queue wait in all (ms): the load */
  maxLateMs: number;
  starvedMs: number;
  /** the tightest tick gap: its allowance minus its unexplained length (ms; negative = a finding) */
  gapHeadroomMs: number | null;
  /** the slowest observed send-to-sent-marker time of a webhook delivery (ms), and the resend window taken from it */
  maxMarkerMs: number;
  sendWindowMs: number;
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
      // the GPU probe judges a 10 s window (default 60 s): a restarted daemon can judge, and act, within a kill interval
      'probes: { heartbeat: { enabled: false }, jupyter: { active_window: 1s }, gpu: { sample_every: 2s, window: 10s } }',
      'policies:',
      '  - { name: idle, type: idle, idle_for: 30s, min_uptime: 0s, warn_before: 20s, action: release_gpu }',
      `notify: { webhooks: [ { kind: webhook, url: "${hook.url}" } ] }`,
      '',
    ].join('\n'),
  );
  return file;
}

/** Samples how late a 100 ms timer fires in this process: how loaded the machine is, moment by moment. */
function watchLateness() {
  const samples: Array<{ at: number; late: number }> = [];
  let last = Date.now();
  const iv = setInterval(() => {
    const now = Date.now();
    samples.push({ at: now, late: Math.max(0, now - last - 100) });
    last = now;
  }, 100);
  return {
    /** the longest lateness that ended between `from` and `to` (ms) */
    maxIn: (from: number, to: number) => samples.reduce((m, s) => (s.at >= from && s.at <= to ? Math.max(m, s.late) : m), 0),
    stop: () => clearInterval(iv),
  };
}

/**
 * Samples each daemon's run-queue wait (`/proc/PID/schedstat`): time it was ready to run but got no CPU. On a
 * loaded machine a daemon's timers fire late by about that much, so a tick gap may be longer by it.
 */
function watchRunQueue() {
  const daemons: Array<Array<{ at: number; waitMs: number }>> = [];
  const timers: NodeJS.Timeout[] = [];
  const read = (pid: number, into: Array<{ at: number; waitMs: number }>) => {
    try {
      into.push({ at: Date.now(), waitMs: Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[1]) / 1e6 });
    } catch {
      /* gone, or no schedstat on this kernel: counts as no wait */
    }
  };
  return {
    /** start sampling a daemon */
    add(pid: number) {
      const samples: Array<{ at: number; waitMs: number }> = [];
      daemons.push(samples);
      read(pid, samples);
      timers.push(setInterval(() => read(pid, samples), 200));
    },
    /** run-queue wait of the daemons between `from` and `to` (ms, from the samples around them) */
    waitIn(from: number, to: number) {
      let ms = 0;
      for (const s of daemons) {
        const before = s.filter((x) => x.at <= from).at(-1) ?? s[0];
        const after = s.find((x) => x.at >= to) ?? s.at(-1);
        if (before && after && after.at > before.at) ms += after.waitMs - before.waitMs;
      }
      return Math.round(ms);
    },
    stop: () => timers.forEach(clearInterval),
  };
}

async function runLane(seed: number, seconds: number): Promise<LaneReport> {
  const lateness = watchLateness();
  const runQueue = watchRunQueue();
  cleanup.push(async () => (lateness.stop(), runQueue.stop()));
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
    readyAt: 0,
    claimsMetS: null,
    loopS: 0,
    releasesAtS: [],
    stoppedAt: 0,
    uptimeMs: 0,
    maxLateMs: 0,
    starvedMs: 0,
    gapHeadroomMs: null,
    maxMarkerMs: 0,
    sendWindowMs: 0,
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
    if (p.child.pid) runQueue.add(p.child.pid);
    await p.waitFor(/"url":"http:\/\/127\.0\.0\.1:\d+"/, 60_000);
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

  // Run `seconds`; on a loaded machine (slow restarts, fewer kills and releases in that time) go on until the
  // lane has done what the checks claim, up to 4x as long counting only time the daemons had a CPU (their measured
  // run-queue wait is added: with a second suite copy running they waited 227 s of 332 s), and at most 8x.
  const started = Date.now();
  const deadline = started + seconds * 1000;
  const hardDeadline = () => Math.min(started + 8 * seconds * 1000, started + 4 * seconds * 1000 + runQueue.waitIn(started, Date.now()));
  const appliedSoFar = () => proxy.calls.filter((c) => c.method === 'POST' && c.path === RELEASE && c.ok).length;
  const claimsMet = () =>
    report.kills.length >= CLAIMS.kills && appliedSoFar() >= CLAIMS.appliedReleases && hook.counts().size > CLAIMS.events && triggered.onRelease > 0 && triggered.onWebhook > 0;
  let proc = await start();
  report.readyAt = Date.now();
  const met = () => {
    if (report.claimsMetS === null && claimsMet()) report.claimsMetS = Math.round((Date.now() - started) / 1000);
    return report.claimsMetS !== null;
  };
  while (Date.now() < deadline || (!met() && Date.now() < hardDeadline())) {
    const roll = rnd();
    // Past the planned time with the claims unmet, wait for what is missing instead of killing at random (kills every
    // 12-20 s once left a lane 230 s without a release): each such round ends at the release or the delivery the
    // claims count.
    const past = Date.now() >= deadline;
    const mode: KillMode = past ? (triggered.onWebhook === 0 ? 'on-webhook' : 'on-release') : roll < 0.3 ? 'random' : roll < 0.65 ? 'on-release' : 'on-webhook';
    const maxWait = 1_500 + rnd() * 7_500;
    const triggerWait = past ? 60_000 : 12_000;
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
    let hit = false;
    if (mode === 'on-release')
      proxy.onAnswered = async (c) => {
        if (c.method === 'POST' && c.path === RELEASE && c.ok) {
          hit = true;
          await kill();
          fired!();
        }
      };
    if (mode === 'on-webhook')
      hook.onHit = () => {
        hit = true;
        void kill().then(() => fired!());
      };
    await Promise.race([trigger, sleep(mode === 'random' ? maxWait : triggerWait)]);
    proxy.onAnswered = undefined;
    hook.onHit = undefined;
    await kill();
    // a trigger that never came within its wait makes this a kill at a random moment
    const how: KillMode = mode === 'random' || hit ? mode : 'random';
    if (how === 'on-release') triggered.onRelease++;
    if (how === 'on-webhook') triggered.onWebhook++;
    logs.push(current.out() + current.err());
    const ic = integrity();
    report.integrity.push(ic);
    await sleep(rnd() * 1_500);
    proc = await start();
    report.kills.push({ mode: how, at: killedAt, restartedAt: Date.now(), diedEarly });
  }

  met();
  report.loopS = Math.round((Date.now() - started) / 1000);
  report.releasesAtS = proxy.calls.filter((c) => c.method === 'POST' && c.path === RELEASE).map((c) => `${c.ok ? '' : 'x'}${Math.round((c.at - started) / 1000)}${c.id ? '/' + c.id.slice(-2) : ''}`);
  // Settle: no more kills, no more boots; let idle instances be released, then wait (bounded) for the outbox to
  // drain rather than for a fixed time.
  userOn = false;
  await user;
  await sleep(12_000);
  const pending = () => {
    const db = new Database(dbPath, { readonly: true });
    try {
      return (db.prepare("select count(*) n from outbox_deliveries where state = 'pending'").get() as { n: number }).n;
    } finally {
      db.close();
    }
  };
  for (const until = Date.now() + 60_000; pending() > 0 && Date.now() < until; ) await sleep(250);
  report.stoppedAt = Date.now();
  proc.child.kill('SIGTERM');
  const end = await proc.exited;
  const lives = [report.readyAt, ...report.kills.map((k) => k.restartedAt)].map((from, i) => (report.kills[i]?.at ?? report.stoppedAt) - from);
  report.uptimeMs = lives.reduce((s, ms) => s + ms, 0);
  report.maxLateMs = lateness.maxIn(report.readyAt, report.stoppedAt);
  report.starvedMs = runQueue.waitIn(report.readyAt, report.stoppedAt);
  logs.push(proc.out() + proc.err());
  if (end.code !== 0) report.problems.process.push(`final daemon exited with ${end.code}/${end.signal}`);
  report.integrity.push(integrity());

  const db = new Database(dbPath, { readonly: true });
  if (process.env.XGC_CRASH_DEBUG) console.info(dbPath, db.prepare('select * from probe_state').all(), db.prepare('select id, status, billed_since, running_since from instances').all());
  try {
    // Ticks: a running daemon leaves no gap over TICK_SLACK plus the timer lateness measured meanwhile; a gap
    // with kills in it may be longer by the downtimes measured (kill -> the restarted daemon answering).
    const ticks = db.prepare('select at, outcome from ticks order by at').all() as Array<{ at: number; outcome: string }>;
    report.ticks = ticks.length;
    report.okTicks = ticks.filter((t) => t.outcome === 'ok').length;
    for (const t of ticks) report.outcomes[t.outcome] = (report.outcomes[t.outcome] ?? 0) + 1;
    for (let i = 1; i < ticks.length; i++) {
      const [a, b] = [ticks[i - 1].at, ticks[i].at];
      if (b - a <= TICK_SLACK) continue;
      const inside = report.kills.filter((x) => x.at >= a - 50 && x.at <= b);
      const down = inside.reduce((s, k) => s + (k.restartedAt - k.at), 0);
      const late = lateness.maxIn(a, b + 500);
      const starved = runQueue.waitIn(a, b);
      // each stretch a daemon was up inside the gap (one more than the kills) may take the slack once; what the
      // machine's load cost, measured, comes on top
      const allowed = (inside.length + 1) * TICK_SLACK + late + starved;
      report.gapHeadroomMs = Math.min(report.gapHeadroomMs ?? Infinity, allowed - (b - a - down));
      if (b - a - down > allowed) {
        const since = [report.readyAt, ...report.kills.map((k) => k.restartedAt)].filter((t) => t <= a).at(-1) ?? 0;
        report.problems.history.push(
          `tick gap ${a}..${b} (${b - a} ms): ${inside.length} kill(s) with ${down} ms down, ${b - a - down} ms up without a tick > ${allowed} ms allowed (timers ${late} ms late, daemon ${starved} ms without CPU; up since ${a - since} ms before)`,
        );
      }
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
    // Duplicates: only for a kill that landed between the receiver getting the event and the sent marker. That
    // window is measured: the slowest receiver-got-it -> marker time among deliveries marked sent (+300 ms).
    const marks = db.prepare("select event_id id, sent_at at from outbox_deliveries where channel = 'webhook' and state = 'sent'").all() as Array<{ id: number; at: number }>;
    for (const m of marks) {
      const got = hook.hits.filter((h) => hitIds(h).includes(m.id) && h.at <= m.at).at(-1);
      if (got) report.maxMarkerMs = Math.max(report.maxMarkerMs, m.at - got.at);
    }
    report.sendWindowMs = Math.max(HOOK_DELAY, report.maxMarkerMs) + 300;
    // A kill inside the window after hit `h`, not counting time the daemon waited for a CPU. The receiver (in this
    // process) stamps a hit when its event loop gets to it: the request may have left the daemon, and the daemon
    // died, up to this process's timer lateness at the time earlier.
    const within = (k: Kill, h: { at: number }) => {
      const sent = h.at - lateness.maxIn(h.at - 2_000, h.at + 500) - 50;
      return k.at >= sent && k.at - h.at - runQueue.waitIn(h.at, k.at) <= report.sendWindowMs;
    };
    const inWindow = (k: Kill) => hook.hits.some((h) => within(k, h));
    report.killsInWindow = report.kills.filter(inWindow).length;
    for (const [id, n] of counts) {
      if (n < 2) continue;
      const hits = hook.hits.filter((h) => hitIds(h).includes(id));
      report.duplicates.push({ id, count: n, firstAt: hits[0].at });
      // Each resend must be explained by its own kill inside a send window of this very event.
      const explaining = report.kills.filter((k) => hits.some((h) => within(k, h))).length;
      if (n - 1 > explaining) {
        const near = report.kills.filter((k) => k.at >= hits[0].at - 30_000 && k.at <= hits.at(-1)!.at + 1_000).map((k) => `kill@${k.at} up@${k.restartedAt}`);
        const seen = hits.map((h) => `hit@${h.at}${h.answered ? '' : ' (answer not written)'}`);
        report.problems.outbox.push(`event ${id} received ${n} times with ${explaining} kill(s) in its send windows: ${[...seen, ...near].join(', ')}`);
      }
    }
    // resent messages (one grouped message carries several events): hits that carry an event received before
    const seenIds = new Set<number>();
    let resent = 0;
    for (const h of hook.hits) {
      const ids = hitIds(h);
      if (ids.some((id) => seenIds.has(id))) resent++;
      for (const id of ids) seenIds.add(id);
    }
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
          `resends=${r.duplicates.reduce((a, d) => a + d.count - 1, 0)} kills in send window=${r.killsInWindow} ` +
          `claims met at ${r.claimsMetS}s, kills ended at ${r.loopS}s, releases at ${JSON.stringify(r.releasesAtS)}s, up=${Math.round(r.uptimeMs / 1000)}s of ${Math.round((r.stoppedAt - r.readyAt) / 1000)}s timers late<=${r.maxLateMs}ms daemons without CPU=${r.starvedMs}ms tightest gap headroom=${r.gapHeadroomMs}ms send window=${r.sendWindowMs}ms`,
        JSON.stringify(r.problems),
      );
  }, (8 * SECONDS + 150) * 1000);

  it('the runs did what they claim: kills of every kind, releases, notifications, a few hundred ticks', () => {
    expect(lanes).toHaveLength(LANES);
    for (const r of lanes) {
      expect(r.kills.length).toBeGreaterThanOrEqual(CLAIMS.kills);
      expect(r.appliedReleases).toBeGreaterThanOrEqual(CLAIMS.appliedReleases);
      expect(r.events).toBeGreaterThan(CLAIMS.events);
    }
    const total = (f: (r: LaneReport) => number) => lanes.reduce((s, r) => s + f(r), 0);
    expect(total((r) => kinds(r, 'on-release'))).toBeGreaterThan(0);
    expect(total((r) => kinds(r, 'on-webhook'))).toBeGreaterThan(0);
    // the daemon ticks once a second while it is up (measured uptime; a loaded machine skips some firings,
    // which the gap check bounds)
    expect(total((r) => r.ticks)).toBeGreaterThan(0.5 * (total((r) => r.uptimeMs) / 1000));
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
