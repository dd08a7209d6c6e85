/**
 * Recording one successful observation in one transaction: latest facts per instance, status intervals
 * opened/closed only when something billable changed, the balance point (on change), instances gone from a
 * successful list, user boots after a guard release (ends savings), and journal confirmations.
 */
import { eq, isNull, desc } from 'drizzle-orm';
import type { Instance } from '../xgc/types.js';
import { reachedExpected } from '../action-kinds.js';
import { billedRate, holdsGpu } from '../money.js';
import type { Db } from './open.js';
import { allRows, runRaw } from './prepared.js';
import { actions, balancePoints, instances } from './schema.js';
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

/** `t` when it lies in [lo, hi] (a timestamp from the API checked against what the guard saw), else null. */
function within(t: number | null, lo: number, hi: number): number | null {
  return t !== null && t >= lo && t <= hi ? t : null;
}


// The two reads every tick makes of every present instance, as raw prepared statements (no per-call query
// building, rows as arrays): at a thousand instances they were most of the recording's cost through drizzle.
const OPEN_INTERVALS = 'select id, instance_id, status, gpu_kept, gpu_count, rate from intervals where to_ts is null';
const PRESENT_FACTS = `select id, name, status, status_known, gpu_model, gpu_count, price_per_hour, retain_price, image, data_center,
  web_url, created_ts, start_ts, stop_ts, last_seen, gone_at, billed_since, running_since from instances where gone_at is null`;

// Journal rows a recording may still change: sent ones, and releases within the savings cap not yet ended by a boot.
const PENDING_ACTIONS = `select id, instance_id, action, state, sent_at, decided_at, stopped_at, rebooted_at from actions
  where mode = 'enforce' and (state = 'sent' or (state = 'confirmed' and sent_at > ? and rebooted_at is null and action = 'release_gpu'))`;

// The writes for what changed, as raw prepared statements too (drizzle built and prepared each one per call).
// A fact row that exists keeps its first_seen; gone_at is cleared (an instance listed again is not gone).
const FACT_COLUMNS = 'billed_since, running_since, name, status, status_known, gpu_model, gpu_count, price_per_hour, retain_price, image, data_center, web_url, created_ts, start_ts, stop_ts, last_seen';
const UPSERT_FACTS = `insert into instances (id, first_seen, ${FACT_COLUMNS}, gone_at) values (${Array(18).fill('?').join(', ')}, null)
  on conflict (id) do update set ${FACT_COLUMNS.split(', ').map((c) => `${c} = excluded.${c}`).join(', ')}, gone_at = null`;
const CLOSE_INTERVAL = 'update intervals set to_ts = ? where id = ?';
const OPEN_INTERVAL = 'insert into intervals (instance_id, status, gpu_kept, gpu_count, rate, from_ts, to_ts) values (?, ?, ?, ?, ?, ?, null)';

/** The open interval of each instance (its current billable state). */
function openIntervals(db: Db): Map<string, { id: number; status: string; gpuKept: boolean; gpuCount: number; rate: number }> {
  const rows = allRows<[number, string, string, number, number, number]>(db, OPEN_INTERVALS, []);
  return new Map(rows.map(([id, instanceId, status, gpuKept, gpuCount, rate]) => [instanceId, { id, status, gpuKept: gpuKept !== 0, gpuCount, rate }]));
}

/** The recorded facts of every instance not marked gone, in the shape `recordObservation` compares. */
function presentFacts(db: Db) {
  type Row = [string, string, string, number, string, number, number, number, string, string, string, number | null, number | null, number | null, number, number | null, number | null, number | null];
  const rows = allRows<Row>(db, PRESENT_FACTS, []);
  return new Map(
    rows.map(([id, name, status, statusKnown, gpuModel, gpuCount, pricePerHour, retainPrice, image, dataCenter, webUrl, createdTs, startTs, stopTs, lastSeen, goneAt, billedSince, runningSince]) => [
      id,
      { name, status, statusKnown: statusKnown !== 0, gpuModel, gpuCount, pricePerHour, retainPrice, image, dataCenter, webUrl, createdTs, startTs, stopTs, lastSeen, goneAt, billedSince, runningSince },
    ]),
  );
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
        lastSeen: now,
        goneAt: null,
      };
      // Write the row only when a fact changed; last_seen of unchanged rows is bumped below in one statement.
      if (!prev || (Object.keys(facts) as Array<keyof typeof facts>).some((k) => k !== 'lastSeen' && prev[k] !== facts[k])) {
        const f = facts;
        runRaw(tx, UPSERT_FACTS, [inst.id, now, f.billedSince, f.runningSince, f.name, f.status, f.statusKnown ? 1 : 0, f.gpuModel, f.gpuCount, f.pricePerHour, f.retainPrice, f.image, f.dataCenter, f.webUrl, f.createdTs, f.startTs, f.stopTs, f.lastSeen]);
      }
      const next = { status: inst.status, gpuKept: holdsGpu(inst), rate: billedRate(inst), gpuCount: inst.gpuUsed };
      const cur = open.get(inst.id);
      if (cur && stateKey(cur) === stateKey(next)) continue;
      if (cur) {
        runRaw(tx, CLOSE_INTERVAL, [now, cur.id]);
        res.closed++;
      }
      runRaw(tx, OPEN_INTERVAL, [inst.id, next.status, next.gpuKept ? 1 : 0, next.gpuCount, next.rate, now]);
      res.opened++;
    }
    for (const [id, cur] of open) {
      if (seen.has(id)) continue;
      runRaw(tx, CLOSE_INTERVAL, [now, cur.id]);
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
    // Journal follow-ups: confirmations, and user boots after a guard release (savings end there). Only rows
    // that can still change are read: sent ones, and releases within the savings cap not yet ended by a boot.
    const pending = allRows<[number, string, string, string, number | null, number, number | null, number | null]>(tx, PENDING_ACTIONS, [now - SAVINGS_CAP_MS]).map(
      ([id, instanceId, action, state, sentAt, decidedAt, stoppedAt, rebootedAt]) => ({ id, instanceId, action, state, sentAt, decidedAt, stoppedAt, rebootedAt }),
    );
    for (const a of pending) {
      const inst = byId.get(a.instanceId);
      const prev = prevFacts.get(a.instanceId);
      const sentAt = a.sentAt ?? a.decidedAt;
      if (a.state === 'sent') {
        // Billing cannot have stopped before the request, nor before the last tick that still saw the GPU held.
        const lo = Math.max(sentAt, prev && prev.billedSince !== null ? prev.lastSeen : sentAt);
        if (reachedExpected(a.action, inst)) {
          const stoppedAt = a.action === 'shutdown' || a.action === 'boot' ? null : within(inst?.stoppedAt ?? null, lo, now) ?? now;
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
