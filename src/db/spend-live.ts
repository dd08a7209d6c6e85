/**
 * Spend computed live from the history: estimated yuan from status intervals x rates, saved yuan from the guard's
 * release stretches, observed yuan from balance decreases — over a range, spread into time buckets. The rollup
 * stores exactly these sums for closed days; reports add the two.
 */
import { and, asc, desc, gte, lt } from 'drizzle-orm';
import type { Db } from './open.js';
import { balancePoints } from './schema.js';
import { accrued } from '../money.js';
import { billedIntervals } from './billed-intervals.js';
import { savingStretches } from './savings.js';

/** Adds estimated / saved yuan of one instance to bucket `k`. */
export type Sink = (k: number, instanceId: string, estimated: number, saved: number) => void;

/** Index of the bucket containing t (starts sorted ascending; t >= starts[0]). */
export function bucketIndex(starts: number[], t: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid] <= t) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** Spread `rate` over [a, b) into the buckets (the last ends at `to`), calling add(k, yuan). */
function spread(starts: number[], to: number, rate: number, a: number, b: number, add: (k: number, v: number) => void): void {
  if (b <= a) return;
  for (let k = bucketIndex(starts, a); k < starts.length && starts[k] < b; k++) {
    const end = k + 1 < starts.length ? starts[k + 1] : to;
    const v = accrued(rate, a, b, starts[k], end);
    if (v > 0) add(k, v);
  }
}

/** Live estimated and saved yuan over [a, b), spread into the buckets `starts` (the last ends at `end`). */
export function accumulate(db: Db, a: number, b: number, starts: number[], end: number, now: number, add: Sink): void {
  if (b <= a) return;
  for (const iv of billedIntervals(db, a, b, now)) spread(starts, end, iv.rate, Math.max(iv.from, a), Math.min(iv.to, b), (k, v) => add(k, iv.instanceId, v, 0));
  for (const st of savingStretches(db, now, undefined, { from: a, to: b })) {
    if (st.start >= b || st.end <= a) continue;
    spread(starts, end, st.ratePerHour, Math.max(st.start, a), Math.min(st.end, b), (k, v) => add(k, st.instanceId, 0, v));
  }
}

/** Balance decreases (observed spend) and increases (recharges) whose later point lies in [from, to). */
export function balanceMoves(db: Db, from: number, to: number): Array<{ at: number; spent: number; recharged: number }> {
  const before = db.select().from(balancePoints).where(lt(balancePoints.at, from)).orderBy(desc(balancePoints.at), desc(balancePoints.id)).limit(1).get();
  const pts = db.select().from(balancePoints).where(and(gte(balancePoints.at, from), lt(balancePoints.at, to))).orderBy(asc(balancePoints.at), asc(balancePoints.id)).all();
  const out: Array<{ at: number; spent: number; recharged: number }> = [];
  let prev = before?.balance;
  for (const p of pts) {
    if (prev !== undefined) {
      const d = prev - p.balance;
      out.push({ at: p.at, spent: d > 0 ? d : 0, recharged: d < 0 ? -d : 0 });
    }
    prev = p.balance;
  }
  return out;
}
