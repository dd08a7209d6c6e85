/**
 * `tune`: replay an account's recorded history under other idle windows, as pure functions. The idle stretches are
 * rebuilt as an idle policy judged them (its probes, unknown never idle, the stretch starting at the idle probes'
 * own `since` and never before the instance was running), then each window asks: when would the release have been
 * due, what would it have saved until the user came back (or released it, or the range ended), and how many
 * times would the user have come back to a released GPU.
 *
 * A stretch the guard itself ended by a release goes on, in the replay, until the user booted the instance again:
 * the recorded return. What the user would have done after meeting a released GPU is unknown, so savings are
 * counted until that recorded return, the same way the guard's savings report counts them.
 *
 * Each window gets two figures. `saved_yuan` is what the guard's savings report would show with that window: a
 * release is credited until the user's next boot (capped), also where the recording shows the user releasing the
 * instance a few minutes later. `more_than_current_yuan` compares the window with what the recording shows: a
 * would-be release is counted only while the GPU was still held in it, so a release just before the user's own
 * saves just those minutes. The savings report over-counts such releases; the second figure does not.
 */
import type { IdlePolicyConfig } from '../config/schema.js';
import type { InstanceHistory } from '../db/tune-history.js';
import { formatDuration } from '../config/duration.js';
import { idleStart } from './idle.js';
import { hasKeepMarker, overrideMatches, policySelects } from './selector.js';
import type { Override, ProbeView } from './types.js';

/** Savings stop counting this long after a release (the guard's own cap: src/db/savings.ts SAVINGS_CAP_MS). */
export const TUNE_SAVINGS_CAP_MS = 7 * 86_400_000;

/** What one instance's replay reads: its recorded history. */
export type TuneInstance = InstanceHistory;

/** How a recorded idle stretch ended (in the replay, where a guard release is followed to the user's return). */
export type StretchEnd = 'busy' | 'restart' | 'boot' | 'user_release' | 'unknown' | 'gone' | 'range';

/** One idle stretch as the policy judged it. Times in epoch ms. */
export interface IdleStretch {
  instanceId: string;
  /** when it began (the idle probes' since, at least the running start) */
  start: number;
  /** when the user came back, released it, the verdict became unknown, or the range ended */
  end: number;
  /**
   * until when the guard's savings report would credit a release in this stretch: `end`, except after the user's own
   * release or shutdown, where it runs on to the user's next boot (or the instance gone, or the range's end)
   */
  reportEnd: number;
  endedBy: StretchEnd;
  /** whether `end` is the user coming back to work (busy again, the idle start moving on, or a boot) */
  returns: boolean;
  /** when the instance started running (min_uptime counts from here) */
  runningSince: number;
  /** the boot that began this running stretch, if one was recorded (the cooldown after a boot counts from here) */
  bootAt: number | null;
  /** ¥/h the release would have stopped billing: the GPU rate held minus the disk rate after a release */
  savedPerHour: number;
}

const RETURNS: ReadonlySet<StretchEnd> = new Set(['busy', 'restart', 'boot']);
const HOLDING_RUN = (i: { status: string; gpuKept: boolean }) => i.status === 'running' && i.gpuKept;

/**
 * The idle stretches of one instance until `to`, judged with `only` (the policy's probe list; absent: every probe) from
 * its probe history as the guard held it at each moment. A stretch ends where the user came back (a probe busy, or the
 * idle start moved on), the answers became unknown, the user released the instance, or `to`; a running stretch ended
 * by a guard release continues until the user's next boot of it.
 */
export function idleStretches(inst: TuneInstance, only: string[] | undefined, to: number): IdleStretch[] {
  const out: IdleStretch[] = [];
  const ivs = inst.intervals;
  const rows = inst.probes.filter((r) => !only || only.includes(r.probe));
  for (let k = 0; k < ivs.length; k++) {
    if (!HOLDING_RUN(ivs[k]) || (k > 0 && HOLDING_RUN(ivs[k - 1]) && ivs[k - 1].to === ivs[k].from)) continue;
    // one running stretch holding the GPU: merge adjacent running intervals
    let last = k;
    while (last + 1 < ivs.length && HOLDING_RUN(ivs[last + 1]) && ivs[last].to === ivs[last + 1].from) last++;
    const segFrom = ivs[k].from;
    const segTo = ivs[last].to;
    const rate = ivs[last].rate;
    // a boot: the GPU-holding run before it (booting) began right after a shut-down stretch
    let b = k;
    while (b > 0 && ivs[b - 1].gpuKept && ivs[b - 1].status !== 'shutdown' && ivs[b - 1].to === ivs[b].from) b--;
    const bootAt = b > 0 && ivs[b - 1].status === 'shutdown' && ivs[b - 1].to === ivs[b].from ? ivs[b].from : null;
    const segEnd = Math.min(segTo ?? to, to);
    // who ended the running stretch: a guard release sent during it, else the user (or it runs on past the range)
    const release = segTo === null ? undefined : inst.releases.find((r) => r.sentAt >= segFrom && r.sentAt <= segTo);
    let tail: { end: number; endedBy: StretchEnd; reportEnd: number };
    if (segTo === null || segTo >= to) tail = { end: to, endedBy: 'range', reportEnd: to };
    else if (!release) tail = { end: segTo, endedBy: 'user_release', reportEnd: untilReturn(inst, null, segTo, ivs.slice(last + 1), to).end };
    else {
      const back = untilReturn(inst, release, segTo, ivs.slice(last + 1), to);
      tail = { ...back, reportEnd: back.end };
    }
    const savedPerHour = Math.max(0, rate - inst.retainPrice);
    const push = (start: number, end: number, endedBy: StretchEnd, reportEnd = end) =>
      out.push({ instanceId: inst.id, start, end, reportEnd, endedBy, returns: RETURNS.has(endedBy), runningSince: segFrom, bootAt, savedPerHour });

    // walk the probe history through the stretch: the policy's view changes only where a row was recorded
    const state: Record<string, ProbeView> = {};
    let r = 0;
    const apply = (t: number) => {
      for (; r < rows.length && rows[r].at <= t; r++) {
        const row = rows[r];
        state[row.probe] = { verdict: row.verdict as ProbeView['verdict'], since: row.since ?? row.at, detail: '' };
      }
    };
    apply(segFrom);
    const judge = () => idleStart({ runningSince: segFrom }, state, only);
    let open = judge();
    while (r < rows.length && rows[r].at < segEnd) {
      const t = rows[r].at;
      apply(t);
      const now = judge();
      if (now === open) continue;
      if (open !== null) {
        const busy = Object.values(state).some((v) => v.verdict === 'busy');
        push(open, t, now !== null ? 'restart' : busy ? 'busy' : 'unknown');
      }
      open = now;
    }
    if (open !== null && open < tail.end) push(open, tail.end, tail.endedBy, tail.reportEnd);
  }
  return out;
}

/**
 * After the running stretch ended at `segTo` (by the guard's `release`, or by the user when null): until the user
 * boots it again, it is destroyed or gone, or the range ends.
 */
function untilReturn(
  inst: TuneInstance,
  release: TuneInstance['releases'][number] | null,
  segTo: number,
  later: TuneInstance['intervals'],
  to: number,
): { end: number; endedBy: StretchEnd } {
  const boot = release?.rebootedAt ?? later.find((i) => i.gpuKept && i.from >= segTo && (i.status === 'booting' || i.status === 'running'))?.from ?? null;
  const destroyed = later.find((i) => i.status === 'destroying' || i.status === 'destroyed')?.from ?? null;
  const gone = Math.min(inst.goneAt ?? Infinity, destroyed ?? Infinity);
  if ((release === null || release.action === 'release_gpu') && boot !== null && boot < to && boot <= gone) return { end: boot, endedBy: 'boot' };
  if (gone < to) return { end: gone, endedBy: 'gone' };
  return { end: to, endedBy: 'range' };
}

/** Whether the idle policy would judge the instance at all: its selector and the keep marker. */
export function policyApplies(cfg: IdlePolicyConfig, inst: { id: string; name: string; gpuModel: string }, keepMarker: string): boolean {
  return policySelects(cfg, inst) && !hasKeepMarker(inst.name, keepMarker);
}

/** The times override `o` was in force: created .. revoked, until or forever. */
function inForce(o: Override): [number, number] {
  const end = o.revokedAt ?? (o.forever ? Infinity : (o.until ?? Infinity));
  return [o.createdAt, o.forever && o.revokedAt === null ? Infinity : end];
}

/** One row of the answer. */
export interface TuneRow {
  idle_for: string;
  idle_for_s: number;
  /** what the guard's savings report would show with this window */
  saved_yuan: number;
  /** against the recording: this window's saving minus the configured one's, a release counted while the GPU was still held */
  more_than_current_yuan: number;
  interruptions: number;
  median_return_s: number | null;
  current: boolean;
}

/** One window's figures before they are set against the configured window's. */
export type WindowFigures = Omit<TuneRow, 'current' | 'more_than_current_yuan'> & {
  /** the saving counted only while the recording still held the GPU (¥, unrounded) */
  heldSaved: number;
};

/** What one window needs besides the stretches. */
export interface WindowInput {
  idleForMs: number;
  minUptimeMs: number;
  cooldownMs: number;
  from: number;
  to: number;
  /** how long after its request a release stops the GPU's billing (the recorded median of the guard's; 0 if none) */
  stopDelayMs: number;
  /** ok tick times, ascending: a release is due at the first tick at or after its time (the guard acts at ticks) */
  ticks: number[];
  /** overrides (every kind, every state) that cover the stretch's instance for this policy */
  overridesFor: (instanceId: string) => Override[];
}

/**
 * One window's figures over stretches (by instance, each in time order). A stretch counts when its release would
 * have been due within [from, to): due at the latest of start + window, running start + min_uptime and the last
 * boot + the cooldown (a return from a release in this very replay is a boot too), then past any override in force
 * then, then at the next tick. It saved the rate it stopped from when billing stopped (due + the release's delay) to
 * the end, capped like the guard's savings; it interrupted the user when its end is the user coming back.
 */
export function evaluateWindow(byInstance: Map<string, IdleStretch[]>, w: WindowInput): WindowFigures {
  let saved = 0;
  let held = 0;
  let interruptions = 0;
  const returns: number[] = [];
  for (const [id, stretches] of byInstance) {
    const holds = w.overridesFor(id).map(inForce);
    let replayBoot: { runningSince: number; at: number } | null = null;
    // a stretch that starts (its since) before the previous released one ended is not released twice over
    let releasedUntil = -Infinity;
    for (const s of stretches) {
      let due = Math.max(s.start + w.idleForMs, s.runningSince + w.minUptimeMs, releasedUntil);
      const boot = Math.max(s.bootAt ?? -Infinity, replayBoot && replayBoot.runningSince === s.runningSince ? replayBoot.at : -Infinity);
      if (Number.isFinite(boot)) due = Math.max(due, boot + w.cooldownMs);
      for (let moved = true; moved && Number.isFinite(due); ) {
        moved = false;
        for (const [a, b] of holds) if (a <= due && due < b) [due, moved] = [b, true];
      }
      if (!Number.isFinite(due)) continue;
      due = nextTick(w.ticks, due);
      if (due < w.from || due >= w.to || due >= s.end) continue;
      const stopped = Math.min(s.end, due + w.stopDelayMs);
      const until = (end: number) => (s.savedPerHour * (Math.min(end, stopped + TUNE_SAVINGS_CAP_MS) - stopped)) / 3_600_000;
      saved += until(s.reportEnd);
      held += until(s.end);
      releasedUntil = s.end;
      if (s.returns) {
        interruptions++;
        returns.push((s.end - due) / 1000);
        replayBoot = { runningSince: s.runningSince, at: s.end };
      }
    }
  }
  return {
    idle_for: formatDuration(w.idleForMs),
    idle_for_s: w.idleForMs / 1000,
    saved_yuan: Math.round(saved * 10_000) / 10_000,
    interruptions,
    median_return_s: median(returns),
    heldSaved: held,
  };
}

/** The median delay from a release's request to the end of its GPU billing, over the guard's recorded releases (0 if none). */
export function releaseDelay(instances: TuneInstance[]): number {
  const d = instances.flatMap((i) => i.releases.filter((r) => r.action === 'release_gpu' && r.stoppedAt !== null).map((r) => Math.max(0, r.stoppedAt! - r.sentAt)));
  return (median(d.map((x) => x / 1000)) ?? 0) * 1000;
}

/** The first tick at or after `t` (t itself when no tick was recorded then). */
function nextTick(ticks: number[], t: number): number {
  let lo = 0;
  let hi = ticks.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ticks[mid] < t) lo = mid + 1;
    else hi = mid;
  }
  return lo < ticks.length ? ticks[lo] : t;
}

/** The median of `xs` rounded to a second, null when empty. */
function median(xs: number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return Math.round(s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2);
}

/** The overrides that cover `inst` for policy `policy`, exemptions and snoozes alike (both hold a policy back). */
export function overridesCovering(all: Override[], inst: { id: string; name: string }, policy: string): Override[] {
  return all.filter((o) => o.problem === null && overrideMatches(o, inst, policy));
}

/**
 * At most this many interruptions per week of history (and never more than the configured window's): the bound
 * the recommendation keeps. One a week is a user meeting a released GPU about once a week, after an idle stretch
 * they chose to leave; fewer weeks than one count as one.
 */
export const MAX_INTERRUPTIONS_PER_WEEK = 1;

/** The recommendation: the shortest window within the bound, or keep the configured one (its money against the recording). */
export function recommend(rows: TuneRow[], historyDays: number): { keep: boolean; idle_for: string | null; idle_for_s: number | null; saved_more_yuan: number | null; interruptions: number | null } {
  const cur = rows.find((r) => r.current);
  const weeks = Math.max(1, historyDays / 7);
  const within = rows
    .filter((r) => r.interruptions / weeks <= MAX_INTERRUPTIONS_PER_WEEK && (!cur || r.interruptions <= cur.interruptions))
    .sort((a, b) => a.idle_for_s - b.idle_for_s);
  const best = within[0];
  if (!best || !cur || best.idle_for_s === cur.idle_for_s) return { keep: true, idle_for: null, idle_for_s: null, saved_more_yuan: null, interruptions: null };
  return { keep: false, idle_for: best.idle_for, idle_for_s: best.idle_for_s, saved_more_yuan: Math.round(best.more_than_current_yuan * 100) / 100, interruptions: best.interruptions };
}
