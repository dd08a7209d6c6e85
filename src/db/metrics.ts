/**
 * The queries behind `/metrics`: a few aggregates for gauges, and incremental reads (rows after a watermark
 * id, plus the rows still open) so counters advance by what changed instead of being rebuilt each scrape.
 */
import { desc, eq, gt, inArray, isNull, sql } from 'drizzle-orm';
import type { Db } from './open.js';
import { allRows } from './prepared.js';
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


/**
 * Where a fresh process starts counting spend: the closed intervals' yuan per instance, summed inside SQLite (a
 * year at 1,000 instances is ~900k rows: read into objects they cost seconds and hundreds of MB), the intervals
 * still open, and the highest interval id covered. Later rows come from {@link intervalRowsSince}.
 */
export function spendSeed(db: Db): { throughId: number; closed: Map<string, number>; open: IntervalRow[] } {
  const [[max]] = allRows<[number | null]>(db, 'select max(id) from intervals', []);
  if (max === null) return { throughId: 0, closed: new Map(), open: [] };
  const closed = new Map<string, number>();
  for (const [id, yuan] of allRows<[string, number]>(db, 'select instance_id, sum(rate * (to_ts - from_ts)) / 3600000.0 from intervals where id <= ? and to_ts > from_ts group by instance_id', [max]))
    closed.set(id, yuan);
  const open = allRows<[number, string, number, number]>(db, 'select id, instance_id, rate, from_ts from intervals where id <= ? and to_ts is null', [max]).map(
    ([id, instanceId, rate, from]): IntervalRow => ({ id, instanceId, rate, from, to: null }),
  );
  return { throughId: max, closed, open };
}

/**
 * Where a fresh process starts counting journal transitions: rows with id up to `throughId` grouped by what the
 * counters look at (with how many share it), and, among them, the rows that may still move (tracked one by one).
 */
export function journalSeed(db: Db): { throughId: number; groups: Array<{ row: Omit<JournalRow, 'id'>; n: number }>; moving: JournalRow[] } {
  const [[max]] = allRows<[number | null]>(db, 'select max(id) from actions', []);
  if (max === null) return { throughId: 0, groups: [], moving: [] };
  const groups = allRows<[string, string, string, string, number, number]>(
    db,
    'select policy, action, mode, state, sent_at is not null, count(*) from actions where id <= ? group by 1, 2, 3, 4, 5',
    [max],
  ).map(([policy, action, mode, state, sent, n]) => ({ row: { policy, action, mode, state, sentAt: sent ? 1 : null }, n }));
  const moving = allRows<[number, string, string, string, string, number | null]>(
    db,
    "select id, policy, action, mode, state, sent_at from actions where id <= ? and (state in ('deferred', 'sent') or (state = 'decided' and mode = 'enforce'))",
    [max],
  ).map(([id, policy, action, mode, state, sentAt]): JournalRow => ({ id, policy, action, mode, state, sentAt }));
  return { throughId: max, groups, moving };
}

/** When the guard first sent an action (epoch ms), or null. */
export function firstSentAt(db: Db): number | null {
  return allRows<[number | null]>(db, 'select min(sent_at) from actions', [])[0][0];
}

/** Every recorded instance's name, and since when it is gone (null while listed). */
export function instanceSeries(db: Db): Map<string, { name: string; goneAt: number | null }> {
  return new Map(allRows<[string, string, number | null]>(db, 'select id, name, gone_at from instances', []).map(([id, name, goneAt]) => [id, { name, goneAt }]));
}
