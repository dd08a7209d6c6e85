/**
 * Recording one successful observation in one transaction: latest facts per instance, status intervals
 * opened/closed only when something billable changed (at the API's stop or start time when it fits), the balance
 * point (on change), instances gone from a successful list, user boots after a guard release (ends savings), and
 * journal confirmations.
 */
import { and, eq, gt, isNull, desc, or } from 'drizzle-orm';
import type { Instance } from '../xgc/types.js';
import { reachedExpected } from '../action-kinds.js';
import { billedRate, holdsGpu } from '../money.js';
import type { Db, DbOrTx } from './open.js';
import { actions, balancePoints, instances, intervals } from './schema.js';
import { SAVINGS_CAP_MS } from './savings.js';

/** The billable key of an instance state: an interval lasts while it is unchanged. */
function stateKey(s: { status: string; gpuKept: boolean; rate: number; gpuCount: number }): string {
  return `${s.status}|${s.gpuKept ? 1 : 0}|${s.rate}|${s.gpuCount}`;
}

/** What a recording changed (for logs, metrics and the executor). */
export interface RecordResult {
  opened: number;
  closed: number;
  gone: string[];
  balanceChanged: boolean;
  confirmed: number[];
  rebooted: string[];
  unconfirmed: number[];
}

/** How long a sent action may wait for its expected state before it is marked failed. */
export const CONFIRM_WITHIN_MS = 60 * 60_000;

/**
 * The API's timestamps are whole seconds (floored): a change stamped up to this much before the last tick that saw
 * the old state may still have happened after it.
 */
export const API_STAMP_MS = 1_000;

/**
 * When a change stamped `t` by the API happened, as the guard places it between `lo` (the last instant it saw the
 * old state) and `hi` (the tick that sees the new one): `t` when it lies in [lo - API_STAMP_MS, hi], not before
 * `lo`; null when `t` cannot belong to this change.
 */
function within(t: number | null, lo: number, hi: number): number | null {
  return t !== null && t >= lo - API_STAMP_MS && t <= hi ? Math.max(t, lo) : null;
}

/**
 * When an instance's billable state changed from `cur` to `next`, seen at `now` and last seen unchanged at `lo`:
 * the guard's destroy request, when it sent one and the instance is now destroying; the API's stop time when the
 * GPU stopped billing, or its start time when the GPU is billed again, if the stamp fits; else `now`.
 */
function changedAt(cur: { gpuKept: boolean }, next: { status: string; gpuKept: boolean }, inst: Instance, lo: number, requested: string | undefined, now: number): number {
  if (requested === 'destroy' && (next.status === 'destroying' || next.status === 'destroyed')) return Math.min(lo, now);
  if (cur.gpuKept && !next.gpuKept) return within(inst.stoppedAt, lo, now) ?? now;
  if (!cur.gpuKept && next.gpuKept) return within(inst.startedAt, lo, now) ?? now;
  return now;
}

/** The open interval of each instance (its current billable state). */
function openIntervals(db: DbOrTx): Map<string, { id: number; status: string; gpuKept: boolean; gpuCount: number; rate: number }> {
  const rows = db
    .select({ id: intervals.id, instanceId: intervals.instanceId, status: intervals.status, gpuKept: intervals.gpuKept, gpuCount: intervals.gpuCount, rate: intervals.rate })
    .from(intervals)
    .where(isNull(intervals.to))
    .all();
  return new Map(rows.map(({ instanceId, ...cur }) => [instanceId, cur]));
}

/** The recorded facts of every instance not marked gone, in the shape `recordObservation` compares. */
function presentFacts(db: DbOrTx) {
  const rows = db
    .select({
      id: instances.id,
      name: instances.name,
      status: instances.status,
      statusKnown: instances.statusKnown,
      gpuModel: instances.gpuModel,
      gpuCount: instances.gpuCount,
      pricePerHour: instances.pricePerHour,
      retainPrice: instances.retainPrice,
      image: instances.image,
      dataCenter: instances.dataCenter,
      webUrl: instances.webUrl,
      createdTs: instances.createdTs,
      startTs: instances.startTs,
      stopTs: instances.stopTs,
      lastSeen: instances.lastSeen,
      goneAt: instances.goneAt,
      billedSince: instances.billedSince,
      runningSince: instances.runningSince,
      autoShutdown: instances.autoShutdown,
      autoShutdownAction: instances.autoShutdownAction,
    })
    .from(instances)
    .where(isNull(instances.goneAt))
    .all();
  return new Map(rows.map(({ id, ...facts }) => [id, facts]));
}

/**
 * Record a successful list + balance read at `now`. Must only be called with data from successful calls:
 * an instance missing here is closed as gone. `balance` null means the balance read is not part of this record.
 */
export function recordObservation(db: Db, now: number, list: Instance[], balance: number | null): RecordResult {
  return db.transaction((tx) => {
    const res: RecordResult = { opened: 0, closed: 0, gone: [], balanceChanged: false, confirmed: [], rebooted: [], unconfirmed: [] };
    const open = openIntervals(tx);
    const prevFacts = presentFacts(tx);
    // Journal follow-ups (handled below): confirmations, and user boots after a guard release (savings end there).
    // Only rows that can still change are read: sent ones, and releases within the savings cap not yet ended by a boot.
    const pending = tx
      .select({
        id: actions.id,
        instanceId: actions.instanceId,
        action: actions.action,
        state: actions.state,
        sentAt: actions.sentAt,
        decidedAt: actions.decidedAt,
        stoppedAt: actions.stoppedAt,
        rebootedAt: actions.rebootedAt,
      })
      .from(actions)
      .where(
        and(
          eq(actions.mode, 'enforce'),
          or(eq(actions.state, 'sent'), and(eq(actions.state, 'confirmed'), gt(actions.sentAt, now - SAVINGS_CAP_MS), isNull(actions.rebootedAt), eq(actions.action, 'release_gpu'))),
        ),
      )
      .all();
    // the guard's requests awaiting confirmation per instance: a change they caused happened after them
    const requested = new Map(pending.filter((a) => a.state === 'sent').map((a) => [a.instanceId, { action: a.action, at: a.sentAt ?? a.decidedAt }]));
    const seen = new Set<string>();
    const byId = new Map<string, Instance>();
    for (const inst of list) {
      seen.add(inst.id);
      byId.set(inst.id, inst);
      const prev = prevFacts.get(inst.id);
      const holding = holdsGpu(inst);
      const facts = {
        billedSince: holding ? (prev?.billedSince ?? now) : null,
        runningSince: inst.status === 'running' ? (prev?.status === 'running' && prev.goneAt === null ? (prev.runningSince ?? now) : now) : null,
        name: inst.name,
        status: inst.status,
        statusKnown: inst.statusKnown,
        gpuModel: inst.gpuModel,
        gpuCount: inst.gpuUsed,
        pricePerHour: inst.pricePerHour,
        retainPrice: inst.retainPrice,
        image: inst.image,
        dataCenter: inst.dataCenter,
        webUrl: inst.webUrl,
        createdTs: inst.createdAt,
        startTs: inst.startedAt,
        stopTs: inst.stoppedAt,
        autoShutdown: inst.autoShutdown,
        autoShutdownAction: inst.autoShutdownAction,
        lastSeen: now,
        goneAt: null,
      };
      // Write the row only when a fact changed; last_seen of unchanged rows is bumped below in one statement.
      // A fact row that exists keeps its first_seen; gone_at is cleared (an instance listed again is not gone).
      if (!prev || (Object.keys(facts) as Array<keyof typeof facts>).some((k) => k !== 'lastSeen' && prev[k] !== facts[k]))
        tx.insert(instances).values({ id: inst.id, firstSeen: now, ...facts }).onConflictDoUpdate({ target: instances.id, set: facts }).run();
      const next = { status: inst.status, gpuKept: holdsGpu(inst), rate: billedRate(inst), gpuCount: inst.gpuUsed };
      const cur = open.get(inst.id);
      if (cur && stateKey(cur) === stateKey(next)) continue;
      const at = cur && prev ? changedAt(cur, next, inst, Math.max(prev.lastSeen, requested.get(inst.id)?.at ?? -Infinity), requested.get(inst.id)?.action, now) : now;
      if (cur) {
        tx.update(intervals).set({ to: at }).where(eq(intervals.id, cur.id)).run();
        res.closed++;
      }
      tx.insert(intervals).values({ instanceId: inst.id, ...next, from: at }).run();
      res.opened++;
    }
    for (const [id, cur] of open) {
      if (seen.has(id)) continue;
      tx.update(intervals).set({ to: now }).where(eq(intervals.id, cur.id)).run();
      tx.update(instances).set({ goneAt: now, status: 'destroyed', billedSince: null, runningSince: null }).where(eq(instances.id, id)).run();
      res.closed++;
      res.gone.push(id);
    }
    // every instance still present was seen now (gone ones were just marked above)
    tx.update(instances).set({ lastSeen: now }).where(isNull(instances.goneAt)).run();
    if (balance !== null) {
      const last = tx.select().from(balancePoints).orderBy(desc(balancePoints.at), desc(balancePoints.id)).limit(1).get();
      if (!last || Math.abs(last.balance - balance) > 1e-9) {
        tx.insert(balancePoints).values({ at: now, balance }).run();
        res.balanceChanged = true;
      }
    }
    for (const a of pending) {
      const inst = byId.get(a.instanceId);
      const prev = prevFacts.get(a.instanceId);
      const sentAt = a.sentAt ?? a.decidedAt;
      if (a.state === 'sent') {
        // Billing cannot have stopped before the request, nor before the last tick that still saw the GPU held.
        const lo = Math.max(sentAt, prev && prev.billedSince !== null ? prev.lastSeen : sentAt);
        if (reachedExpected(a.action, inst)) {
          const stoppedAt = a.action === 'shutdown' || a.action === 'boot' ? null : a.action === 'destroy' ? lo : (within(inst?.stoppedAt ?? null, lo, now) ?? now);
          tx.update(actions).set({ state: 'confirmed', finishedAt: now, stoppedAt }).where(eq(actions.id, a.id)).run();
          res.confirmed.push(a.id);
          continue;
        }
        // Released and booted again between two ticks: the API's start time is after our request, so the
        // action took effect; the user's boot ends the savings and starts a new billed stretch. Savings count
        // only what the API's stop time proves (none without it).
        if (inst && inst.startedAt !== null && inst.startedAt > sentAt && a.action !== 'destroy' && a.action !== 'boot') {
          const bootedAt = within(inst.startedAt, lo, now) ?? now;
          const release = a.action === 'release_gpu';
          tx.update(actions)
            .set({
              state: 'confirmed',
              finishedAt: bootedAt,
              stoppedAt: release ? (within(inst.stoppedAt, lo, bootedAt) ?? bootedAt) : null,
              rebootedAt: release ? bootedAt : null,
              detail: 'booted again by the user before a tick saw it stopped',
            })
            .where(eq(actions.id, a.id))
            .run();
          tx.update(instances)
            .set({ billedSince: holdsGpu(inst) ? bootedAt : null, runningSince: inst.status === 'running' ? bootedAt : null })
            .where(eq(instances.id, inst.id))
            .run();
          res.confirmed.push(a.id);
          if (release) res.rebooted.push(a.instanceId);
          continue;
        }
        if (now - sentAt > CONFIRM_WITHIN_MS) {
          tx.update(actions)
            .set({ state: 'failed', finishedAt: now, detail: `not confirmed within ${CONFIRM_WITHIN_MS / 60_000}m (status ${inst?.status ?? 'gone'})` })
            .where(eq(actions.id, a.id))
            .run();
          res.unconfirmed.push(a.id);
        }
        continue;
      }
      if (a.action === 'release_gpu' && a.rebootedAt === null && inst && holdsGpu(inst)) {
        // The GPU is billed again: since the boot's start time if the API gives a plausible one (after the
        // release stopped billing and after the last tick that saw it released), else since this tick.
        const lo = Math.max(a.stoppedAt ?? sentAt, prev && prev.billedSince === null ? prev.lastSeen : sentAt);
        tx.update(actions).set({ rebootedAt: within(inst.startedAt, lo, now) ?? now }).where(eq(actions.id, a.id)).run();
        res.rebooted.push(a.instanceId);
      }
    }
    return res;
  });
}
