/**
 * The queries behind `/metrics`: a few aggregates for gauges, and incremental reads (rows after a watermark
 * id, plus the rows still open) so counters advance by what changed instead of being rebuilt each scrape.
 */
import { desc, eq, gt, inArray, isNull, sql } from 'drizzle-orm';
import type { Db } from './open.js';
import { actions, balancePoints, instances, intervals, ticks } from './schema.js';

/** The last observed balance in yuan, or null before the first. */
export function lastBalance(db: Db): number | null {
  return db.select({ b: balancePoints.balance }).from(balancePoints).orderBy(desc(balancePoints.at), desc(balancePoints.id)).limit(1).get()?.b ?? null;
}

/** Instances not gone, counted by status. */
export function instancesByStatus(db: Db): Array<{ status: string; n: number }> {
  return db.select({ status: instances.status, n: sql<number>`count(*)` }).from(instances).where(isNull(instances.goneAt)).groupBy(instances.status).all();
}

/** Outcome of the newest tick that ran (skipped firings aside), or null before the first. */
export function lastTickOutcome(db: Db): string | null {
  return db.select({ o: ticks.outcome }).from(ticks).where(sql`${ticks.outcome} != 'skipped'`).orderBy(desc(ticks.id)).limit(1).get()?.o ?? null;
}

/** When the newest successful tick ran (epoch ms), or null. */
export function lastSuccessAt(db: Db): number | null {
  return db.select({ at: ticks.at }).from(ticks).where(eq(ticks.outcome, 'ok')).orderBy(desc(ticks.id)).limit(1).get()?.at ?? null;
}

/** A journal row as the action counters see it. */
export interface JournalRow {
  id: number;
  policy: string;
  action: string;
  mode: string;
  state: string;
  sentAt: number | null;
}

/** SQLite caps bound parameters: ask for long id lists in slices. */
function inSlices<T>(ids: number[], read: (slice: number[]) => T[]): T[] {
  const out: T[] = [];
  for (let i = 0; i < ids.length; i += 500) out.push(...read(ids.slice(i, i + 500)));
  return out;
}

/** Journal rows with id above `afterId`, and the rows `open` names (they may have moved on). */
export function journalRowsSince(db: Db, afterId: number, open: number[]): JournalRow[] {
  const cols = { id: actions.id, policy: actions.policy, action: actions.action, mode: actions.mode, state: actions.state, sentAt: actions.sentAt };
  const fresh = db.select(cols).from(actions).where(gt(actions.id, afterId)).orderBy(actions.id).all();
  return [...inSlices(open, (ids) => db.select(cols).from(actions).where(inArray(actions.id, ids)).all()), ...fresh];
}

/** A status interval as the spend counters see it. */
export interface IntervalRow {
  id: number;
  instanceId: string;
  rate: number;
  from: number;
  to: number | null;
}

/** Interval rows with id above `afterId`, and the rows `open` names (an open interval gets its end later). */
export function intervalRowsSince(db: Db, afterId: number, open: number[]): IntervalRow[] {
  const cols = { id: intervals.id, instanceId: intervals.instanceId, rate: intervals.rate, from: intervals.from, to: intervals.to };
  const fresh = db.select(cols).from(intervals).where(gt(intervals.id, afterId)).orderBy(intervals.id).all();
  return [...inSlices(open, (ids) => db.select(cols).from(intervals).where(inArray(intervals.id, ids)).all()), ...fresh];
}
