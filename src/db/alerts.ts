/**
 * Reads behind the dashboard's alerts panel: alert states with the newest outbox event of each, failed actions from
 * the journal, and given-up notification deliveries per channel. Reads only; the pipeline lives in src/notify/.
 */
import { and, desc, eq, gte, inArray, max, min, notInArray, or, sql } from 'drizzle-orm';
import type { Db } from './open.js';
import { actions, alertState, outboxDeliveries, outboxEvents } from './schema.js';

/** Event types that are one-off reports, not conditions that fire and resolve. */
const NOT_ALERTS = ['action_planned', 'action_taken', 'action_failed', 'action_aborted', 'guard_recovered', 'wake_done', 'daily_digest'];

/** An alert state row with the newest outbox event stored under its key (payload JSON), if any. */
export interface AlertRow {
  key: string;
  type: string;
  status: string;
  firstAt: number;
  lastSentAt: number;
  /** the latest firing observation (payload JSON), null when none was stored */
  latest: string | null;
  event: { type: string; dedupKey: string; payload: string; createdAt: number } | null;
}

/** Every firing alert and those resolved since `resolvedSince` (alert types only, not one-off reports). */
export function alertRows(db: Db, resolvedSince: number): AlertRow[] {
  const states = db
    .select()
    .from(alertState)
    .where(and(notInArray(alertState.type, NOT_ALERTS), or(eq(alertState.status, 'firing'), gte(alertState.lastSentAt, resolvedSince))))
    .all();
  if (!states.length) return [];
  const keys = states.map((s) => s.dedupKey);
  const newest = db
    .select({ id: max(outboxEvents.id) })
    .from(outboxEvents)
    .where(inArray(outboxEvents.dedupKey, keys))
    .groupBy(outboxEvents.dedupKey)
    .all()
    .map((r) => r.id)
    .filter((id): id is number => id !== null);
  const events = newest.length ? db.select().from(outboxEvents).where(inArray(outboxEvents.id, newest)).all() : [];
  const byKey = new Map(events.map((e) => [e.dedupKey, e]));
  return states.map((s) => {
    const e = byKey.get(s.dedupKey);
    return {
      key: s.dedupKey,
      type: s.type,
      status: s.status,
      firstAt: s.firstAt,
      lastSentAt: s.lastSentAt,
      latest: s.latest,
      event: e ? { type: e.type, dedupKey: e.dedupKey, payload: e.payload, createdAt: e.createdAt } : null,
    };
  });
}

/** Journal rows that failed since `since`, newest first (at most `limit`). */
export function failedActionsSince(db: Db, since: number, limit = 20) {
  return db
    .select()
    .from(actions)
    .where(and(eq(actions.state, 'failed'), gte(actions.decidedAt, since)))
    .orderBy(desc(actions.decidedAt))
    .limit(limit)
    .all();
}

/** Given-up deliveries per channel: how many, and when the oldest and newest of their events were raised. */
export function deadDeliveriesByChannel(db: Db): Array<{ channel: string; count: number; firstAt: number; lastAt: number }> {
  return db
    .select({ channel: outboxDeliveries.channel, count: sql<number>`count(*)`, firstAt: min(outboxEvents.createdAt), lastAt: max(outboxEvents.createdAt) })
    .from(outboxDeliveries)
    .innerJoin(outboxEvents, eq(outboxEvents.id, outboxDeliveries.eventId))
    .where(eq(outboxDeliveries.state, 'dead'))
    .groupBy(outboxDeliveries.channel)
    .all()
    .map((r) => ({ channel: r.channel, count: Number(r.count), firstAt: Number(r.firstAt ?? 0), lastAt: Number(r.lastAt ?? 0) }));
}
