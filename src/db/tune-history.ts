/**
 * The recorded history `xgc-guard tune` replays, per instance: its status intervals, its probes' history (verdict
 * and idle start, from probe_changes), the guard's confirmed releases, and the tick times (the guard acts only at a
 * tick). Read-only; nothing here judges idleness (src/policies/tune.ts does).
 */
import { and, asc, eq, gt, gte, inArray, isNotNull, isNull, lt, min, or } from 'drizzle-orm';
import type { Db } from './open.js';
import { actions, instances, intervals, probeChanges, ticks } from './schema.js';

/** One instance's recorded history over a range. */
export interface InstanceHistory {
  id: string;
  name: string;
  gpuModel: string;
  /** ¥/h billed for the disk after a GPU release */
  retainPrice: number;
  goneAt: number | null;
  intervals: Array<{ status: string; gpuKept: boolean; rate: number; from: number; to: number | null }>;
  /** the probes' history in order; `since` null in rows recorded before it was kept */
  probes: Array<{ probe: string; verdict: string; at: number; since: number | null }>;
  /** the guard's confirmed, enforced GPU releases and destroys */
  releases: Array<{ action: string; sentAt: number; stoppedAt: number | null; rebootedAt: number | null }>;
}

/** The histories of every instance with a status interval overlapping [from, to), and the ok tick times in it. */
export function tuneHistory(db: Db, from: number, to: number): { instances: InstanceHistory[]; ticks: number[] } {
  const ivs = db
    .select()
    .from(intervals)
    .where(and(lt(intervals.from, to), or(isNull(intervals.to), gt(intervals.to, from))))
    .orderBy(asc(intervals.instanceId), asc(intervals.from), asc(intervals.id))
    .all();
  const ids = [...new Set(ivs.map((i) => i.instanceId))];
  if (ids.length === 0) return { instances: [], ticks: [] };
  const facts = db.select().from(instances).where(inArray(instances.id, ids)).all();
  const probes = db
    .select({ instanceId: probeChanges.instanceId, probe: probeChanges.probe, verdict: probeChanges.verdict, at: probeChanges.at, since: probeChanges.since })
    .from(probeChanges)
    .where(and(inArray(probeChanges.instanceId, ids), lt(probeChanges.at, to)))
    .orderBy(asc(probeChanges.at), asc(probeChanges.id))
    .all();
  const rels = db
    .select({ instanceId: actions.instanceId, action: actions.action, sentAt: actions.sentAt, stoppedAt: actions.stoppedAt, rebootedAt: actions.rebootedAt })
    .from(actions)
    .where(and(inArray(actions.instanceId, ids), eq(actions.mode, 'enforce'), eq(actions.state, 'confirmed'), inArray(actions.action, ['release_gpu', 'destroy']), isNotNull(actions.sentAt), lt(actions.sentAt, to)))
    .orderBy(asc(actions.sentAt))
    .all();
  const tickTimes = db
    .select({ at: ticks.at })
    .from(ticks)
    .where(and(gte(ticks.at, from), lt(ticks.at, to), eq(ticks.outcome, 'ok')))
    .orderBy(asc(ticks.at))
    .all()
    .map((t) => t.at);
  const byId = new Map<string, InstanceHistory>();
  for (const id of ids) {
    const f = facts.find((x) => x.id === id);
    byId.set(id, { id, name: f?.name ?? '', gpuModel: f?.gpuModel ?? '', retainPrice: f?.retainPrice ?? 0, goneAt: f?.goneAt ?? null, intervals: [], probes: [], releases: [] });
  }
  for (const i of ivs) byId.get(i.instanceId)!.intervals.push({ status: i.status, gpuKept: i.gpuKept, rate: i.rate, from: i.from, to: i.to });
  for (const p of probes) byId.get(p.instanceId)!.probes.push({ probe: p.probe, verdict: p.verdict, at: p.at, since: p.since });
  for (const r of rels) byId.get(r.instanceId)!.releases.push({ action: r.action, sentAt: r.sentAt!, stoppedAt: r.stoppedAt, rebootedAt: r.rebootedAt });
  return { instances: [...byId.values()], ticks: tickTimes };
}

/** When the recorded probe history begins (its first row before `to`), or null when there is none. */
export function firstProbeChange(db: Db, to: number): number | null {
  return db.select({ at: min(probeChanges.at) }).from(probeChanges).where(lt(probeChanges.at, to)).get()?.at ?? null;
}
