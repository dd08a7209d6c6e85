/**
 * Spend over any [from, to): *estimated* from status intervals x rates, *observed* from balance decreases
 * (increases are recharges), and *saved* from the guard's releases — side by side, by hour/day (buckets in a
 * time zone) or by instance. Whole days the rollup job has stored are read from the rollup (by instance through
 * month sums or each instance's life), the rest is computed live, so a year costs about what a day does; no query
 * ever writes a rollup.
 */
import { isNull, sql } from 'drizzle-orm';
import type { Db } from './open.js';
import { intervals } from './schema.js';
import { round4 } from '../money.js';
import { billedByInstance } from './billed-intervals.js';
import { nextStart, startsBetween } from './calendar.js';
import { accumulate, balanceMoves, bucketIndex, type Sink } from './spend-live.js';
import { dayCellTotals, dayCells, livesIn, monthMarks, rolledDays, rolledOutside, sumCells, type CellBlock, type RolledDay } from './spend-rollup.js';

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

/** Consecutive day starts as ranges [first day, end of last day). */
function dayRuns(days: number[], tz: string): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const d of days) {
    const last = out[out.length - 1];
    if (last && last[1] === d) last[1] = nextStart(d, 'day', tz);
    else out.push([d, nextStart(d, 'day', tz)]);
  }
  return out;
}

/**
 * The cell blocks summing the rolled-up `days` per instance with the fewest rows: per month, its days directly,
 * or the month's stored sum minus the days of it outside the range, whichever reads less.
 */
function cellPlan(db: Db, tz: string, days: number[]): CellBlock[] {
  if (days.length === 0) return [];
  const end = nextStart(days[days.length - 1], 'day', tz);
  const months = startsBetween(days[0], end, 'month', tz);
  const marks = monthMarks(db, tz, months[0], end);
  const blocks: CellBlock[] = [];
  let i = 0;
  for (const m of months) {
    const mEnd = nextStart(m, 'month', tz);
    const inMonth: number[] = [];
    while (i < days.length && days[i] < mEnd) inMonth.push(days[i++]);
    if (inMonth.length === 0) continue;
    const through = marks.get(m);
    const covered = through === undefined ? [] : inMonth.filter((d) => d < through);
    const rest = through === undefined ? inMonth : inMonth.filter((d) => d >= through);
    if (through !== undefined && covered.length > 0) {
      const all = startsBetween(m, through, 'day', tz);
      const outside = all.filter((d) => !covered.includes(d));
      if (1 + outside.length < covered.length) {
        blocks.push({ month: m, sign: 1 });
        for (const r of dayRuns(outside, tz)) blocks.push({ days: r, sign: -1 });
      } else for (const r of dayRuns(covered, tz)) blocks.push({ days: r, sign: 1 });
    }
    for (const r of dayRuns(rest, tz)) blocks.push({ days: r, sign: 1 });
  }
  return blocks;
}

/**
 * Per-instance sums of the rolled-up `days` (ascending; every rolled-up day between the first and the last) into
 * `add`, reading whichever is fewer: the cells of these days, or the lives of the instances with a day among them
 * minus the cells of the other rolled-up days (a year's report then reads about one row per instance).
 */
function sumRolledByInstance(db: Db, tz: string, days: number[], add: (instanceId: string, estimated: number, saved: number) => void): void {
  const from = days[0];
  const to = nextStart(days[days.length - 1], 'day', tz);
  const outside = rolledOutside(db, tz, from, to);
  if (outside.length >= days.length) return sumCells(db, tz, cellPlan(db, tz, days), add);
  const other = new Map<string, [number, number]>();
  sumCells(db, tz, cellPlan(db, tz, outside), (id, e, s) => {
    const o = other.get(id);
    if (o) {
      o[0] += e;
      o[1] += s;
    } else other.set(id, [e, s]);
  });
  for (const l of livesIn(db, tz, from, to)) {
    const o = other.get(l.instanceId);
    add(l.instanceId, o ? l.estimated - o[0] : l.estimated, o ? l.saved - o[1] : l.saved);
  }
}

/**
 * Build the spend report for [from, to) as of `now`. With `split`, time-bucket rows also carry the estimated
 * spend per instance (for stacked charts); off by default since it grows with buckets x instances; `splitTop`
 * keeps in each row's split only the instances with the most estimated spend over the whole range (the others'
 * spend stays in the row's `estimated`, for an "other" layer). By day or
 * instance, whole days of `tz` the rollup job has stored (and that ended by `now`) come from the rollup; the
 * remaining stretches (partial first/last days, days not rolled up yet) are summed live. `rollup: false` forces
 * everything live (tests compare the two).
 */
export function spendReport(
  db: Db,
  q: { from: number; to: number; by: SpendBy; tz: string; now: number; split?: boolean; splitTop?: number; rollup?: boolean },
): SpendReport {
  const { from, to, by, tz, now } = q;
  let estimated = 0;
  let observed = 0;
  let recharged = 0;
  let saved = 0;
  const starts = by === 'instance' ? [from] : startsBetween(from, to, by, tz);
  const perInstance = new Map<string, SpendRow>();
  const rows: SpendRow[] = by === 'instance' ? [] : starts.map((s) => ({ key: s, estimated: 0, observed: 0, saved: 0 }));
  // The split per instance: one array of bucket sums per instance (objects with an instance's id per key are built
  // once, at the end, for the instances shown).
  const split = by !== 'instance' && q.split ? new Map<string, Float64Array>() : null;
  const addSplit = (k: number, id: string, e: number) => {
    let a = split!.get(id);
    if (!a) split!.set(id, (a = new Float64Array(starts.length)));
    a[k] += e;
  };
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
    if (split && e) addSplit(k, id, e);
  };
  const observe = (at: number, spent: number, rech: number) => {
    observed += spent;
    recharged += rech;
    if (by !== 'instance' && spent > 0) rows[bucketIndex(starts, at)].observed! += spent;
  };
  const live = (a: number, b: number) => {
    accumulate(db, a, b, starts, to, now, add);
    for (const m of balanceMoves(db, a, b)) observe(m.at, m.spent, m.recharged);
  };

  // Rolled-up whole days inside [from, min(to, now)); everything between them is live.
  const limit = Math.min(to, now);
  const rolled: RolledDay[] = by === 'hour' || q.rollup === false ? [] : rolledDays(db, tz, from, limit).filter((d) => nextStart(d.dayStart, 'day', tz) <= limit);
  let cur = from;
  for (const d of rolled) {
    if (d.dayStart > cur) live(cur, d.dayStart);
    cur = nextStart(d.dayStart, 'day', tz);
    observe(d.dayStart, d.observed, d.recharged);
    if (by === 'day') {
      const r = rows[bucketIndex(starts, d.dayStart)];
      r.estimated += d.estimated;
      r.saved += d.saved;
      estimated += d.estimated;
      saved += d.saved;
    }
  }
  if (cur < to) live(cur, to);
  if (rolled.length && by === 'instance') sumRolledByInstance(db, tz, rolled.map((d) => d.dayStart), (id, e, s) => add(0, id, e, s));
  // The split's instances: with a top, the totals of the rolled-up days are summed in SQLite and only the shown
  // instances' day cells are read (a month of 1,000 instances is 30,000 cells, most of them never shown).
  let shown: string[] = [];
  if (split) {
    const addCell = (d: number, id: string, e: number) => {
      if (e) addSplit(bucketIndex(starts, d), id, e);
    };
    const cellsFrom = rolled.length && by === 'day' ? rolled[0].dayStart : null;
    if (q.splitTop === undefined) {
      if (cellsFrom !== null) dayCells(db, tz, cellsFrom, cur, addCell);
      shown = [...split.keys()];
    } else {
      const totals = new Map([...split].map(([id, a]) => [id, a.reduce((x, y) => x + y, 0)]));
      if (cellsFrom !== null) dayCellTotals(db, tz, cellsFrom, cur, (id, e) => totals.set(id, (totals.get(id) ?? 0) + e));
      shown = topIds(totals, q.splitTop);
      if (cellsFrom !== null) dayCells(db, tz, cellsFrom, cur, addCell, shown);
    }
  }

  const r4 = (x: number) => round4(x) + 0; // no -0 from sums that cancel
  const out = by === 'instance' ? [...perInstance.values()].filter((r) => r4(r.estimated) !== 0 || r4(r.saved) !== 0).sort((a, b) => b.estimated - a.estimated) : rows;
  for (const r of out) {
    r.estimated = r4(r.estimated);
    r.saved = r4(r.saved);
    if (r.observed !== null) r.observed = r4(r.observed);
  }
  if (split) {
    rows.forEach((r, k) => {
      const o: Record<string, number> = {};
      for (const id of shown) {
        const v = split.get(id)![k];
        if (v !== 0) o[id] = r4(v);
      }
      r.instances = o;
    });
  }
  return {
    from,
    to,
    by,
    tz,
    currency: 'CNY',
    total: { estimated: r4(estimated), observed: r4(observed), recharged: r4(recharged), saved: r4(saved), difference: r4(observed - estimated) },
    rows: out,
  };
}

/**
 * The `top` instances with the most estimated spend over the range, of those with any: compared in ten-thousandths of
 * a yuan (what reports show), so sums added in another order pick the same ones; ties by id.
 */
function topIds(totals: Map<string, number>, top: number): string[] {
  const ids = [...totals.keys()];
  if (ids.length <= top) return ids;
  const t = new Map(ids.map((id) => [id, round4(totals.get(id)!)]));
  return ids.sort((a, b) => t.get(b)! - t.get(a)! || (a < b ? -1 : a > b ? 1 : 0)).slice(0, top);
}

/** Current burn rate: the sum of the rates of open intervals (¥/h). */
export function burnRate(db: Db): number {
  const r = db.select({ s: sql<number>`coalesce(sum(${intervals.rate}), 0)` }).from(intervals).where(isNull(intervals.to)).get();
  return r?.s ?? 0;
}

/** Estimated spend per instance over [from, now) (e.g. today's cost per instance). */
export function estimatedByInstance(db: Db, from: number, now: number): Map<string, number> {
  return billedByInstance(db, from, now, now);
}
