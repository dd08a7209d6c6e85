/** Queries on the notification outbox and alert state for display and decisions (the pipeline lives in src/notify/). */
import { and, desc, eq, gt, gte, lt, sql } from 'drizzle-orm';
import { preparedOnce } from './prepared.js';
import type { Db } from './open.js';
import { alertState, outboxEvents } from './schema.js';

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

const PLANNED = 'action_planned:';

/**
 * When each planned action still on record was first announced (situation key -> epoch ms): `action_planned`
 * alerts are keyed `action_planned:<situation key>`; only warnings from the last `withinMs` are read.
 */
export function firstWarnings(db: Db, now: number, withinMs = 30 * 86_400_000): Map<string, number> {
  const rows = preparedOnce(db, 'events.firstWarnings', () =>
    db
      .select({ key: alertState.dedupKey, firstAt: alertState.firstAt })
      .from(alertState)
      .where(and(gte(alertState.dedupKey, PLANNED), lt(alertState.dedupKey, 'action_planned;'), eq(alertState.status, 'firing'), gt(alertState.firstAt, sql.placeholder('since'))))
      .prepare(),
  ).all({ since: now - withinMs });
  return new Map(rows.map((r) => [r.key.slice(PLANNED.length), r.firstAt]));
}
