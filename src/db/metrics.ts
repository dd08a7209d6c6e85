/**
 * The accounting behind `/metrics`, read from SQLite: a few aggregates for gauges, the totals so far of estimated
 * spend per instance and savings per policy, and the journal rows that are new or still moving (a row's earlier
 * states, such as `deferred`, are not kept in the row, so its transitions are counted as they are seen).
 */
import { and, desc, eq, gt, inArray, isNull, isNotNull, lte, max, or, sql } from 'drizzle-orm';
import { accrued } from '../money.js';
import type { Db } from './open.js';
import { savingStretches } from './savings.js';
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

/** Estimated yuan per instance since it was first seen, open intervals accrued until `now` (intervals are never pruned). */
export function spendByInstance(db: Db, now: number): Map<string, number> {
  const end = sql`max(coalesce(${intervals.to}, ${now}), ${intervals.from})`;
  const rows = db
    .select({ instanceId: intervals.instanceId, yuan: sql<number>`sum(${intervals.rate} * (${end} - ${intervals.from})) / 3600000.0` })
    .from(intervals)
    .groupBy(intervals.instanceId)
    .all();
  return new Map(rows.map((r) => [r.instanceId, r.yuan]));
}

/** Yuan saved so far by the guard's releases, by policy, as of `now`. */
export function savedByPolicy(db: Db, now: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const s of savingStretches(db, now)) out.set(s.policy, (out.get(s.policy) ?? 0) + accrued(s.ratePerHour, s.start, s.end, -Infinity, Infinity));
  return out;
}

/** Every recorded instance's name, and since when it is gone (null while listed). */
export function instanceSeries(db: Db): Map<string, { name: string; goneAt: number | null }> {
  const rows = db.select({ id: instances.id, name: instances.name, goneAt: instances.goneAt }).from(instances).all();
  return new Map(rows.map(({ id, ...r }) => [id, r]));
}
