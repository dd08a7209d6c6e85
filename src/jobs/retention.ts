/**
 * Retention: raw rows older than `db.retain_raw` are pruned — tick rows and probe verdict changes (the current
 * verdict per probe stays in probe_state); intervals, balance points and the journal are kept.
 */
import { lt } from '../db/orm.js';
import type { Db } from '../db/open.js';
import { probeChanges, ticks } from '../db/schema.js';

/** Delete tick rows and probe changes older than `now - retainMs`. Returns how many rows were removed. */
export function pruneRaw(db: Db, now: number, retainMs: number): number {
  const t = db.delete(ticks).where(lt(ticks.at, now - retainMs)).run();
  const p = db.delete(probeChanges).where(lt(probeChanges.at, now - retainMs)).run();
  return t.changes + p.changes;
}
