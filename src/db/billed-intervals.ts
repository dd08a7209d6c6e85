/**
 * The billed status intervals overlapping a range, found in time proportional to the range (and the instances
 * alive at its start), not to the history: those that start inside it (index on `from_ts`), plus, for each
 * instance alive at its start, the one interval it was in then (one index seek per instance).
 */
import type { Db } from './open.js';
import { isNull } from 'drizzle-orm';
import { allRows } from './prepared.js';
import { intervals } from './schema.js';

/** A billed interval; open ones already end at `now`. */
export interface BilledInterval {
  instanceId: string;
  rate: number;
  from: number;
  to: number;
}

// parameters: from, to, then from four times
const OVERLAPPING = `
select instance_id, rate, from_ts, to_ts from intervals where from_ts >= ? and from_ts < ? and rate > 0
union all
select i.instance_id, i.rate, i.from_ts, i.to_ts from instances n
  join intervals i on i.id = (select j.id from intervals j where j.instance_id = n.id and j.from_ts < ? order by j.from_ts desc, j.id desc limit 1)
  where (n.gone_at is null or n.gone_at > ?) and n.first_seen < ? and i.rate > 0 and (i.to_ts is null or i.to_ts > ?)`;

// The same for a recent start (parameters: from, to, from, from, from): the intervals open at `from` are those still
// open (one per instance alive now) and those that closed after it, both read through the index on `to_ts`. The
// second part reads every interval closed since `from`, so it is used only when that is a short time ago.
const OVERLAPPING_RECENT = `
select instance_id, rate, from_ts, to_ts from intervals where from_ts >= ? and from_ts < ? and rate > 0
union all
select instance_id, rate, from_ts, to_ts from intervals where to_ts is null and +from_ts < ? and rate > 0
union all
select instance_id, rate, from_ts, to_ts from intervals where to_ts > ? and +from_ts < ? and rate > 0`;

/** Up to this long before `now`, a range's start is looked up through the intervals closed since (see above). */
const RECENT_MS = 2 * 86_400_000;

/** The query for the intervals overlapping [from, to) and its parameters (the recent form when `from` is recent). */
function overlapping(from: number, to: number, now: number): { text: string; params: number[] } {
  return now - from <= RECENT_MS ? { text: OVERLAPPING_RECENT, params: [from, to, from, from, from] } : { text: OVERLAPPING, params: [from, to, from, from, from, from] };
}

/** Intervals with a non-zero rate overlapping [from, to); open ones end at `now` (never before they start). */
export function billedIntervals(db: Db, from: number, to: number, now: number): BilledInterval[] {
  const q = overlapping(from, to, now);
  const out: BilledInterval[] = [];
  for (const [instanceId, rate, a, b] of allRows<[string, number, number, number | null]>(db, q.text, q.params)) out.push({ instanceId, rate, from: a, to: b ?? Math.max(now, a) });
  return out;
}

/**
 * Yuan accrued over [from, to) by every billed interval, summed by SQLite (one row back instead of one per
 * interval): what `billedIntervals` returns, each clipped to the range, at rate ¥/h. Open intervals end at `now`.
 */
export function billedTotal(db: Db, from: number, to: number, now: number): number {
  const q = overlapping(from, to, now);
  const text = `select coalesce(sum(rate * (${HI} - ${LO})), 0) / 3600000.0 from (${q.text}) where ${HI} > ${LO}`;
  const [[total]] = allRows<[number]>(db, text, [now, to, from, ...q.params, now, to, from]);
  return total;
}

/** The same per instance, summed by SQLite (instances with nothing billed in the range are absent). */
export function billedByInstance(db: Db, from: number, to: number, now: number): Map<string, number> {
  const q = overlapping(from, to, now);
  const text = `select instance_id, sum(rate * (${HI} - ${LO})) / 3600000.0 from (${q.text}) where ${HI} > ${LO} group by instance_id`;
  return new Map(allRows<[string, number]>(db, text, [now, to, from, ...q.params, now, to, from]));
}

// hi/lo of each interval clipped to [from, to), as accrued() computes them (parameters: now, to; from)
const HI = 'min(coalesce(to_ts, max(?, from_ts)), ?)';
const LO = 'max(from_ts, ?)';

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
