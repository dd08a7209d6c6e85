/** Queries on the notification outbox for display (the pipeline itself lives in src/notify/). */
import { and, desc, eq, lt } from 'drizzle-orm';
import type { Db } from './open.js';
import { outboxEvents } from './schema.js';

/** Outbox events, newest first: at most `limit`, optionally one type, and only ids below `before`. */
export function recentEvents(db: Db, q: { limit: number; type?: string; before?: number }) {
  return db
    .select()
    .from(outboxEvents)
    .where(and(q.type ? eq(outboxEvents.type, q.type) : undefined, q.before ? lt(outboxEvents.id, q.before) : undefined))
    .orderBy(desc(outboxEvents.id))
    .limit(q.limit)
    .all();
}
