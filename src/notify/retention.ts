/** Outbox retention: drop old events whose deliveries are all finished (sent or dead). */
import { and, lt, notExists, eq, sql } from 'drizzle-orm';
import { outboxDeliveries, outboxEvents } from '../db/schema.js';
import type { NotifyDb } from './types.js';

/** Delete events created before `before` with no pending delivery (their deliveries cascade). Returns the count. */
export function pruneOutbox(db: NotifyDb, before: number): number {
  const pending = db
    .select({ one: sql`1` })
    .from(outboxDeliveries)
    .where(and(eq(outboxDeliveries.eventId, outboxEvents.id), eq(outboxDeliveries.state, 'pending')));
  const rows = db.delete(outboxEvents).where(and(lt(outboxEvents.createdAt, before), notExists(pending))).returning({ id: outboxEvents.id }).all();
  return rows.length;
}
