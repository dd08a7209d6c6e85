/** Queries on the action journal (and the boots the recorder saw) that the core needs besides the executor's own bookkeeping. */
import { and, desc, eq, gt, isNotNull, lt, ne, or, sql, type SQL } from 'drizzle-orm';
import { alias } from 'drizzle-orm/sqlite-core';
import { preparedOnce } from './prepared.js';
import type { Db } from './open.js';
import { actions, intervals } from './schema.js';

/**
 * Instances booted again, by anyone, left alone until the cooldown ends (id -> until): a boot the recorder saw (a
 * stretch holding the GPU right after a shut-down one), a user boot after a guard release (also one no tick saw
 * shut down), and a guard wake's boot request.
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
  // the recorded stretches: one holding the GPU that began where a shut-down one ended
  const prior = alias(intervals, 'prior');
  const seen = preparedOnce(db, 'intervals.booted', () =>
    db
      .select({ instanceId: intervals.instanceId, rebootedAt: intervals.from })
      .from(intervals)
      .innerJoin(prior, and(eq(prior.instanceId, intervals.instanceId), eq(prior.to, intervals.from)))
      .where(and(gt(intervals.from, sql.placeholder('since')), eq(intervals.gpuKept, true), ne(intervals.status, 'shutdown'), eq(prior.status, 'shutdown')))
      .prepare(),
  ).all({ since });
  const m = new Map<string, number>();
  for (const r of [...rows, ...boots, ...seen]) m.set(r.instanceId, Math.max(m.get(r.instanceId) ?? 0, r.rebootedAt! + cooldownMs));
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
