/**
 * Effectiveness benchmark: replays a workload trace through the simulator on a manual clock, with the real
 * tick path (client over HTTP, SQLite, probes, policies, executor) stepping one tick at a time, and compares
 * the money the guard saved with an oracle that releases exactly `idle_for` into every long idle stretch.
 *
 * Every run (reference, oracle, guard, baselines) replays the same simulated user:
 * - a session's instance is added released at t=0, booted at `start_s`, and released by the user at `end_s`;
 * - during a busy interval the simulator runs work of the interval's kind (`world.setActivity`): `app` work shows
 *   in the app endpoints, `background` / `cpu` / `interactive` work only on the instance's machine (SSH);
 * - if work is due while the GPU was released by someone else, the user boots the instance (a disruption)
 *   and the work starts once it is running; a release during work is noticed at once the same way.
 * Savings are ground truth: the simulator's per-instance `billed` of the reference run (nothing but the user
 * ever releases) minus that of the run under test.
 */
import { desc } from 'drizzle-orm';
import { ManualClock } from '../clock.js';
import { actions } from '../db/schema.js';
import { SAVINGS_CAP_MS, savingsReport } from '../db/savings.js';
import { DEFAULT_DURATIONS, SimWorld, WORK_KINDS, findGpuModel, type WorkKind } from '../sim/index.js';
import { startBenchHarness, type BenchHarness } from './harness.js';
import { percentile, round } from './stats.js';
import { busyIntervalAt, idleStretches, kindOf, type Trace, type IdleStretch } from './trace.js';

/** Trace second 0: Monday 2026-11-02 00:00 in Asia/Shanghai (UTC+8). */
export const TRACE_T0 = Date.UTC(2026, 10, 1, 16, 0, 0);

/** The default guard config of the effectiveness benchmark (as from YAML): the guard's default probes. */
export function defaultEffectivenessConfig(): Record<string, unknown> {
  return {
    timezone: 'Asia/Shanghai',
    dry_run: false,
    limits: { max_actions_per_tick: 1000, max_actions_per_hour: 100_000 },
    policies: [{ name: 'idle-release', type: 'idle', idle_for: '30m', min_uptime: '10m', action: 'release_gpu' }],
  };
}

/** The two naive baselines: nightly release at 02:00, and a 12 h max runtime. */
export const BASELINES: Record<string, Array<Record<string, unknown>>> = {
  nightly: [{ name: 'nightly', type: 'schedule', cron: '0 2 * * *', action: 'release_gpu' }],
  max_runtime: [{ name: 'max-runtime', type: 'max_runtime', max: '12h', action: 'release_gpu' }],
};

/** A GPU release during a run, in trace seconds. */
export interface Release {
  instance: number;
  t: number;
  policy: string;
}

/** What one replay produced. */
export interface ReplayOutcome {
  billed: number;
  releases: Release[];
  disruptions: number;
  ticks: number;
  apiCalls: number;
  /** cloud API calls of ticks that decided nothing */
  quietTickCalls: number[];
  tickMs: number[];
  wallMs: number;
  /** what the guard itself reports saved over the trace (GET /api/v1/savings), guard runs only */
  reportedSaved: number | null;
  /** the simulator's ledger over the same stretches: each release's GPU price x time minus what was billed, until the next boot */
  ledgerSaved: number | null;
  /** release stretches longer than the guard's savings cap (their figures cannot agree) */
  longStretches: number;
}

/**
 * The platform's own auto-shutdown as a baseline: XianGong releases an instance's GPU after about 4 h without GPU
 * compute. Only work that uses the GPU (`app`, `background`) counts as compute: CPU or interactive work on the
 * instance does not hold it off.
 */
export const PLATFORM_IDLE_S = 4 * 3600;
/** The platform baseline's name among a report's runs. */
export const PLATFORM_RUN = 'platform_4h';

/** How the GPU gets released in a replay (besides the user). */
export type ReplayMode =
  | { kind: 'reference' }
  | { kind: 'oracle'; idleForS: number }
  | { kind: 'platform'; idleForS: number }
  /** `inspect` reads the guard's database at the end of the trace, before it is closed and removed */
  | { kind: 'guard'; config: Record<string, unknown>; inspect?: (h: BenchHarness, start: number, end: number) => void };

type EvKind = 'busy_off' | 'end' | 'start' | 'busy_on' | 'oracle' | 'platform' | 'check';
const ORDER: Record<EvKind, number> = { busy_off: 0, end: 1, start: 2, busy_on: 3, oracle: 4, platform: 5, check: 6 };
interface Ev {
  at: number;
  kind: EvKind;
  i: number;
  seq: number;
  /** the kind of work of a `busy_on` */
  work?: WorkKind;
}

/** A min-heap of events by (time, kind order, insertion). */
class EventQueue {
  private h: Ev[] = [];
  private seq = 0;
  private less(a: Ev, b: Ev): boolean {
    return a.at !== b.at ? a.at < b.at : ORDER[a.kind] !== ORDER[b.kind] ? ORDER[a.kind] < ORDER[b.kind] : a.seq < b.seq;
  }
  push(at: number, kind: EvKind, i: number, work?: WorkKind): void {
    const h = this.h;
    h.push({ at, kind, i, seq: this.seq++, work });
    let k = h.length - 1;
    while (k > 0) {
      const p = (k - 1) >> 1;
      if (!this.less(h[k], h[p])) break;
      [h[k], h[p]] = [h[p], h[k]];
      k = p;
    }
  }
  peek(): Ev | undefined {
    return this.h[0];
  }
  pop(): Ev | undefined {
    const h = this.h;
    const top = h[0];
    const last = h.pop();
    if (h.length && last) {
      h[0] = last;
      let k = 0;
      for (;;) {
        const l = 2 * k + 1;
        const r = l + 1;
        let m = k;
        if (l < h.length && this.less(h[l], h[m])) m = l;
        if (r < h.length && this.less(h[r], h[m])) m = r;
        if (m === k) break;
        [h[k], h[m]] = [h[m], h[k]];
        k = m;
      }
    }
    return top;
  }
}

/** Replay `trace` once in `mode`. */
export async function replay(trace: Trace, mode: ReplayMode): Promise<ReplayOutcome> {
  const wall0 = performance.now();
  const start = TRACE_T0;
  const end = start + trace.duration_s * 1000;
  const tickMs = trace.tick_s * 1000;
  let h: BenchHarness | undefined;
  let world: SimWorld;
  let clock: ManualClock;
  if (mode.kind === 'guard') {
    h = await startBenchHarness(mode.config, { start });
    world = h.sim.world;
    clock = h.clock;
  } else {
    clock = new ManualClock(start);
    world = new SimWorld({ start, seed: 7, balance: 1_000_000, clock });
  }
  const bootMs = world.stepDurations.boot * 1000;
  const q = new EventQueue();
  const ids = trace.instances.map((inst) => world.addInstance({ name: inst.name, gpuModel: inst.gpu_model, image: inst.image, status: 'shutdown' }).id);
  const user = trace.instances.map(() => ({ wantBusy: false, work: 'app' as WorkKind, inSession: false, checkAt: -1 }));
  trace.instances.forEach((inst, i) =>
    inst.sessions.forEach((s) => {
      q.push(start + s.start_s * 1000, 'start', i);
      for (const b of s.busy) {
        q.push(start + b[0] * 1000, 'busy_on', i, kindOf(b));
        q.push(start + b[1] * 1000, 'busy_off', i);
      }
      if (s.end_s !== null) q.push(start + s.end_s * 1000, 'end', i);
    }),
  );
  if (mode.kind === 'oracle') {
    for (const s of idleStretches(trace, bootMs / 1000)) if (s.to - s.from > mode.idleForS) q.push(start + (s.from + mode.idleForS) * 1000, 'oracle', s.instance);
  }
  const out: ReplayOutcome = { billed: 0, releases: [], disruptions: 0, ticks: 0, apiCalls: 0, quietTickCalls: [], tickMs: [], wallMs: 0, reportedSaved: null, ledgerSaved: null, longStretches: 0 };
  // Ground truth of what each release by the guard saved, from the simulator's ledger: the GPU price over the time
  // until the instance is booted again (the stretch the guard reports on) minus what the ledger billed meanwhile.
  const open = new Map<number, { at: number; billed: number; price: number }>();
  let ledger = 0;
  const ledgerNow = (i: number) => {
    world.sync();
    return world.billedOf(world.instance(ids[i])!);
  };
  const closeStretch = (i: number) => {
    const o = open.get(i);
    if (!o) return;
    open.delete(i);
    if (clock.now() - o.at > SAVINGS_CAP_MS) out.longStretches++; // the guard stops counting at its cap; the ledger does not
    ledger += (o.price * (clock.now() - o.at)) / 3_600_000 - (ledgerNow(i) - o.billed);
  };
  const boot = (i: number) => {
    closeStretch(i);
    world.boot(ids[i]);
  };

  // The platform baseline: since when each instance has held a GPU without GPU compute (null while computing or
  // without a GPU), and the release check due 4 h later for that very stretch.
  const gpuIdleSince: Array<number | null> = ids.map(() => null);
  const platformTrack = (i: number) => {
    if (mode.kind !== 'platform') return;
    const inst = world.get(ids[i]);
    const holds = inst.status === 'running' || inst.status === 'booting';
    const computing = inst.busy && (inst.workKind === 'app' || inst.workKind === 'background');
    if (!holds || computing) gpuIdleSince[i] = null;
    else if (gpuIdleSince[i] === null) {
      gpuIdleSince[i] = clock.now();
      q.push(clock.now() + mode.idleForS * 1000, 'platform', i);
    }
  };

  const check = (i: number, at: number) => {
    if (user[i].checkAt === at) return;
    user[i].checkAt = at;
    q.push(at, 'check', i);
  };
  /** The user wants work running on instance i: get it there. */
  const ensure = (i: number) => {
    if (!user[i].wantBusy) return;
    const inst = world.get(ids[i]);
    if (inst.status === 'running') {
      if (!inst.busy || inst.workKind !== user[i].work) world.setActivity(ids[i], true, undefined, user[i].work);
    } else if (inst.status === 'shutdown') {
      boot(i);
      out.disruptions++;
      check(i, clock.now() + bootMs);
    } else if (inst.pending) check(i, inst.pending.at);
  };
  const handle = (ev: Ev) => {
    const i = ev.i;
    const id = ids[i];
    const inst = world.get(id);
    switch (ev.kind) {
      case 'start':
        user[i].inSession = true;
        if (inst.status === 'shutdown') boot(i);
        break;
      case 'busy_on':
        user[i].wantBusy = true;
        user[i].work = ev.work ?? 'app';
        ensure(i);
        break;
      case 'busy_off':
        user[i].wantBusy = false;
        if (inst.busy) world.setActivity(id, false);
        break;
      case 'end':
        user[i].inSession = false;
        user[i].wantBusy = false;
        if (inst.status === 'running') world.releaseGpu(id);
        else if (inst.status === 'booting' && inst.pending) q.push(inst.pending.at, 'end', i);
        break;
      case 'check':
        ensure(i);
        break;
      case 'platform': {
        const since = gpuIdleSince[i];
        if (mode.kind === 'platform' && since !== null && clock.now() - since >= mode.idleForS * 1000 && inst.status === 'running') {
          world.releaseGpu(id);
          gpuIdleSince[i] = null;
          out.releases.push({ instance: i, t: (clock.now() - start) / 1000, policy: 'platform' });
          check(i, clock.now()); // a user at work (CPU work holds no GPU) notices at once and boots it again
        }
        break;
      }
      case 'oracle':
        if (inst.status === 'running' && !inst.busy) {
          world.releaseGpu(id);
          out.releases.push({ instance: i, t: (clock.now() - start) / 1000, policy: 'oracle' });
        }
        break;
    }
  };

  let nextTick = start;
  for (;;) {
    const ev = q.peek();
    const tickDue = h && nextTick <= end ? nextTick : Infinity;
    if (ev && ev.at <= end && ev.at <= tickDue) {
      q.pop();
      if (ev.at > clock.now()) clock.set(ev.at);
      handle(ev);
      platformTrack(ev.i);
      continue;
    }
    if (tickDue === Infinity) break;
    clock.set(tickDue);
    // a user release at this very instant (processed just before the tick) is not the guard's
    const userReleased = new Set(ids.filter((id) => world.get(id).pending?.intent === 'release'));
    const t0 = performance.now();
    const r = await h!.tick();
    out.tickMs.push(performance.now() - t0);
    out.ticks++;
    out.apiCalls += r.apiCalls;
    if (r.decisions === 0 && r.acted.length === 0) out.quietTickCalls.push(r.apiCalls);
    // Ground truth, not the journal: a release the guard sent during this tick is pending from this instant.
    const policy = r.acted.length ? lastPolicy(h!) : 'guard';
    for (let i = 0; i < ids.length; i++) {
      const p = world.get(ids[i]).pending;
      if (p && p.intent === 'release' && p.from === tickDue && !userReleased.has(ids[i])) {
        out.releases.push({ instance: i, t: (tickDue - start) / 1000, policy });
        open.set(i, { at: tickDue, billed: ledgerNow(i), price: world.priceOf(world.instance(ids[i])!) });
      }
    }
    for (let i = 0; i < ids.length; i++) ensure(i);
    nextTick += tickMs;
  }
  clock.set(end);
  world.sync();
  for (const i of [...open.keys()]) closeStretch(i);
  out.billed = ids.reduce((sum, id) => sum + world.billedOf(world.instance(id)!), 0);
  if (h) {
    out.ledgerSaved = ledger;
    out.reportedSaved = savingsReport(h.gdb.db, { from: start, to: end, now: end, tz: 'Asia/Shanghai' }).total;
    if (mode.kind === 'guard') mode.inspect?.(h, start, end);
    await h.close();
  }
  out.wallMs = performance.now() - wall0;
  return out;
}

/** The policy of the newest journal row (for labelling releases seen in the simulator). */
function lastPolicy(h: BenchHarness): string {
  return h.gdb.db.select({ policy: actions.policy }).from(actions).orderBy(desc(actions.id)).limit(1).get()?.policy ?? 'guard';
}

/** How a run's releases line up with the trace's idle stretches. */
export interface ReleaseScore {
  releases: number;
  false_releases: number;
  /** releases in a stretch too short for the oracle, or before idle_for had passed */
  early_releases: number;
  /** each early release: instance index, trace second, and how long before idle_for had passed (null: no long stretch) */
  early: Array<{ instance: number; t: number; by_s: number | null }>;
  /** false releases by the kind of work they interrupted */
  false_releases_by_kind: Record<WorkKind, number>;
  long_stretches: number;
  missed_stretches: number;
  detection_delay_s: { p50: number | null; p95: number | null; max: number | null };
}

/** Score releases against the trace: false (while busy), early, captured (with delay), and missed stretches. */
export function scoreReleases(trace: Trace, stretches: IdleStretch[], releases: Release[], idleForS: number): ReleaseScore {
  const long = stretches.filter((s) => s.to - s.from > idleForS);
  const captured = new Set<IdleStretch>();
  const delays: number[] = [];
  let falseReleases = 0;
  const early: ReleaseScore['early'] = [];
  const byKind = Object.fromEntries(WORK_KINDS.map((k) => [k, 0])) as Record<WorkKind, number>;
  for (const r of [...releases].sort((a, b) => a.t - b.t)) {
    const during = busyIntervalAt(trace, r.instance, r.t);
    if (during) {
      falseReleases++;
      byKind[kindOf(during)]++;
      continue;
    }
    const s = stretches.find((x) => x.instance === r.instance && x.from <= r.t && r.t < x.to);
    if (!s || s.to - s.from <= idleForS || r.t < s.from + idleForS) {
      early.push({ instance: r.instance, t: r.t, by_s: s && s.to - s.from > idleForS ? s.from + idleForS - r.t : null });
      if (s) captured.add(s);
      continue;
    }
    if (captured.has(s)) continue;
    captured.add(s);
    delays.push(r.t - (s.from + idleForS));
  }
  return {
    releases: releases.length,
    false_releases: falseReleases,
    early_releases: early.length,
    early,
    false_releases_by_kind: byKind,
    long_stretches: long.length,
    missed_stretches: long.filter((s) => !captured.has(s)).length,
    detection_delay_s: { p50: percentile(delays, 50), p95: percentile(delays, 95), max: delays.length ? Math.max(...delays) : null },
  };
}

/** One policy set's figures on one trace. */
export interface RunReport extends ReleaseScore {
  saved: number;
  /** the guard's own savings report over the trace (null for the oracle) */
  reported_saved: number | null;
  /** the simulator's ledger over the stretches the guard reports on (each release until the next boot) */
  ledger_saved: number | null;
  /** (reported - ledger) / ledger */
  savings_error: number | null;
  capture_ratio: number | null;
  disruptions: number;
  ticks: number;
  api_calls: number;
  api_calls_per_quiet_tick: { p50: number | null; max: number | null };
  tick_ms: { p50: number | null; p95: number | null };
  wall_s: number;
}

/** The effectiveness report of one trace. */
export interface EffectivenessReport {
  trace: string;
  duration_s: number;
  tick_s: number;
  instances: number;
  idle_for_s: number;
  reference_billed: number;
  oracle_saved: number;
  guard_saved: number;
  /** what the platform's own auto-shutdown (GPU released after 4 h without GPU compute) saved, and its false releases */
  platform_4h_saved: number;
  platform_4h_false_releases: number;
  /** the guard's own reported savings, the ledger's figure for the same stretches, and their relative difference */
  guard_reported_saved: number | null;
  ledger_saved: number | null;
  savings_error: number | null;
  capture_ratio: number | null;
  false_releases: number;
  false_releases_by_kind: Record<WorkKind, number>;
  missed_stretches: number;
  detection_delay_s: { p50: number | null; p95: number | null };
  disruptions: number;
  api_calls: number;
  wall_s: number;
  runs: Record<string, RunReport>;
  warnings: string[];
}

/** The idle policy's `idle_for` in seconds (the first idle policy of the config). */
export function idleForOf(config: Record<string, unknown>): number {
  const p = (config.policies as Array<Record<string, unknown>> | undefined)?.find((x) => x.type === 'idle');
  if (!p || typeof p.idle_for !== 'string') throw new Error('the effectiveness config needs an idle policy with idle_for');
  const m = /^(\d+)(s|m|h|d)$/.exec(p.idle_for);
  if (!m) throw new Error(`idle_for "${p.idle_for}": expected e.g. 30m`);
  return Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86_400 }[m[2] as 's' | 'm' | 'h' | 'd'];
}

/** Run the whole effectiveness benchmark on one trace: reference, oracle, the guard, and the baselines. */
export async function runEffectiveness(
  trace: Trace,
  opts: { config?: Record<string, unknown>; baselines?: boolean; progress?: (line: string) => void } = {},
): Promise<EffectivenessReport> {
  const config = opts.config ?? defaultEffectivenessConfig();
  const idleForS = idleForOf(config);
  const warnings: string[] = [];
  for (const inst of trace.instances) {
    const m = findGpuModel(inst.gpu_model);
    if (!m) throw new Error(`instance ${inst.name}: unknown gpu_model "${inst.gpu_model}"`);
    if (Math.abs(m.pricePerGpu - inst.price_per_hour) > 1e-9)
      warnings.push(`instance ${inst.name}: price_per_hour ${inst.price_per_hour} differs from the simulator's ${m.pricePerGpu} for ${m.short}; billing follows the simulator`);
  }
  const say = opts.progress ?? (() => {});
  const reference = await replay(trace, { kind: 'reference' });
  const oracle = await replay(trace, { kind: 'oracle', idleForS });
  const oracleSaved = reference.billed - oracle.billed;
  const stretches = idleStretches(trace, DEFAULT_DURATIONS.boot);
  say(`${trace.name}: reference ¥${reference.billed.toFixed(2)}, oracle saves ¥${oracleSaved.toFixed(2)}`);
  const runs: Record<string, RunReport> = {};
  const toReport = (o: ReplayOutcome): RunReport => {
    const saved = reference.billed - o.billed;
    const err = o.reportedSaved !== null && o.ledgerSaved !== null && o.ledgerSaved > 0 ? (o.reportedSaved - o.ledgerSaved) / o.ledgerSaved : null;
    return {
      saved: round(saved, 2)!,
      reported_saved: o.reportedSaved === null ? null : round(o.reportedSaved, 4),
      ledger_saved: o.ledgerSaved === null ? null : round(o.ledgerSaved, 4),
      savings_error: err === null ? null : round(err, 5),
      capture_ratio: oracleSaved > 0 ? round(saved / oracleSaved, 4) : null,
      ...scoreReleases(trace, stretches, o.releases, idleForS),
      disruptions: o.disruptions,
      ticks: o.ticks,
      api_calls: o.apiCalls,
      api_calls_per_quiet_tick: { p50: percentile(o.quietTickCalls, 50), max: o.quietTickCalls.length ? Math.max(...o.quietTickCalls) : null },
      tick_ms: { p50: round(percentile(o.tickMs, 50), 2), p95: round(percentile(o.tickMs, 95), 2) },
      wall_s: round(o.wallMs / 1000, 1)!,
    };
  };
  runs.oracle = toReport(oracle);
  runs[PLATFORM_RUN] = toReport(await replay(trace, { kind: 'platform', idleForS: PLATFORM_IDLE_S }));
  say(`${trace.name}: the platform's 4 h auto-shutdown saves ¥${runs[PLATFORM_RUN].saved} (${runs[PLATFORM_RUN].false_releases} false releases)`);
  const sets: Array<[string, Record<string, unknown>]> = [['guard', config]];
  if (opts.baselines !== false) for (const [name, policies] of Object.entries(BASELINES)) sets.push([name, { ...config, policies }]);
  for (const [name, cfg] of sets) {
    const o = await replay(trace, { kind: 'guard', config: cfg });
    runs[name] = toReport(o);
    if (o.longStretches) warnings.push(`${name}: ${o.longStretches} release(s) lasted beyond the ${SAVINGS_CAP_MS / 86_400_000}-day savings cap; the reported savings stop there, the ledger's do not`);
    say(`${trace.name}: ${name} saved ¥${runs[name].saved} (capture ${runs[name].capture_ratio}); reports ¥${runs[name].reported_saved} vs ledger ¥${runs[name].ledger_saved} (error ${runs[name].savings_error}), ${o.ticks} ticks in ${runs[name].wall_s}s`);
  }
  const g = runs.guard;
  return {
    trace: trace.name,
    duration_s: trace.duration_s,
    tick_s: trace.tick_s,
    instances: trace.instances.length,
    idle_for_s: idleForS,
    reference_billed: round(reference.billed, 2)!,
    oracle_saved: round(oracleSaved, 2)!,
    guard_saved: g.saved,
    platform_4h_saved: runs[PLATFORM_RUN].saved,
    platform_4h_false_releases: runs[PLATFORM_RUN].false_releases,
    guard_reported_saved: g.reported_saved,
    ledger_saved: g.ledger_saved,
    savings_error: g.savings_error,
    capture_ratio: g.capture_ratio,
    false_releases: g.false_releases,
    false_releases_by_kind: g.false_releases_by_kind,
    missed_stretches: g.missed_stretches,
    detection_delay_s: { p50: g.detection_delay_s.p50, p95: g.detection_delay_s.p95 },
    disruptions: g.disruptions,
    api_calls: g.api_calls,
    wall_s: g.wall_s,
    runs,
    warnings,
  };
}
