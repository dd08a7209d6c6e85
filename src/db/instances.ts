/**
 * Queries on the recorded instances: latest facts, stretches, billed rates, cost today and one instance's timeline.
 */
import { and, asc, eq, gt, gte, inArray, isNull, lt, or } from 'drizzle-orm';
import type { Db } from './open.js';
import { actions, instances, intervals, probeChanges } from './schema.js';
import { startOf } from './calendar.js';
import { billedByInstance, openIntervals } from './billed-intervals.js';

/** The recorded stretches of each instance: since when it holds its GPU and since when it runs. */
export interface Stretches {
  billedSince: number | null;
  runningSince: number | null;
  /** start of the open interval when it is `shutdown` with the GPU kept (stopped but still billed) */
  stoppedSince: number | null;
}

/** Stretches of the given instances (instances never recorded are absent). */
export function instanceStretches(db: Db, ids: string[]): Map<string, Stretches> {
  if (ids.length === 0) return new Map();
  const stopped = new Map<string, number>();
  for (const o of openIntervals(db)) if (o.status === 'shutdown' && o.gpuKept) stopped.set(o.instanceId, o.from);
  const rows = db.select({ id: instances.id, billedSince: instances.billedSince, runningSince: instances.runningSince }).from(instances).where(inArray(instances.id, ids)).all();
  return new Map(rows.map((r) => [r.id, { billedSince: r.billedSince, runningSince: r.runningSince, stoppedSince: stopped.get(r.id) ?? null }]));
}

/** A current instance row. */
export type InstanceRow = typeof instances.$inferSelect;

/** Instances still listed by the cloud (not gone), by name (latest facts; index on `gone_at`). */
export function currentInstances(db: Db): InstanceRow[] {
  return db.select().from(instances).where(isNull(instances.goneAt)).orderBy(instances.name).all();
}

/** Yuan per hour each instance is billed at now: the rate of its open interval. */
export function openRates(db: Db): Map<string, number> {
  return new Map(openIntervals(db).map((o) => [o.instanceId, o.rate]));
}

/** Estimated yuan per instance since the start of today in `tz` until `now`. */
export function todayEstimated(db: Db, now: number, tz: string): Map<string, number> {
  return billedByInstance(db, startOf(now, 'day', tz), now, now);
}

/** Whether the guard has any record of instance `id` (facts or intervals). */
export function instanceKnown(db: Db, id: string): boolean {
  return (
    db.select({ id: instances.id }).from(instances).where(eq(instances.id, id)).get() !== undefined ||
    db.select({ id: intervals.instanceId }).from(intervals).where(eq(intervals.instanceId, id)).limit(1).get() !== undefined
  );
}

/** One instance's history in [from, to): intervals overlapping it (unclipped), journal rows and probe changes, oldest first. */
export function instanceTimeline(db: Db, id: string, from: number, to: number, limit: number) {
  return {
    intervals: db
      .select()
      .from(intervals)
      .where(and(eq(intervals.instanceId, id), lt(intervals.from, to), or(isNull(intervals.to), gt(intervals.to, from))))
      .orderBy(asc(intervals.from), asc(intervals.id))
      .limit(limit)
      .all(),
    actions: db
      .select()
      .from(actions)
      .where(and(eq(actions.instanceId, id), gte(actions.decidedAt, from), lt(actions.decidedAt, to)))
      .orderBy(asc(actions.decidedAt), asc(actions.id))
      .limit(limit)
      .all(),
    probeChanges: db
      .select()
      .from(probeChanges)
      .where(and(eq(probeChanges.instanceId, id), gte(probeChanges.at, from), lt(probeChanges.at, to)))
      .orderBy(asc(probeChanges.at), asc(probeChanges.id))
      .limit(limit)
      .all(),
  };
}
