/**
 * The billed status intervals overlapping a range, found in time proportional to the range (and the instances
 * alive at its start), not to the history: those that start inside it (index on `from_ts`), plus, for each
 * instance alive at its start, the one interval it was in then (one index seek per instance).
 */
import type { Db } from './open.js';
import { isNull, sql, type SQL } from 'drizzle-orm';
import { intervals } from './schema.js';

/** A billed interval; open ones already end at `now`. */
export interface BilledInterval {
  instanceId: string;
  rate: number;
  from: number;
  to: number;
}

/** Up to this long before `now`, a range's start is looked up through the intervals closed since (see below). */
const RECENT_MS = 2 * 86_400_000;

/**
 * The intervals overlapping [from, to) with a non-zero rate, as rows (instance_id, rate, from_ts, to_ts): those that
 * start inside the range, plus those open at `from`. For a recent `from`, the latter are the intervals still open
 * (one per instance alive now) and those that closed after it, both read through the index on `to_ts` (`+from_ts`
 * keeps SQLite off the `from_ts` index there); the second part reads every interval closed since `from`, so it is
 * used only when that is a short time ago. Otherwise, for each instance alive at `from`, the one interval it was in
 * then (one index seek per instance).
 */
function overlapping(from: number, to: number, now: number): SQL {
  const inside = sql`select instance_id, rate, from_ts, to_ts from intervals where from_ts >= ${from} and from_ts < ${to} and rate > 0`;
  if (now - from <= RECENT_MS)
    return sql`${inside}
      union all
      select instance_id, rate, from_ts, to_ts from intervals where to_ts is null and +from_ts < ${from} and rate > 0
      union all
      select instance_id, rate, from_ts, to_ts from intervals where to_ts > ${from} and +from_ts < ${from} and rate > 0`;
  return sql`${inside}
    union all
    select i.instance_id, i.rate, i.from_ts, i.to_ts from instances n
      join intervals i on i.id = (select j.id from intervals j where j.instance_id = n.id and j.from_ts < ${from} order by j.from_ts desc, j.id desc limit 1)
      where (n.gone_at is null or n.gone_at > ${from}) and n.first_seen < ${from} and i.rate > 0 and (i.to_ts is null or i.to_ts > ${from})`;
}

/** Intervals with a non-zero rate overlapping [from, to); open ones end at `now` (never before they start). */
export function billedIntervals(db: Db, from: number, to: number, now: number): BilledInterval[] {
  const rows = db.all<{ instance_id: string; rate: number; from_ts: number; to_ts: number | null }>(overlapping(from, to, now));
  return rows.map((r) => ({ instanceId: r.instance_id, rate: r.rate, from: r.from_ts, to: r.to_ts ?? Math.max(now, r.from_ts) }));
}

/**
 * Each row of `overlapping` clipped to [from, to), as accrued() clips it: where it starts and ends inside the range
 * (an open one ends at `now`, never before it starts), and the clipped span times its rate (ms x ¥/h).
 */
function clipped(from: number, to: number, now: number): { hi: SQL; lo: SQL; rateMs: SQL } {
  const hi = sql`min(coalesce(to_ts, max(${now}, from_ts)), ${to})`;
  const lo = sql`max(from_ts, ${from})`;
  return { hi, lo, rateMs: sql`rate * (${hi} - ${lo})` };
}

/**
 * Yuan accrued over [from, to) by every billed interval, summed by SQLite (one row back instead of one per
 * interval): what `billedIntervals` returns, each clipped to the range, at rate ¥/h. Open intervals end at `now`.
 */
export function billedTotal(db: Db, from: number, to: number, now: number): number {
  const c = clipped(from, to, now);
  const row = db.get<{ total: number }>(sql`select coalesce(sum(${c.rateMs}), 0) / 3600000.0 as total from (${overlapping(from, to, now)}) where ${c.hi} > ${c.lo}`);
  return row?.total ?? 0;
}

/** The same per instance, summed by SQLite (instances with nothing billed in the range are absent). */
export function billedByInstance(db: Db, from: number, to: number, now: number): Map<string, number> {
  const c = clipped(from, to, now);
  const rows = db.all<{ instance_id: string; yuan: number }>(
    sql`select instance_id, sum(${c.rateMs}) / 3600000.0 as yuan from (${overlapping(from, to, now)}) where ${c.hi} > ${c.lo} group by instance_id`,
  );
  return new Map(rows.map((r) => [r.instance_id, r.yuan]));
}

/** An interval still open: the instance's status, rate and GPU now, since `from`. */
export interface OpenInterval {
  instanceId: string;
  rate: number;
  from: number;
  status: string;
  gpuKept: boolean;
}

/** Every open interval (`to_ts` null; one per instance listed when last seen). */
export function openIntervals(db: Db): OpenInterval[] {
  return db
    .select({ instanceId: intervals.instanceId, rate: intervals.rate, from: intervals.from, status: intervals.status, gpuKept: intervals.gpuKept })
    .from(intervals)
    .where(isNull(intervals.to))
    .all();
}
