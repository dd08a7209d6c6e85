/** Queries on the tick log: the one rule for a blind streak, and the last ticks. */
import { desc } from 'drizzle-orm';
import type { Db, DbOrTx } from './open.js';
import { ticks } from './schema.js';

/** Outcomes a tick row can have. */
export type TickOutcome = 'ok' | 'blind' | 'skipped';

/**
 * Consecutive blind ticks up to now: blind rows counted from the newest back to the first successful one.
 * A skipped firing (the previous tick still running) neither counts nor breaks the streak.
 */
export function blindStreak(db: DbOrTx, lookback = 1000): number {
  const recent = db.select({ outcome: ticks.outcome }).from(ticks).orderBy(desc(ticks.id)).limit(lookback).all();
  let n = 0;
  for (const r of recent) {
    if (r.outcome === 'skipped') continue;
    if (r.outcome !== 'blind') break;
    n++;
  }
  return n;
}

/** The newest tick that was not skipped, or null. */
export function lastTick(db: Db): { at: number; outcome: string; errorClass: string | null } | null {
  const recent = db.select().from(ticks).orderBy(desc(ticks.id)).limit(100).all();
  const t = recent.find((r) => r.outcome !== 'skipped');
  return t ? { at: t.at, outcome: t.outcome, errorClass: t.errorClass } : null;
}
