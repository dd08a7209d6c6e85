/**
 * Queries on wakes (src/wake/): the wake rows with their journal row in `actions`, the try log, the last GPU
 * count an instance held, and the latest wake per instance as the instance list shows it.
 */
import { and, desc, eq, gt, inArray, isNotNull, or, sql } from 'drizzle-orm';
import { preparedOnce } from './prepared.js';
import type { Db, DbOrTx } from './open.js';
import { actions, intervals, wakeTries, wakes } from './schema.js';

/** A wake row. */
export type WakeRow = typeof wakes.$inferSelect;
/** A try row. */
export type WakeTryRow = typeof wakeTries.$inferSelect;

/** The states of a wake: waiting for a (next) try, booting (the boot was accepted), or finished. */
export const WAKE_STATES = ['waiting', 'booting', 'done', 'gave_up', 'refused'] as const;
/** One wake state. */
export type WakeState = (typeof WAKE_STATES)[number];

/** The wake journaled as action `id`, or undefined. */
export function wakeById(db: DbOrTx, id: number): WakeRow | undefined {
  return db.select().from(wakes).where(eq(wakes.actionId, id)).get();
}

/** Wakes still in progress (waiting or booting), oldest first. */
export function openWakes(db: DbOrTx): WakeRow[] {
  return db.select().from(wakes).where(inArray(wakes.state, ['waiting', 'booting'])).orderBy(wakes.actionId).all();
}

/** The wake in progress for an instance, if any. */
export function openWakeOf(db: DbOrTx, instanceId: string): WakeRow | undefined {
  return db
    .select()
    .from(wakes)
    .where(and(eq(wakes.instanceId, instanceId), inArray(wakes.state, ['waiting', 'booting'])))
    .get();
}

/** Tries left `sending` (journaled, answer not journaled): a crash between the two, or one in flight now. */
export function sendingTries(db: DbOrTx): WakeTryRow[] {
  return db.select().from(wakeTries).where(eq(wakeTries.outcome, 'sending')).orderBy(wakeTries.id).all();
}

/** Every try of a wake, in order. */
export function triesOf(db: DbOrTx, actionId: number): WakeTryRow[] {
  return db.select().from(wakeTries).where(eq(wakeTries.actionId, actionId)).orderBy(wakeTries.n).all();
}

/** Whether a journal row with this decision key exists (a scheduled wake fires once per cron occurrence). */
export function decisionExists(db: DbOrTx, key: string): boolean {
  return db.select({ id: actions.id }).from(actions).where(eq(actions.decisionKey, key)).get() !== undefined;
}

/** The journal state of action `id`. */
export function journalState(db: DbOrTx, id: number): string | undefined {
  return db.select({ state: actions.state }).from(actions).where(eq(actions.id, id)).get()?.state;
}

/** The GPU count the instance last held (from its recorded intervals), or null if it never held one. */
export function lastGpuCount(db: DbOrTx, instanceId: string): number | null {
  const r = db
    .select({ n: intervals.gpuCount })
    .from(intervals)
    .where(and(eq(intervals.instanceId, instanceId), gt(intervals.gpuCount, 0)))
    .orderBy(desc(intervals.from))
    .limit(1)
    .get();
  return r?.n ?? null;
}

/** Wakes of these instances in progress, or finished since `since`, newest first. */
export function recentWakes(db: Db, since: number): WakeRow[] {
  return preparedOnce(db, 'wakes.recent', () =>
    db
      .select()
      .from(wakes)
      .where(or(inArray(wakes.state, ['waiting', 'booting']), and(isNotNull(wakes.finishedAt), gt(wakes.finishedAt, sql.placeholder('since')))))
      .orderBy(desc(wakes.requestedAt), desc(wakes.actionId))
      .prepare(),
  ).all({ since });
}
