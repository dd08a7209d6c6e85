/**
 * Savings: for each GPU the guard released, (price - disk rate) x time from when its billing stopped until the
 * user booted it again, the instance was destroyed or disappeared, or now — capped at 7 days. Reported by action,
 * policy, instance and day.
 */
import { and, eq, gt, inArray, isNull, lt, or, sql } from 'drizzle-orm';
import type { Db } from './open.js';
import { accrued, round4 } from '../money.js';
import { startsBetween } from './calendar.js';
import { actions, instances, intervals } from './schema.js';
import { SAVING_ACTIONS, actionKind, savingPerHour } from '../action-kinds.js';

/** Savings stop counting this long after a release. */
export const SAVINGS_CAP_MS = 7 * 86_400_000;

/** A confirmed release stopped billing at most this long after its request (it is marked failed after an hour). */
const STOP_AFTER_SEND_MS = 2 * 3_600_000;

/** One release's saving stretch. */
export interface SavingStretch {
  actionId: number;
  instanceId: string;
  instanceName: string;
  policy: string;
  /** ¥/h no longer billed (GPU price minus the disk rate that remains) */
  ratePerHour: number;
  start: number;
  end: number;
  endedBy: 'boot' | 'gone' | 'cap' | 'now';
}

/**
 * The saving stretches of confirmed enforced releases (and destroys) sent by the guard, as of `now`: from when the
 * GPU stopped billing (`stopped_at`; the request time for rows journaled before it was recorded) until it was billed
 * again (`rebooted_at`), the instance was destroyed or disappeared, the cap, or `now`. A release not yet confirmed
 * has saved nothing yet (its shutting-down phase still bills). With `actionIds`, those rows only; with `range`, only stretches that can
 * overlap it: sent before its end and within the cap of its start (index on `sent_at`), and not ended by a boot or
 * the instance's disappearance before its start.
 */
export function savingStretches(db: Db, now: number, actionIds?: number[], range?: { from: number; to: number }): SavingStretch[] {
  if (actionIds?.length === 0) return [];
  return stretchRows(db, actionIds, range).map((r) => stretchOf(r, now));
}

/** The journal rows behind `savingStretches`, with when each stretch starts and when its instance went away. */
function stretchRows(db: Db, actionIds?: number[], range?: { from: number; to: number }) {
  return db
    .select({
      actionId: actions.id,
      instanceId: actions.instanceId,
      instanceName: actions.instanceName,
      policy: actions.policy,
      action: actions.action,
      rate: actions.rate,
      retainRate: actions.retainRate,
      start: sql<number>`coalesce(${actions.stoppedAt}, ${actions.sentAt}, ${actions.decidedAt})`,
      rebootedAt: actions.rebootedAt,
      goneAt: instances.goneAt,
      // when it was destroyed: its first destroying/destroyed stretch starts at the guard's destroy request, or at
      // the tick that first saw a user's destroy (src/db/record.ts)
      destroyedAt: sql<number | null>`(select min(${intervals.from}) from ${intervals} where ${intervals.instanceId} = ${actions.instanceId} and ${intervals.status} in ('destroying', 'destroyed'))`,
    })
    .from(actions)
    .leftJoin(instances, eq(instances.id, actions.instanceId))
    .where(
      and(
        eq(actions.mode, 'enforce'),
        eq(actions.state, 'confirmed'),
        inArray(actions.action, SAVING_ACTIONS),
        actionIds ? inArray(actions.id, actionIds) : undefined,
        range
          ? and(
              lt(actions.sentAt, range.to),
              gt(actions.sentAt, range.from - SAVINGS_CAP_MS - STOP_AFTER_SEND_MS),
              or(isNull(actions.rebootedAt), gt(actions.rebootedAt, range.from)),
              or(isNull(instances.goneAt), eq(actions.action, 'destroy'), gt(instances.goneAt, range.from)),
            )
          : undefined,
      ),
    )
    .all();
}

/** One journal row's stretch as of `now`. */
function stretchOf({ actionId, instanceId, instanceName, policy, action, rate, retainRate, start, rebootedAt, goneAt, destroyedAt }: ReturnType<typeof stretchRows>[number], now: number): SavingStretch {
  // the earliest of now, the cap, the boot and the destruction or disappearance (on a tie, in that order)
  let end = now;
  let endedBy: SavingStretch['endedBy'] = 'now';
  const cap = start + SAVINGS_CAP_MS;
  if (cap < end) [end, endedBy] = [cap, 'cap'];
  if (rebootedAt !== null && rebootedAt < end) [end, endedBy] = [rebootedAt, 'boot'];
  const gone = Math.min(goneAt ?? Infinity, destroyedAt !== null && destroyedAt >= start ? destroyedAt : Infinity);
  if (gone < end && actionKind(action).endsAtBoot) [end, endedBy] = [gone, 'gone'];
  const ratePerHour = savingPerHour(action, { retainPrice: retainRate }, rate);
  return { actionId, instanceId, instanceName, policy, ratePerHour, start, end: Math.max(start, end), endedBy };
}

/** Yuan saved so far per action id (for the actions list). */
export function savedByAction(db: Db, actionIds: number[], now: number): Map<number, number> {
  const m = new Map<number, number>();
  if (actionIds.length === 0) return m;
  for (const s of savingStretches(db, now, actionIds)) m.set(s.actionId, round4(accrued(s.ratePerHour, s.start, s.end, -Infinity, Infinity)));
  return m;
}

/**
 * The savings report (GET /api/v1/savings): totals by policy, instance, day and action over [from, to). `time`
 * writes each action's two instants as the answer shows them (epoch ms by default).
 */
export function savingsReport<Time = number>(db: Db, q: { from: number; to: number; now: number; tz: string }, time: (t: number) => Time = (t) => t as Time) {
  const byPolicy = new Map<string, { policy: string; saved: number; actions: number }>();
  const byInstance = new Map<string, { instance_id: string; instance_name: string; saved: number; actions: number }>();
  const days = startsBetween(q.from, q.to, 'day', q.tz);
  const byDay = days.map(() => 0);
  let total = 0;
  const acts: Array<{ action_id: number; instance_id: string; instance_name: string; policy: string; rate_saved_per_hour: number; released_at: Time; until: Time; ended_by: SavingStretch['endedBy']; saved: number }> = [];
  const starts: number[] = [];
  for (const s of savingStretches(db, q.now, undefined, q)) {
    if (s.start >= q.to || s.end <= q.from) continue;
    const saved = accrued(s.ratePerHour, s.start, s.end, q.from, q.to);
    total += saved;
    const p = byPolicy.get(s.policy) ?? { policy: s.policy, saved: 0, actions: 0 };
    p.saved += saved;
    p.actions++;
    byPolicy.set(s.policy, p);
    const i = byInstance.get(s.instanceId) ?? { instance_id: s.instanceId, instance_name: s.instanceName, saved: 0, actions: 0 };
    i.saved += saved;
    i.actions++;
    byInstance.set(s.instanceId, i);
    // the days the stretch overlaps (at most the cap's 7 and a bit), from the last day starting at or before it
    for (let k = Math.max(0, lastAtOrBefore(days, s.start)); k < days.length && days[k] < s.end; k++) {
      const e = k + 1 < days.length ? days[k + 1] : q.to;
      byDay[k] += accrued(s.ratePerHour, s.start, s.end, Math.max(days[k], q.from), e);
    }
    acts.push({ action_id: s.actionId, instance_id: s.instanceId, instance_name: s.instanceName, policy: s.policy, rate_saved_per_hour: s.ratePerHour, released_at: time(s.start), until: time(s.end), ended_by: s.endedBy, saved: round4(saved) });
    starts.push(s.start);
  }
  // newest release first (a stable sort: the journal's order among equal times)
  const newestFirst = starts.map((_, k) => k).sort((a, b) => starts[b] - starts[a]);
  const r4 = <T extends { saved: number }>(x: T): T => ({ ...x, saved: round4(x.saved) });
  return {
    from: q.from,
    to: q.to,
    tz: q.tz,
    currency: 'CNY' as const,
    cap_days: SAVINGS_CAP_MS / 86_400_000,
    total: round4(total),
    by_policy: [...byPolicy.values()].map(r4).sort((a, b) => b.saved - a.saved),
    by_instance: [...byInstance.values()].map(r4).sort((a, b) => b.saved - a.saved),
    by_day: days.map((d, k) => ({ key: d, saved: round4(byDay[k]) })),
    actions: newestFirst.map((k) => acts[k]),
  };
}

/** The index of the last of ascending `xs` that is <= `t` (-1 if none). */
function lastAtOrBefore(xs: number[], t: number): number {
  let lo = 0;
  let hi = xs.length; // the first index whose value is > t lies in [lo, hi]
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (xs[mid] <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}
