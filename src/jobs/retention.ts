/** Retention: raw tick rows older than `db.retain_raw` are pruned; intervals and balance points are kept. */
import { lt } from 'drizzle-orm';
import type { Db } from '../db/open.js';
import { ticks } from '../db/schema.js';

/** Delete tick rows older than `now - retainMs`. Returns how many were removed. */
export function pruneRaw(db: Db, now: number, retainMs: number): number {
  const res = db.delete(ticks).where(lt(ticks.at, now - retainMs)).run();
  return res.changes;
}
