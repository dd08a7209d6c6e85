/**
 * The spend rollup in SQLite: per time zone, the totals and per-instance cells of whole days that ended before the
 * last successful tick (they can no longer change), and per-instance sums of each month's rolled-up days. Written
 * only by the rollup job (src/jobs/rollup.ts), one day or one month per call; read by spend reports.
 */
import { and, desc, eq, gte, lt, min, sql } from 'drizzle-orm';
import type { Db } from './open.js';
import { balancePoints, intervals, spendDayCells, spendDays, spendMonthCells, spendMonths, ticks } from './schema.js';
import { accumulate, balanceMoves } from './spend-live.js';
import { allRows, runRaw } from './prepared.js';

/** The time of the last successful tick: history before it can no longer change. */
export function lastObservedAt(db: Db): number | null {
  return db.select({ at: ticks.at }).from(ticks).where(eq(ticks.outcome, 'ok')).orderBy(desc(ticks.at)).limit(1).get()?.at ?? null;
}

/** The earliest instant the history holds anything billable or observed (null for an empty database). */
export function firstDataAt(db: Db): number | null {
  const a = db.select({ t: min(intervals.from) }).from(intervals).get()?.t ?? null;
  const b = db.select({ t: min(balancePoints.at) }).from(balancePoints).get()?.t ?? null;
  return a === null ? b : b === null ? a : Math.min(a, b);
}

/** A rolled-up day's totals. */
export interface RolledDay {
  dayStart: number;
  estimated: number;
  saved: number;
  observed: number;
  recharged: number;
}

/** Rolled-up days of `tz` starting in [from, to), ascending. */
export function rolledDays(db: Db, tz: string, from: number, to: number): RolledDay[] {
  return db
    .select({ dayStart: spendDays.dayStart, estimated: spendDays.estimated, saved: spendDays.saved, observed: spendDays.observed, recharged: spendDays.recharged })
    .from(spendDays)
    .where(and(eq(spendDays.tz, tz), gte(spendDays.dayStart, from), lt(spendDays.dayStart, to)))
    .orderBy(spendDays.dayStart)
    .all();
}

const ADD_TO_LIFE = `insert into spend_lives (tz, instance_id, first_day, last_day, estimated, saved) values (?, ?, ?, ?, ?, ?)
  on conflict (tz, instance_id) do update set first_day = min(first_day, excluded.first_day), last_day = max(last_day, excluded.last_day),
  estimated = estimated + excluded.estimated, saved = saved + excluded.saved`;

/**
 * Compute day [dayStart, dayEnd) of `tz` from the history as of `now`, store its totals and cells and add the
 * cells to the instances' lives (one transaction; a day already stored is left as it is). The caller makes sure
 * the day ended before the last successful tick. Returns the number of instance cells.
 */
export function rollUpDay(db: Db, tz: string, dayStart: number, dayEnd: number, now: number): number {
  const cells = new Map<string, { e: number; s: number }>();
  accumulate(db, dayStart, dayEnd, [dayStart], dayEnd, now, (_k, id, e, s) => {
    const c = cells.get(id);
    if (c) {
      c.e += e;
      c.s += s;
    } else cells.set(id, { e, s });
  });
  let estimated = 0;
  let saved = 0;
  for (const c of cells.values()) {
    estimated += c.e;
    saved += c.s;
  }
  let observed = 0;
  let recharged = 0;
  for (const m of balanceMoves(db, dayStart, dayEnd)) {
    observed += m.spent;
    recharged += m.recharged;
  }
  db.transaction((tx) => {
    const added = tx.insert(spendDays).values({ tz, dayStart, estimated, saved, observed, recharged }).onConflictDoNothing().run();
    if (added.changes === 0) return;
    for (const [instanceId, c] of cells) {
      tx.insert(spendDayCells).values({ tz, dayStart, instanceId, estimated: c.e, saved: c.s }).run();
      runRaw(tx, ADD_TO_LIFE, [tz, instanceId, dayStart, dayStart, c.e, c.s]);
    }
  });
  return cells.size;
}

/** `through` per month of `tz` starting in [from, to): each month's cells sum its rolled-up days [start, through). */
export function monthMarks(db: Db, tz: string, from: number, to: number): Map<number, number> {
  const rows = db
    .select({ m: spendMonths.monthStart, through: spendMonths.through })
    .from(spendMonths)
    .where(and(eq(spendMonths.tz, tz), gte(spendMonths.monthStart, from), lt(spendMonths.monthStart, to)))
    .all();
  return new Map(rows.map((r) => [r.m, r.through]));
}

/** Recompute month `monthStart` of `tz` as the sum of its rolled-up days [monthStart, through) (one transaction). */
export function refreshMonth(db: Db, tz: string, monthStart: number, through: number): void {
  db.transaction((tx) => {
    tx.delete(spendMonthCells).where(and(eq(spendMonthCells.tz, tz), eq(spendMonthCells.monthStart, monthStart))).run();
    tx.run(sql`insert into spend_month_cells (tz, month_start, instance_id, estimated, saved)
      select tz, ${monthStart}, instance_id, sum(estimated), sum(saved) from spend_day_cells
      where tz = ${tz} and day_start >= ${monthStart} and day_start < ${through} group by instance_id`);
    tx.insert(spendMonths).values({ tz, monthStart, through }).onConflictDoUpdate({ target: [spendMonths.tz, spendMonths.monthStart], set: { through } }).run();
  });
}

/** A block of rolled-up cells to add (+1) or subtract (-1): the days [from, to), or one month's sum. */
export type CellBlock = { days: [number, number]; sign: 1 | -1 } | { month: number; sign: 1 | -1 };

const DAY_SUMS = `select instance_id, sum(estimated), sum(saved) from spend_day_cells where tz = ? and day_start >= ? and day_start < ? group by instance_id`;
const MONTH_CELLS = `select instance_id, estimated, saved from spend_month_cells where tz = ? and month_start = ?`;

/** Sum the blocks' cells per instance into `add(instanceId, estimated, saved)`. */
export function sumCells(db: Db, tz: string, blocks: CellBlock[], add: (instanceId: string, estimated: number, saved: number) => void): void {
  for (const b of blocks) {
    const rows = 'days' in b ? allRows<[string, number, number]>(db, DAY_SUMS, [tz, b.days[0], b.days[1]]) : allRows<[string, number, number]>(db, MONTH_CELLS, [tz, b.month]);
    for (const [id, e, s] of rows) add(id, b.sign * e, b.sign * s);
  }
}

/**
 * Cells of the rolled-up days [from, to), one call per cell (for per-instance splits of day buckets); with `only`, the
 * cells of those instances alone (the others never leave SQLite).
 */
export function dayCells(db: Db, tz: string, from: number, to: number, add: (dayStart: number, instanceId: string, estimated: number) => void, only?: string[]): void {
  const rows =
    only === undefined
      ? allRows<[number, string, number]>(db, 'select day_start, instance_id, estimated from spend_day_cells where tz = ? and day_start >= ? and day_start < ?', [tz, from, to])
      : allRows<[number, string, number]>(
          db,
          'select day_start, instance_id, estimated from spend_day_cells where tz = ? and day_start >= ? and day_start < ? and instance_id in (select value from json_each(?))',
          [tz, from, to, JSON.stringify(only)],
        );
  for (const [d, id, e] of rows) add(d, id, e);
}

/** Estimated spend per instance over the rolled-up days [from, to), instances with a non-zero cell only. */
export function dayCellTotals(db: Db, tz: string, from: number, to: number, add: (instanceId: string, estimated: number) => void): void {
  const rows = allRows<[string, number]>(db, 'select instance_id, sum(estimated) from spend_day_cells where tz = ? and day_start >= ? and day_start < ? and estimated != 0 group by instance_id', [tz, from, to]);
  for (const [id, e] of rows) add(id, e);
}

/** Rolled-up day starts of `tz` outside [from, to), ascending. */
export function rolledOutside(db: Db, tz: string, from: number, to: number): number[] {
  return allRows<[number]>(db, 'select day_start from spend_days where tz = ? and (day_start < ? or day_start >= ?) order by day_start', [tz, from, to]).map((r) => r[0]);
}

/** Lives of `tz` with a rolled-up day in [from, to): [instance id, estimated, saved] over all their rolled-up days. */
export function livesIn(db: Db, tz: string, from: number, to: number): Array<[string, number, number]> {
  return allRows<[string, number, number]>(db, 'select instance_id, estimated, saved from spend_lives where tz = ? and last_day >= ? and first_day < ?', [tz, from, to]);
}
