/**
 * The spend rollup in SQLite: per time zone, the totals and per-instance cells of whole days that ended before the
 * last successful tick (they can no longer change), and per-instance sums of each month's rolled-up days. Written
 * only by the rollup job (src/jobs/rollup.ts), one day or one month per call; read by spend reports.
 */
import { and, desc, eq, gte, lt, min, ne, or, sql } from 'drizzle-orm';
import type { Db } from './open.js';
import { balancePoints, intervals, spendDayCells, spendDays, spendLives, spendMonthCells, spendMonths, ticks } from './schema.js';
import { accumulate, balanceMoves } from './spend-live.js';

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
      tx.insert(spendLives)
        .values({ tz, instanceId, firstDay: dayStart, lastDay: dayStart, estimated: c.e, saved: c.s })
        .onConflictDoUpdate({
          target: [spendLives.tz, spendLives.instanceId],
          set: {
            firstDay: sql`min(${spendLives.firstDay}, excluded.first_day)`,
            lastDay: sql`max(${spendLives.lastDay}, excluded.last_day)`,
            estimated: sql`${spendLives.estimated} + excluded.estimated`,
            saved: sql`${spendLives.saved} + excluded.saved`,
          },
        })
        .run();
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

/** Sum the blocks' cells per instance into `add(instanceId, estimated, saved)`. */
export function sumCells(db: Db, tz: string, blocks: CellBlock[], add: (instanceId: string, estimated: number, saved: number) => void): void {
  for (const b of blocks) {
    const rows =
      'days' in b
        ? db
            .select({ instanceId: spendDayCells.instanceId, estimated: sql<number>`sum(${spendDayCells.estimated})`, saved: sql<number>`sum(${spendDayCells.saved})` })
            .from(spendDayCells)
            .where(and(eq(spendDayCells.tz, tz), gte(spendDayCells.dayStart, b.days[0]), lt(spendDayCells.dayStart, b.days[1])))
            .groupBy(spendDayCells.instanceId)
            .all()
        : db
            .select({ instanceId: spendMonthCells.instanceId, estimated: spendMonthCells.estimated, saved: spendMonthCells.saved })
            .from(spendMonthCells)
            .where(and(eq(spendMonthCells.tz, tz), eq(spendMonthCells.monthStart, b.month)))
            .all();
    for (const r of rows) add(r.instanceId, b.sign * r.estimated, b.sign * r.saved);
  }
}

/**
 * Cells of the rolled-up days [from, to), one call per cell (for per-instance splits of day buckets); with `only`, the
 * cells of those instances alone (the others never leave SQLite).
 */
export function dayCells(db: Db, tz: string, from: number, to: number, add: (dayStart: number, instanceId: string, estimated: number) => void, only?: string[]): void {
  const rows = db
    .select({ dayStart: spendDayCells.dayStart, instanceId: spendDayCells.instanceId, estimated: spendDayCells.estimated })
    .from(spendDayCells)
    .where(
      and(
        eq(spendDayCells.tz, tz),
        gte(spendDayCells.dayStart, from),
        lt(spendDayCells.dayStart, to),
        // the ids as one JSON parameter: any number of them, under SQLite's cap on bound parameters
        only === undefined ? undefined : sql`${spendDayCells.instanceId} in (select value from json_each(${JSON.stringify(only)}))`,
      ),
    )
    .all();
  for (const r of rows) add(r.dayStart, r.instanceId, r.estimated);
}

/** Estimated spend per instance over the rolled-up days [from, to), instances with a non-zero cell only. */
export function dayCellTotals(db: Db, tz: string, from: number, to: number, add: (instanceId: string, estimated: number) => void): void {
  const rows = db
    .select({ instanceId: spendDayCells.instanceId, estimated: sql<number>`sum(${spendDayCells.estimated})` })
    .from(spendDayCells)
    .where(and(eq(spendDayCells.tz, tz), gte(spendDayCells.dayStart, from), lt(spendDayCells.dayStart, to), ne(spendDayCells.estimated, 0)))
    .groupBy(spendDayCells.instanceId)
    .all();
  for (const r of rows) add(r.instanceId, r.estimated);
}

/** Rolled-up day starts of `tz` outside [from, to), ascending. */
export function rolledOutside(db: Db, tz: string, from: number, to: number): number[] {
  return db
    .select({ dayStart: spendDays.dayStart })
    .from(spendDays)
    .where(and(eq(spendDays.tz, tz), or(lt(spendDays.dayStart, from), gte(spendDays.dayStart, to))))
    .orderBy(spendDays.dayStart)
    .all()
    .map((r) => r.dayStart);
}

/** A life: an instance's estimated and saved yuan over all its rolled-up days. */
export interface Life {
  instanceId: string;
  estimated: number;
  saved: number;
}

/** Lives of `tz` with a rolled-up day in [from, to). */
export function livesIn(db: Db, tz: string, from: number, to: number): Life[] {
  return db
    .select({ instanceId: spendLives.instanceId, estimated: spendLives.estimated, saved: spendLives.saved })
    .from(spendLives)
    .where(and(eq(spendLives.tz, tz), gte(spendLives.lastDay, from), lt(spendLives.firstDay, to)))
    .all();
}
