/**
 * Retention: raw rows older than `db.retain_raw` are pruned — tick rows and the probe history (verdict changes and
 * moved idle starts: what `xgc-guard tune` replays, so it reaches back that far; the current verdict per probe stays
 * in probe_state, as long as its instance is listed); intervals, balance points and the journal are kept.
 */
import { and, isNull, lt, notInArray } from 'drizzle-orm';
import type { Db } from '../db/open.js';
import { instances, probeChanges, probeState, ticks } from '../db/schema.js';

/**
 * Delete tick rows and probe changes older than `now - retainMs`, and the last answers of instances no longer listed
 * that were checked before then (no policy judges an instance it does not list, and one listed again is probed again;
 * without an answer it is never idle). Returns how many rows were removed.
 */
export function pruneRaw(db: Db, now: number, retainMs: number): number {
  const before = now - retainMs;
  const t = db.delete(ticks).where(lt(ticks.at, before)).run();
  const p = db.delete(probeChanges).where(lt(probeChanges.at, before)).run();
  const listed = db.select({ id: instances.id }).from(instances).where(isNull(instances.goneAt));
  const s = db.delete(probeState).where(and(lt(probeState.checkedAt, before), notInArray(probeState.instanceId, listed))).run();
  return t.changes + p.changes + s.changes;
}
