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

/** The current blind spell: how many blind ticks in a row, since when, why, and when the account was last seen. */
export interface BlindSpell {
  ticks: number;
  /** the first blind tick of the spell (epoch ms) */
  since: number;
  /** the error class of the newest blind tick (`auth`, `network`, `timeout`, ...) */
  reason: string;
  /** the last successful observation before the spell, or null when there never was one */
  lastOkAt: number | null;
}

/** The blind spell going on now (the same rule as `blindStreak`), or null when the newest tick saw the account. */
export function blindSpell(db: DbOrTx, lookback = 1000): BlindSpell | null {
  const recent = db.select({ at: ticks.at, outcome: ticks.outcome, errorClass: ticks.errorClass }).from(ticks).orderBy(desc(ticks.id)).limit(lookback).all();
  let spell: BlindSpell | null = null;
  for (const r of recent) {
    if (r.outcome === 'skipped') continue;
    if (r.outcome !== 'blind') {
      if (spell) spell.lastOkAt = r.at;
      break;
    }
    if (!spell) spell = { ticks: 0, since: r.at, reason: r.errorClass ?? 'unknown', lastOkAt: null };
    spell.ticks++;
    spell.since = r.at;
  }
  return spell;
}
