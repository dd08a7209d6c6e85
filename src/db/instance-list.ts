/**
 * The database side of the instance list (`GET /api/v1/instances`, the dashboard): the instances not gone, the
 * rate each is billed at now, and what each cost since local midnight — each one indexed read whatever the history.
 */
import { isNull } from 'drizzle-orm';
import type { Db } from './open.js';
import { instances } from './schema.js';
import { startOf } from './calendar.js';
import { allRows } from './prepared.js';
import { estimatedByInstance } from './spend.js';

/** A current instance row. */
export type InstanceRow = typeof instances.$inferSelect;

/** Instances still listed by the cloud (not gone), by name (index on `gone_at`). */
export function currentInstances(db: Db): InstanceRow[] {
  return db.select().from(instances).where(isNull(instances.goneAt)).orderBy(instances.name).all();
}

/** Yuan per hour each instance is billed at now: the rate of its open interval (index on `to_ts`). */
export function openRates(db: Db): Map<string, number> {
  return new Map(allRows<[string, number]>(db, 'select instance_id, rate from intervals where to_ts is null', []));
}

/** Estimated yuan per instance since the start of today in `tz` until `now`. */
export function todayEstimated(db: Db, now: number, tz: string): Map<string, number> {
  return estimatedByInstance(db, startOf(now, 'day', tz), now);
}
