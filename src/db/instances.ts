/** Queries on the recorded instances: latest facts, stretches, billed rates and one instance's timeline. */
import { and, asc, eq, gt, gte, inArray, isNull, lt, or } from 'drizzle-orm';
import type { Db } from './open.js';
import { actions, instances, intervals, probeChanges } from './schema.js';

/** The recorded stretches of each instance: since when it holds its GPU and since when it runs. */
export interface Stretches {
  billedSince: number | null;
  runningSince: number | null;
}

/** Stretches of the given instances (instances never recorded are absent). */
export function instanceStretches(db: Db, ids: string[]): Map<string, Stretches> {
  if (ids.length === 0) return new Map();
  const rows = db
    .select({ id: instances.id, billedSince: instances.billedSince, runningSince: instances.runningSince })
    .from(instances)
    .where(inArray(instances.id, ids))
    .all();
  return new Map(rows.map((r) => [r.id, { billedSince: r.billedSince, runningSince: r.runningSince }]));
}

/** The recorded instances that are not gone, by name (latest facts). */
export function currentInstances(db: Db) {
  return db.select().from(instances).where(isNull(instances.goneAt)).orderBy(instances.name).all();
}

/** ¥/h billed right now per instance: the rate of its open interval. */
export function openRates(db: Db): Map<string, number> {
  return new Map(db.select({ id: intervals.instanceId, rate: intervals.rate }).from(intervals).where(isNull(intervals.to)).all().map((r) => [r.id, r.rate]));
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
