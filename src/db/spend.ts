/**
 * Spend over any [from, to): *estimated* from status intervals x rates, *observed* from balance decreases
 * (increases are recharges), and *saved* from the guard's releases — side by side, by hour/day (buckets in a
 * time zone) or by instance.
 */
import { and, asc, desc, eq, gt, gte, inArray, isNull, lt, ne, sql } from 'drizzle-orm';
import type { Db } from './open.js';
import { balancePoints, intervals, spendRollup, spendRollupDays, ticks } from './schema.js';
import { accrued, bucketStarts, nextBucket, round4 } from '../money.js';
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
  // `+from_ts` keeps the planner on the to_ts range (from_ts < :to alone would walk the whole history)
  const closed = db.select(cols).from(intervals).where(and(gt(intervals.to, from), sql`+${intervals.from} < ${to}`, gt(intervals.rate, 0))).all();
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

/** The rollup's instance id for a day's total. */
const DAY_TOTAL = '';

/** Adds estimated / saved yuan of one instance to bucket `k`. */
type Sink = (k: number, instanceId: string, estimated: number, saved: number) => void;

/** Live sums over [a, b) from intervals and saving stretches, spread into the buckets `starts` (last ends at `end`). */
function accumulate(db: Db, a: number, b: number, starts: number[], end: number, now: number, add: Sink): void {
  if (b <= a) return;
  for (const iv of billedIntervals(db, a, b, now)) spread(starts, end, iv.rate, Math.max(iv.from, a), Math.min(iv.to, b), (k, v) => add(k, iv.instanceId, v, 0));
  for (const st of savingStretches(db, now, undefined, { from: a, to: b })) {
    if (st.start >= b || st.end <= a) continue;
    spread(starts, end, st.ratePerHour, Math.max(st.start, a), Math.min(st.end, b), (k, v) => add(k, st.instanceId, 0, v));
  }
}

/** The time of the last successful tick: history before it can no longer change. */
export function lastObservedAt(db: Db): number | null {
  return db.select({ at: ticks.at }).from(ticks).where(eq(ticks.outcome, 'ok')).orderBy(desc(ticks.at)).limit(1).get()?.at ?? null;
}

/**
 * Make sure the daily rollup holds the whole days `days` (starts; day k ends at `ends[k]`) in `tz`: missing runs
 * are computed live once and stored (skipped silently on a read-only database, where they are simply live).
 * Calls `add(dayIndex, instance, estimated, saved)` for every cell of those days.
 */
function rollupDays(db: Db, tz: string, days: number[], ends: number[], now: number, mode: 'day' | 'instance' | 'cells', add: Sink): void {
  if (days.length === 0) return;
  const done = new Set(
    db
      .select({ d: spendRollupDays.dayStart })
      .from(spendRollupDays)
      .where(and(eq(spendRollupDays.tz, tz), gte(spendRollupDays.dayStart, days[0]), lt(spendRollupDays.dayStart, ends[ends.length - 1])))
      .all()
      .map((r) => r.d),
  );
  // compute the missing runs live, store them
  for (let i = 0; i < days.length; ) {
    if (done.has(days[i])) {
      i++;
      continue;
    }
    let j = i;
    while (j + 1 < days.length && !done.has(days[j + 1])) j++;
    const runStarts = days.slice(i, j + 1);
    const cells = new Map<string, { k: number; id: string; e: number; s: number }>();
    accumulate(db, days[i], ends[j], runStarts, ends[j], now, (k, id, e, sv) => {
      const key = `${k}|${id}`;
      const c = cells.get(key) ?? { k, id, e: 0, s: 0 };
      c.e += e;
      c.s += sv;
      cells.set(key, c);
    });
    try {
      db.transaction((tx) => {
        const totals = runStarts.map(() => ({ e: 0, s: 0 }));
        for (const c of cells.values()) {
          tx.insert(spendRollup).values({ tz, dayStart: runStarts[c.k], instanceId: c.id, estimated: c.e, saved: c.s }).onConflictDoNothing().run();
          totals[c.k].e += c.e;
          totals[c.k].s += c.s;
        }
        // the day's total under instance id '' (by-day reports read one row per day)
        runStarts.forEach((d, k) => tx.insert(spendRollup).values({ tz, dayStart: d, instanceId: DAY_TOTAL, estimated: totals[k].e, saved: totals[k].s }).onConflictDoNothing().run());
        for (const d of runStarts) tx.insert(spendRollupDays).values({ tz, dayStart: d }).onConflictDoNothing().run();
      });
    } catch (e) {
      if (!/readonly/i.test(String((e as { code?: string }).code ?? '') + String(e))) throw e;
    }
    for (const c of cells.values()) add(i + c.k, c.id, c.e, c.s);
    i = j + 1;
  }
  // read the days that were already there
  const stored = days.filter((d) => done.has(d));
  if (stored.length === 0) return;
  const index = new Map(days.map((d, k) => [d, k]));
  // exactly the days that were stored before this call (runs computed above were added already)
  const where = and(eq(spendRollup.tz, tz), inArray(spendRollup.dayStart, stored));
  const e = sql<number>`sum(${spendRollup.estimated})`;
  const sv = sql<number>`sum(${spendRollup.saved})`;
  // Sum in SQL what the report does not need cell by cell.
  if (mode === 'day') {
    for (const r of db.select().from(spendRollup).where(and(where, eq(spendRollup.instanceId, DAY_TOTAL))).all()) add(index.get(r.dayStart)!, DAY_TOTAL, r.estimated, r.saved);
  } else if (mode === 'instance') {
    for (const r of db.select({ id: spendRollup.instanceId, e, sv }).from(spendRollup).where(and(where, ne(spendRollup.instanceId, DAY_TOTAL))).groupBy(spendRollup.instanceId).all()) add(0, r.id, r.e, r.sv);
  } else {
    for (const r of db.select().from(spendRollup).where(and(where, ne(spendRollup.instanceId, DAY_TOTAL))).all()) add(index.get(r.dayStart)!, r.instanceId, r.estimated, r.saved);
  }
}

/**
 * Build the spend report for [from, to) as of `now`. With `split`, time-bucket rows also carry the estimated
 * spend per instance (for stacked charts); off by default since it grows with buckets x instances.
 * By day or instance, whole days that ended before the last successful tick come from the daily rollup.
 */
export function spendReport(db: Db, q: { from: number; to: number; by: SpendBy; tz: string; now: number; split?: boolean; rollup?: boolean }): SpendReport {
  const { from, to, by, tz, now } = q;
  const moves = balanceMoves(db, from, to);
  let estimated = 0;
  let observed = 0;
  let recharged = 0;
  let saved = 0;
  for (const m of moves) {
    observed += m.spent;
    recharged += m.recharged;
  }
  const starts = by === 'instance' ? [from] : bucketStarts(from, to, by, tz);
  const perInstance = new Map<string, SpendRow>();
  const rows: SpendRow[] =
    by === 'instance' ? [] : starts.map((s) => (q.split ? { key: s, estimated: 0, observed: 0, saved: 0, instances: {} } : { key: s, estimated: 0, observed: 0, saved: 0 }));
  const add: Sink = (k, id, e, sv) => {
    estimated += e;
    saved += sv;
    if (by === 'instance') {
      let r = perInstance.get(id);
      if (!r) perInstance.set(id, (r = { key: id, estimated: 0, observed: null, saved: 0 }));
      r.estimated += e;
      r.saved += sv;
      return;
    }
    rows[k].estimated += e;
    rows[k].saved += sv;
    if (q.split && e) rows[k].instances![id] = (rows[k].instances![id] ?? 0) + e;
  };
  // Whole days inside [from, to) that ended before the last successful tick: from the rollup.
  let liveA: [number, number] = [from, to];
  let liveB: [number, number] = [to, to];
  if (by !== 'hour' && q.rollup !== false) {
    const limit = Math.min(lastObservedAt(db) ?? -Infinity, now, to);
    const days = bucketStarts(from, to, 'day', tz);
    const ends = days.map((d, k) => (k + 1 < days.length ? days[k + 1] : nextBucket(d, 'day', tz)));
    const whole = days.map((d, k) => k).filter((k) => days[k] >= from && ends[k] <= limit);
    if (whole.length) {
      const ds = whole.map((k) => days[k]);
      const es = whole.map((k) => ends[k]);
      const dayToBucket = by === 'day' ? (i: number) => bucketIndex(starts, ds[i]) : () => 0;
      rollupDays(db, tz, ds, es, now, by === 'instance' ? 'instance' : q.split ? 'cells' : 'day', (i, id, e, sv) => add(dayToBucket(i), id, e, sv));
      liveA = [from, ds[0]];
      liveB = [es[es.length - 1], to];
    }
  }
  accumulate(db, liveA[0], liveA[1], starts, to, now, add);
  accumulate(db, liveB[0], liveB[1], starts, to, now, add);
  if (by !== 'instance') for (const mv of moves) if (mv.spent > 0) rows[bucketIndex(starts, mv.at)].observed! += mv.spent;
  const out = by === 'instance' ? [...perInstance.values()].filter((r) => r.estimated > 0 || r.saved > 0).sort((a, b) => b.estimated - a.estimated) : rows;
  for (const r of out) {
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
    rows: out,
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
