/** Queries on the action journal that the core needs besides the executor's own bookkeeping. */
import { and, desc, eq, gt, isNotNull, lt, or, sql, type SQL } from 'drizzle-orm';
import { preparedOnce } from './prepared.js';
import type { Db } from './open.js';
import { actions } from './schema.js';

/**
 * Instances booted again after a guard release (by the user) or by a guard wake, left alone until the cooldown
 * ends (id -> until).
 */
export function cooldownsAfterBoot(db: Db, now: number, cooldownMs: number): Map<string, number> {
  const since = now - cooldownMs;
  const rows = preparedOnce(db, 'journal.rebooted', () =>
    db
      .select({ instanceId: actions.instanceId, rebootedAt: actions.rebootedAt })
      .from(actions)
      .where(and(eq(actions.mode, 'enforce'), isNotNull(actions.rebootedAt), gt(actions.rebootedAt, sql.placeholder('since'))))
      .prepare(),
  ).all({ since });
  // a guard wake's boot request (src/wake/): sent, then confirmed running
  const boots = preparedOnce(db, 'journal.woken', () =>
    db
      .select({ instanceId: actions.instanceId, rebootedAt: actions.sentAt })
      .from(actions)
      .where(and(eq(actions.mode, 'enforce'), eq(actions.action, 'boot'), isNotNull(actions.sentAt), gt(actions.sentAt, sql.placeholder('since'))))
      .prepare(),
  ).all({ since });
  const m = new Map<string, number>();
  for (const r of [...rows, ...boots]) m.set(r.instanceId, Math.max(m.get(r.instanceId) ?? 0, r.rebootedAt! + cooldownMs));
  return m;
}

/** Filters of a journal page; `after` is the (decided_at, id) position of the previous page's last row. */
export interface JournalFilter {
  instanceId?: string;
  policy?: string;
  state?: string;
  after?: { at: number; id: number };
}

/** Journal rows, newest first, matching `f`: at most `limit`. */
export function journalPage(db: Db, f: JournalFilter, limit: number) {
  const where: Array<SQL | undefined> = [
    f.instanceId ? eq(actions.instanceId, f.instanceId) : undefined,
    f.policy ? eq(actions.policy, f.policy) : undefined,
    f.state ? eq(actions.state, f.state) : undefined,
    f.after ? or(lt(actions.decidedAt, f.after.at), and(eq(actions.decidedAt, f.after.at), lt(actions.id, f.after.id))) : undefined,
  ];
  return db
    .select()
    .from(actions)
    .where(and(...where))
    .orderBy(desc(actions.decidedAt), desc(actions.id))
    .limit(limit)
    .all();
}
