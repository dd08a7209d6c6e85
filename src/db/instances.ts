/**
 * Queries on the recorded instances: latest facts, stretches, billed rates, cost today and one instance's timeline;
 * the instance list's reads are each one indexed read whatever the history.
 */
import { and, asc, eq, gt, gte, isNull, lt, or } from 'drizzle-orm';
import type { Db } from './open.js';
import { actions, instances, intervals, probeChanges } from './schema.js';
import { startOf } from './calendar.js';
import { allRows, keptWhileUnchanged } from './prepared.js';
import { accruedUntilNow, openIntervals } from './billed-intervals.js';

/** The recorded stretches of each instance: since when it holds its GPU and since when it runs. */
export interface Stretches {
  billedSince: number | null;
  runningSince: number | null;
  /** start of the open interval when it is `shutdown` with the GPU kept (stopped but still billed) */
  stoppedSince: number | null;
}

// one JSON array parameter instead of one placeholder per id: prepared once, whatever the number of instances
const STRETCHES = 'select id, billed_since, running_since from instances where id in (select value from json_each(?))';
const STOPPED_WITH_GPU = "select instance_id, from_ts from intervals where to_ts is null and status = 'shutdown' and gpu_kept = 1 and instance_id in (select value from json_each(?))";
// The instances the cloud lists now are those not gone (index on `gone_at`): a whole list is read that way, and only
// ids not among them (new, or back after being gone) through the id list.
const STRETCHES_CURRENT = 'select id, billed_since, running_since from instances where gone_at is null';
/** From this many ids on, the current instances are read whole instead of by id. */
const WHOLE_LIST_FROM = 32;

/** Stretches of the given instances (instances never recorded are absent). */
export function instanceStretches(db: Db, ids: string[]): Map<string, Stretches> {
  if (ids.length === 0) return new Map();
  const wanted = new Set(ids);
  const whole = ids.length >= WHOLE_LIST_FROM;
  const stopped = whole ? stoppedWithGpu(db) : new Map(allRows<[string, number]>(db, STOPPED_WITH_GPU, [JSON.stringify(ids)]));
  const out = new Map<string, Stretches>();
  const add = ([id, billedSince, runningSince]: [string, number | null, number | null]) => {
    if (wanted.has(id)) out.set(id, { billedSince, runningSince, stoppedSince: stopped.get(id) ?? null });
  };
  if (!whole) {
    for (const r of allRows<[string, number | null, number | null]>(db, STRETCHES, [JSON.stringify(ids)])) add(r);
    return out;
  }
  // kept between ticks: every view of the instance list reads the same thousand rows until the next tick writes
  for (const r of keptWhileUnchanged(db, 'instances', STRETCHES_CURRENT, () => allRows<[string, number | null, number | null]>(db, STRETCHES_CURRENT, []))) add(r);
  const rest = ids.filter((id) => !out.has(id));
  if (rest.length) for (const r of allRows<[string, number | null, number | null]>(db, STRETCHES, [JSON.stringify(rest)])) add(r);
  return out;
}

/** Since when each instance shut down with its GPU kept (still billed) has been so: its open interval's start. */
function stoppedWithGpu(db: Db): Map<string, number> {
  const out = new Map<string, number>();
  for (const o of openIntervals(db)) if (o.status === 'shutdown' && o.gpuKept) out.set(o.instanceId, o.from);
  return out;
}

/** A current instance row. */
export type InstanceRow = typeof instances.$inferSelect;

/** Instances still listed by the cloud (not gone), by name (latest facts; index on `gone_at`). */
export function currentInstances(db: Db): InstanceRow[] {
  return db.select().from(instances).where(isNull(instances.goneAt)).orderBy(instances.name).all();
}

/** What the instance list shows of a current instance's recorded facts. */
export interface ListedInstance {
  id: string;
  name: string;
  status: string;
  gpuModel: string;
  gpuCount: number;
  pricePerHour: number;
  lastSeen: number;
}

const LISTED = 'select id, name, status, gpu_model, gpu_count, price_per_hour, last_seen from instances where gone_at is null order by name';

/**
 * `currentInstances` with only the columns the instance list shows (no row objects built for the other twelve), kept
 * until the table changes (the next tick): shared between callers, frozen.
 */
export function listedInstances(db: Db): readonly Readonly<ListedInstance>[] {
  return keptWhileUnchanged(db, 'instances', LISTED, () =>
    Object.freeze(
      allRows<[string, string, string, string, number, number, number]>(db, LISTED, []).map(([id, name, status, gpuModel, gpuCount, pricePerHour, lastSeen]) =>
        Object.freeze({ id, name, status, gpuModel, gpuCount, pricePerHour, lastSeen }),
      ),
    ),
  );
}

/** Yuan per hour each instance is billed at now: the rate of its open interval. */
export function openRates(db: Db): Map<string, number> {
  return new Map(openIntervals(db).map((o) => [o.instanceId, o.rate]));
}

/** Estimated yuan per instance since the start of today in `tz` until `now`. */
export function todayEstimated(db: Db, now: number, tz: string): Map<string, number> {
  return accruedUntilNow(db, startOf(now, 'day', tz), now, 'today');
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
