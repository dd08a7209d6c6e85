/**
 * The billed status intervals overlapping a range, found in time proportional to the range (and the instances
 * alive at its start), not to the history: those that start inside it (index on `from_ts`), plus, for each
 * instance alive at its start, the one interval it was in then (one index seek per instance).
 */
import type { Db } from './open.js';
import { allRows } from './prepared.js';

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

/** Intervals with a non-zero rate overlapping [from, to); open ones end at `now` (never before they start). */
export function billedIntervals(db: Db, from: number, to: number, now: number): BilledInterval[] {
  const out: BilledInterval[] = [];
  for (const [instanceId, rate, a, b] of allRows<[string, number, number, number | null]>(db, OVERLAPPING, [from, to, from, from, from, from])) {
    out.push({ instanceId, rate, from: a, to: b ?? Math.max(now, a) });
  }
  return out;
}
