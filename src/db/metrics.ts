/**
 * The queries behind `/metrics`: a few aggregates for gauges, and incremental reads (rows after a watermark
 * id, plus the rows still open) so counters advance by what changed instead of being rebuilt each scrape.
 */
import { and, desc, eq, gt, inArray, isNull, isNotNull, lte, max, min, or, sql } from 'drizzle-orm';
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

/**
 * Where a fresh process starts counting spend: the closed intervals' yuan per instance, summed inside SQLite, the
 * intervals still open, and the highest interval id covered. Later rows come from {@link intervalRowsSince}.
 */
export function spendSeed(db: Db): { throughId: number; closed: Map<string, number>; open: IntervalRow[] } {
  const top = db.select({ id: max(intervals.id) }).from(intervals).get()?.id ?? null;
  if (top === null) return { throughId: 0, closed: new Map(), open: [] };
  const sums = db
    .select({ instanceId: intervals.instanceId, yuan: sql<number>`sum(${intervals.rate} * (${intervals.to} - ${intervals.from})) / 3600000.0` })
    .from(intervals)
    .where(and(lte(intervals.id, top), gt(intervals.to, intervals.from)))
    .groupBy(intervals.instanceId)
    .all();
  const open = db
    .select({ id: intervals.id, instanceId: intervals.instanceId, rate: intervals.rate, from: intervals.from, to: intervals.to })
    .from(intervals)
    .where(and(lte(intervals.id, top), isNull(intervals.to)))
    .all();
  return { throughId: top, closed: new Map(sums.map((r) => [r.instanceId, r.yuan])), open };
}

/**
 * Where a fresh process starts counting journal transitions: rows with id up to `throughId` grouped by what the
 * counters look at (with how many share it), and, among them, the rows that may still move (tracked one by one).
 */
export function journalSeed(db: Db): { throughId: number; groups: Array<{ row: Omit<JournalRow, 'id'>; n: number }>; moving: JournalRow[] } {
  const top = db.select({ id: max(actions.id) }).from(actions).get()?.id ?? null;
  if (top === null) return { throughId: 0, groups: [], moving: [] };
  const sent = isNotNull(actions.sentAt);
  const groups = db
    .select({ policy: actions.policy, action: actions.action, mode: actions.mode, state: actions.state, sent: sql<number>`${sent}`, n: sql<number>`count(*)` })
    .from(actions)
    .where(lte(actions.id, top))
    .groupBy(actions.policy, actions.action, actions.mode, actions.state, sent)
    .all()
    .map(({ n, sent, ...r }) => ({ row: { ...r, sentAt: sent ? 1 : null }, n }));
  const moving = db
    .select({ id: actions.id, policy: actions.policy, action: actions.action, mode: actions.mode, state: actions.state, sentAt: actions.sentAt })
    .from(actions)
    .where(and(lte(actions.id, top), or(inArray(actions.state, ['deferred', 'sent']), and(eq(actions.state, 'decided'), eq(actions.mode, 'enforce')))))
    .all();
  return { throughId: top, groups, moving };
}

/** When the guard first sent an action (epoch ms), or null. */
export function firstSentAt(db: Db): number | null {
  return db.select({ at: min(actions.sentAt) }).from(actions).get()?.at ?? null;
}

/** Every recorded instance's name, and since when it is gone (null while listed). */
export function instanceSeries(db: Db): Map<string, { name: string; goneAt: number | null }> {
  const rows = db.select({ id: instances.id, name: instances.name, goneAt: instances.goneAt }).from(instances).all();
  return new Map(rows.map(({ id, ...r }) => [id, r]));
}
