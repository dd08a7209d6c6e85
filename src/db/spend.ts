/**
 * Spend over any [from, to): *estimated* from status intervals x rates, *observed* from balance decreases
 * (increases are recharges), and *saved* from the guard's releases — side by side, by hour/day (buckets in a
 * time zone) or by instance.
 */
import { and, asc, desc, gt, gte, isNull, lt, sql } from 'drizzle-orm';
import type { Db } from './open.js';
import { balancePoints, intervals } from './schema.js';
import { accrued, bucketStarts, round4 } from '../money.js';
import { savingStretches } from './savings.js';

/** How spend rows are keyed. */
export type SpendBy = 'hour' | 'day' | 'instance';

/** One row of a spend report; `key` is the bucket start (ms) or the instance id. */
export interface SpendRow {
  key: number | string;
  estimated: number;
  observed: number | null;
  saved: number;
  /** estimated split per instance id (time buckets only) */
  instances?: Record<string, number>;
}

/** The spend report (GET /api/v1/spend, `xgc-guard spend`). */
export interface SpendReport {
  from: number;
  to: number;
  by: SpendBy;
  tz: string;
  currency: 'CNY';
  total: { estimated: number; observed: number; recharged: number; saved: number; difference: number };
  rows: SpendRow[];
}

/**
 * Intervals with a non-zero rate overlapping [from, to); open ones end at `now`. Two index range scans on
 * `to_ts` (open ones, and closed ones ending after `from`) so the cost follows the range, not the history.
 */
function billedIntervals(db: Db, from: number, to: number, now: number) {
  const cols = { instanceId: intervals.instanceId, rate: intervals.rate, from: intervals.from, to: intervals.to };
  const open = db.select(cols).from(intervals).where(and(isNull(intervals.to), lt(intervals.from, to), gt(intervals.rate, 0))).all();
  const closed = db.select(cols).from(intervals).where(and(gt(intervals.to, from), lt(intervals.from, to), gt(intervals.rate, 0))).all();
  return [...open, ...closed].map((r) => ({ ...r, to: r.to ?? Math.max(now, r.from) }));
}

/** Index of the bucket containing t (starts sorted ascending; t >= starts[0]). */
function bucketIndex(starts: number[], t: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid] <= t) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** Spread `rate` over [a, b) into the buckets, calling add(k, yuan). */
function spread(starts: number[], to: number, rate: number, a: number, b: number, add: (k: number, v: number) => void): void {
  if (b <= a) return;
  for (let k = bucketIndex(starts, a); k < starts.length && starts[k] < b; k++) {
    const end = k + 1 < starts.length ? starts[k + 1] : to;
    const v = accrued(rate, a, b, starts[k], end);
    if (v > 0) add(k, v);
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

/**
 * Build the spend report for [from, to) as of `now`. With `split`, time-bucket rows also carry the estimated
 * spend per instance (for stacked charts); off by default since it grows with buckets x instances.
 */
export function spendReport(db: Db, q: { from: number; to: number; by: SpendBy; tz: string; now: number; split?: boolean }): SpendReport {
  const { from, to, by, tz, now } = q;
  const ivs = billedIntervals(db, from, to, now);
  const moves = balanceMoves(db, from, to);
  const saves = savingStretches(db, now, undefined, { from, to }).filter((s) => s.start < to && s.end > from);
  let estimated = 0;
  let observed = 0;
  let recharged = 0;
  let saved = 0;
  for (const m of moves) {
    observed += m.spent;
    recharged += m.recharged;
  }
  let rows: SpendRow[];
  if (by === 'instance') {
    const m = new Map<string, SpendRow>();
    const row = (id: string) => {
      let r = m.get(id);
      if (!r) m.set(id, (r = { key: id, estimated: 0, observed: null, saved: 0 }));
      return r;
    };
    for (const iv of ivs) {
      const v = accrued(iv.rate, iv.from, iv.to, from, to);
      row(iv.instanceId).estimated += v;
      estimated += v;
    }
    for (const s of saves) {
      const v = accrued(s.ratePerHour, s.start, s.end, from, to);
      row(s.instanceId).saved += v;
      saved += v;
    }
    rows = [...m.values()].sort((a, b) => b.estimated - a.estimated);
  } else {
    const starts = bucketStarts(from, to, by, tz);
    rows = starts.map((s) => (q.split ? { key: s, estimated: 0, observed: 0, saved: 0, instances: {} } : { key: s, estimated: 0, observed: 0, saved: 0 }));
    for (const iv of ivs) {
      spread(starts, to, iv.rate, Math.max(iv.from, from), Math.min(iv.to, to), (k, v) => {
        rows[k].estimated += v;
        if (q.split) rows[k].instances![iv.instanceId] = (rows[k].instances![iv.instanceId] ?? 0) + v;
        estimated += v;
      });
    }
    for (const s of saves) {
      spread(starts, to, s.ratePerHour, Math.max(s.start, from), Math.min(s.end, to), (k, v) => {
        rows[k].saved += v;
        saved += v;
      });
    }
    for (const mv of moves) if (mv.spent > 0) rows[bucketIndex(starts, mv.at)].observed! += mv.spent;
  }
  for (const r of rows) {
    r.estimated = round4(r.estimated);
    r.saved = round4(r.saved);
    if (r.observed !== null) r.observed = round4(r.observed);
    if (r.instances) for (const k of Object.keys(r.instances)) r.instances[k] = round4(r.instances[k]);
  }
  return {
    from,
    to,
    by,
    tz,
    currency: 'CNY',
    total: { estimated: round4(estimated), observed: round4(observed), recharged: round4(recharged), saved: round4(saved), difference: round4(observed - estimated) },
    rows,
  };
}

/** Current burn rate: the sum of the rates of open intervals (¥/h). */
export function burnRate(db: Db): number {
  const r = db.select({ s: sql<number>`coalesce(sum(${intervals.rate}), 0)` }).from(intervals).where(isNull(intervals.to)).get();
  return r?.s ?? 0;
}

/** Estimated spend per instance over [from, now) (e.g. today's cost per instance). */
export function estimatedByInstance(db: Db, from: number, now: number): Map<string, number> {
  const m = new Map<string, number>();
  for (const iv of billedIntervals(db, from, now, now)) m.set(iv.instanceId, (m.get(iv.instanceId) ?? 0) + accrued(iv.rate, iv.from, iv.to, from, now));
  return m;
}
