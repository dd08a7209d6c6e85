/**
 * The action executor and its rails. Every decision is journaled before anything is sent
 * (decided -> sent -> confirmed | failed | aborted, or deferred when a limit is reached); right before acting
 * the instance is re-read and the action aborted if its state changed, an override appeared, the keep marker
 * was added, or (for idle decisions) it is busy now. Overrides (snooze, exempt) pause the guard's own policies:
 * an explicit act-now by a person (policy `api`) is not held back by them, while `#keep` still refuses it.
 * A failed request is never retried blindly.
 */
import { backoff } from '../backoff.js';
import { and, eq, gt, gte, inArray, lt, or, sql } from 'drizzle-orm';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { ActionKind, Config } from '../config/schema.js';
import type { Db } from '../db/open.js';
import { actions } from '../db/schema.js';
import { ACTION_KINDS, actionKind, actionSavingPerHour } from '../action-kinds.js';
import { SEND } from './send.js';
import { activeOverrides } from '../db/overrides.js';
import { raise, type EventData, type GuardEvent } from '../notify/index.js';
import { hasKeepMarker, overrideMatches } from '../policies/selector.js';
import { parseReasonCode, type ReasonCode } from '../notify/reasons.js';
import type { InstanceState } from '../policies/types.js';
import { XgcActionUncertain, XgcApiError, XgcError, errorClass, type XgcClient } from '../xgc/index.js';
import type { Instance, InstanceAccess } from '../xgc/types.js';

/** A decision turned into a request to the executor. */
export interface ActRequest {
  /** idempotency key from the policy */
  key: string;
  policy: string;
  action: ActionKind;
  instance: InstanceState;
  reason: string;
  /** the reason as a code (journaled; rendered in each reader's locale) */
  reasonCode?: ReasonCode;
  requireIdle: boolean;
  dryRun: boolean;
  /** 'policy', 'api:<name>' (act-now), ... */
  who: string;
  /** notification routing (policy channels); undefined = all */
  channels?: string[];
  /** events to raise when the action is sent */
  events?: GuardEvent[];
  /** the probes whose opinion counts for the busy re-check */
  probes?: string[];
  /** the decision saw the GPU idle: acting needs a fresh GPU sample that still says so */
  requireGpu?: boolean;
  /** a last-resort release before the platform destroys everything: `#keep` and overrides do not hold it back */
  lastResort?: boolean;
}

/** What happened to a request. */
export interface ActResult {
  state: 'decided' | 'sent' | 'confirmed' | 'failed' | 'aborted' | 'deferred' | 'skipped';
  actionId: number | null;
  reason: string;
}

/** Re-runs the probes for one instance right before acting: busy and why, and whether its GPU was just seen. */
export type BusyCheck = (access: InstanceAccess, probes?: string[]) => Promise<{ busy: boolean; detail: string; gpuFresh: boolean }>;

/** Dependencies of the executor. */
export interface ExecutorDeps {
  db: Db;
  client: XgcClient;
  clock: Clock;
  log: Logger;
  config: Config;
  /** names of configured notification channels */
  channels(): string[];
  busyCheck?: BusyCheck;
}

/**
 * After a failed or aborted attempt the same decision is tried again no sooner than this backoff (1, 2, 4 ...
 * minutes, capped at an hour): a cloud hiccup never makes the guard give up on an idle GPU for good, and a
 * persistent failure is not hammered. The journal keeps every attempt.
 */
export function retryBackoffMs(failures: number): number {
  return backoff(failures - 1, { base: 60_000, cap: 60 * 60_000 });
}


/** Executes act decisions with the rails. One instance per daemon; `beginTick` resets per-tick counters. */
export class Executor {
  private sentThisTick = 0;
  /** journal rows being executed right now (never "recovered" while in flight) */
  private inFlight = new Set<number>();
  constructor(private readonly deps: ExecutorDeps) {}

  /** Start a new tick (resets the per-tick action count). */
  beginTick(): void {
    this.sentThisTick = 0;
  }

  /** The action limit reached at `now` (`max_actions_per_tick (5)`), or null: a wake's boot waits for it too. */
  limitReached(now: number): string | null {
    const { max_actions_per_tick: perTick, max_actions_per_hour: perHour } = this.deps.config.limits;
    if (this.sentThisTick >= perTick) return `max_actions_per_tick (${perTick})`;
    if (this.sentLastHour(now) >= perHour) return `max_actions_per_hour (${perHour})`;
    return null;
  }

  /** Count a request sent outside `execute` (a wake's boot) against `max_actions_per_tick`. */
  noteSent(): void {
    this.sentThisTick++;
  }

  private journalFor(key: string) {
    return this.deps.db
      .select()
      .from(actions)
      // the key itself and its retries `key#2`, `key#3` ...: two lookups on the unique index
      .where(or(eq(actions.decisionKey, key), and(gt(actions.decisionKey, `${key}#`), lt(actions.decisionKey, `${key}$`))))
      .all();
  }

  private event(type: 'action_taken' | 'action_failed' | 'action_aborted', req: ActRequest, id: number, error?: string): GuardEvent {
    const i = req.instance;
    const data: EventData<'action_taken'> = {
      instance: { id: i.id, name: i.name, gpu_model: i.gpuModel, gpu_count: i.gpuUsed, price_per_hour: i.pricePerHour },
      policy: req.policy,
      action: req.action,
      reason: req.reason,
      ...(req.reasonCode ? { reason_code: req.reasonCode } : {}),
      mode: req.dryRun ? 'dry_run' : 'enforce',
      at: this.deps.clock.now(),
      saving_per_hour: actionSavingPerHour(req.action, i),
      who: req.who,
    };
    const envelope = { dedupKey: `${type}:${id}`, status: 'firing' as const, channels: req.channels };
    return type === 'action_taken' ? { ...envelope, type, data } : { ...envelope, type, data: { ...data, error: error ?? '' } };
  }

  private finish(id: number, state: 'sent' | 'confirmed' | 'failed' | 'aborted', set: Partial<typeof actions.$inferInsert>, ev?: GuardEvent | GuardEvent[]): void {
    const { db, clock } = this.deps;
    const now = clock.now();
    db.transaction((tx) => {
      tx.update(actions)
        .set({ state, ...(state === 'sent' ? {} : { finishedAt: now }), ...set })
        .where(eq(actions.id, id))
        .run();
      for (const e of ev ? (Array.isArray(ev) ? ev : [ev]) : []) raise(tx, e, { now, channels: this.deps.channels() });
    });
  }

  /** Sent actions in the last hour (enforce mode): for max_actions_per_hour. */
  private sentLastHour(now: number): number {
    const r = this.deps.db
      .select({ n: sql<number>`count(*)` })
      .from(actions)
      .where(and(eq(actions.mode, 'enforce'), gte(actions.sentAt, now - 3_600_000)))
      .get();
    return r?.n ?? 0;
  }

  /** Execute one decision through the rails. */
  async execute(req: ActRequest): Promise<ActResult> {
    const { db, clock, log, config } = this.deps;
    const now = clock.now();
    const rows = this.journalFor(req.key);
    if (rows.some((r) => r.state === 'sent' || r.state === 'confirmed')) return { state: 'skipped', actionId: null, reason: 'already done for this decision' };
    if (rows.some((r) => r.state === 'decided')) return { state: 'skipped', actionId: null, reason: 'already decided (dry-run or in flight)' };
    const failedRows = rows.filter((r) => r.state === 'failed' || r.state === 'aborted');
    const failures = failedRows.length;
    if (failures) {
      const lastEnd = Math.max(...failedRows.map((r) => r.finishedAt ?? r.decidedAt));
      const wait = retryBackoffMs(failures);
      if (now - lastEnd < wait) return { state: 'skipped', actionId: null, reason: `attempt ${failures + 1} waits until ${new Date(lastEnd + wait).toISOString()} (backoff after ${failures} failed)` };
    }
    const deferred = rows.find((r) => r.state === 'deferred');
    const attemptKey = deferred?.decisionKey ?? (failures ? `${req.key}#${failures + 1}` : req.key);
    const i = req.instance;
    const base = {
      decisionKey: attemptKey,
      decidedAt: now,
      instanceId: i.id,
      instanceName: i.name,
      policy: req.policy,
      action: req.action,
      mode: req.dryRun ? 'dry_run' : 'enforce',
      who: req.who,
      reason: req.reason,
      reasonCode: req.reasonCode ? JSON.stringify(req.reasonCode) : null,
      statusAtDecision: i.status,
      expectedStatus: ACTION_KINDS[req.action].expectedStatus,
      rate: i.pricePerHour,
      retainRate: i.retainPrice,
    } as const;

    // Dry-run (global or per policy): journal the decision, tell, send nothing.
    if (req.dryRun) {
      const id = db.transaction((tx) => {
        const row = deferred
          ? tx.update(actions).set({ ...base, state: 'decided', detail: 'dry run: nothing sent' }).where(eq(actions.id, deferred.id)).returning().get()
          : tx.insert(actions).values({ ...base, state: 'decided', detail: 'dry run: nothing sent' }).returning().get();
        raise(tx, this.event('action_taken', req, row.id), { now, channels: this.deps.channels() });
        return row.id;
      });
      log.info({ policy: req.policy, instance: i.id, action: req.action, reason: req.reason }, 'dry run: would act');
      return { state: 'decided', actionId: id, reason: 'dry run' };
    }

    // Blast radius: per tick and per hour; the excess waits for a later tick, journaled as deferred.
    const perTick = config.limits.max_actions_per_tick;
    const perHour = config.limits.max_actions_per_hour;
    const lastHour = this.sentLastHour(now);
    if (ACTION_KINDS[req.action].sendsRequest && (this.sentThisTick >= perTick || lastHour >= perHour)) {
      const which = this.sentThisTick >= perTick ? `max_actions_per_tick (${perTick})` : `max_actions_per_hour (${perHour})`;
      const detail = `deferred: ${which} reached`;
      if (deferred) db.update(actions).set({ detail, decidedAt: now }).where(eq(actions.id, deferred.id)).run();
      else db.insert(actions).values({ ...base, state: 'deferred', detail }).run();
      log.warn({ policy: req.policy, instance: i.id, limit: which }, 'action deferred by a limit');
      return { state: 'deferred', actionId: deferred?.id ?? null, reason: detail };
    }

    // Journal first: a crash after this line is recovered by recoverInterrupted(), never repeated blindly.
    const id = deferred
      ? db.update(actions).set({ ...base, state: 'decided', detail: null }).where(eq(actions.id, deferred.id)).returning().get().id
      : db.insert(actions).values({ ...base, state: 'decided' }).returning().get().id;
    this.inFlight.add(id);
    try {
      return await this.act(id, req);
    } finally {
      this.inFlight.delete(id);
    }
  }

  private async act(id: number, req: ActRequest): Promise<ActResult> {
    const { db, clock, log, config } = this.deps;
    const i = req.instance;

    if (!ACTION_KINDS[req.action].sendsRequest) {
      this.finish(id, 'confirmed', { detail: 'notification only' }, [this.event('action_taken', req, id), ...(req.events ?? [])]);
      return { state: 'confirmed', actionId: id, reason: req.reason };
    }

    const abort = (why: string): ActResult => {
      this.finish(id, 'aborted', { detail: why }, this.event('action_aborted', req, id, why));
      log.warn({ policy: req.policy, instance: i.id, why }, 'action aborted');
      return { state: 'aborted', actionId: id, reason: why };
    };

    // Fresh read right before acting.
    let fresh: { instance: Instance; access: InstanceAccess };
    try {
      fresh = await this.deps.client.getInstance(i.id);
    } catch (e) {
      return abort(`could not re-read the instance (${errorClass(e)}): ${(e as Error).message}`);
    }
    const f = fresh.instance;
    if (f.status !== i.status || (f.gpuUsed > 0) !== i.holdsGpu) return abort(`state changed since the decision: ${i.status} -> ${f.status}${f.gpuUsed > 0 ? '' : ' (GPU released)'}`);
    if (hasKeepMarker(f.name, config.keep_marker) && !req.lastResort) return abort(`instance name now carries ${config.keep_marker}`);
    if (req.policy !== 'api' && !req.lastResort) {
      const o = activeOverrides(db, clock.now()).find((x) => overrideMatches(x, f, req.policy));
      if (o) return abort(`override #${o.id} (${o.kind}) appeared since the decision`);
    }
    if (req.requireIdle && this.deps.busyCheck) {
      const b = await this.deps.busyCheck(fresh.access, req.probes);
      if (b.busy) return abort(`busy now: ${b.detail}`);
      if (req.requireGpu && !b.gpuFresh) return abort('no fresh GPU sample right before acting: the GPU cannot be seen now');
    }

    const sentAt = clock.now();
    try {
      await SEND[req.action](this.deps.client, f);
    } catch (e) {
      if (e instanceof XgcActionUncertain && e.seemsApplied === true) {
        this.sentThisTick++;
        this.finish(id, 'sent', { sentAt, detail: `outcome uncertain (${e.errorClass}); re-read shows ${e.observedStatus}` }, [this.event('action_taken', req, id), ...(req.events ?? [])]);
        return { state: 'sent', actionId: id, reason: req.reason };
      }
      const code = e instanceof XgcApiError ? e.code : null;
      const msg = e instanceof XgcError ? e.message : 'unexpected error';
      if (!(e instanceof XgcError)) log.error({ err: e }, 'unexpected error while acting');
      this.finish(id, 'failed', { sentAt, responseCode: code, responseMsg: msg.slice(0, 300), detail: `request failed (${errorClass(e)}); the next tick re-evaluates` }, this.event('action_failed', req, id, msg.slice(0, 300)));
      log.warn({ policy: req.policy, instance: i.id, cls: errorClass(e), cause: msg }, 'action failed');
      return { state: 'failed', actionId: id, reason: msg };
    }
    this.sentThisTick++;
    this.finish(id, 'sent', { sentAt, responseCode: 200 }, [this.event('action_taken', req, id), ...(req.events ?? [])]);
    log.info({ policy: req.policy, instance: i.id, name: i.name, action: req.action, reason: req.reason }, 'action sent');
    return { state: 'sent', actionId: id, reason: req.reason };
  }

  /**
   * Journal rows left in `decided` (enforce) by a crash between journaling and the answer: re-read each
   * instance; if the action took effect mark it sent, otherwise aborted (the next tick re-decides).
   */
  async recoverInterrupted(): Promise<number> {
    const { db, clock, log } = this.deps;
    const rows = db.select().from(actions).where(and(eq(actions.mode, 'enforce'), inArray(actions.state, ['decided']))).all();
    let n = 0;
    for (const r of rows) {
      if (this.inFlight.has(r.id)) continue;
      let inst: Instance | undefined;
      try {
        inst = (await this.deps.client.getInstance(r.instanceId)).instance;
      } catch (e) {
        if (!(e instanceof XgcApiError)) continue; // network trouble: try again next tick
        inst = undefined;
      }
      const kind = actionKind(r.action);
      const applied = kind.sendsRequest && (kind.reached(inst) || kind.underWay(inst));
      const now = clock.now();
      const req: ActRequest = {
        key: r.decisionKey,
        policy: r.policy,
        action: r.action as ActionKind,
        reason: r.reason,
        reasonCode: parseReasonCode(r.reasonCode),
        requireIdle: false,
        dryRun: false,
        who: r.who,
        instance: {
          id: r.instanceId,
          name: r.instanceName,
          status: r.statusAtDecision ?? '',
          gpuModel: inst?.gpuModel ?? '',
          gpuUsed: inst?.gpuUsed ?? 0,
          pricePerHour: r.rate,
          retainPrice: r.retainRate,
          rate: r.rate,
          holdsGpu: true,
          image: inst?.image ?? '',
          billedSince: null,
          runningSince: null,
        },
      };
      db.transaction((tx) => {
        if (applied) {
          tx.update(actions).set({ state: 'sent', sentAt: r.sentAt ?? now, detail: 'sent before a restart; confirmed by re-read' }).where(eq(actions.id, r.id)).run();
          raise(tx, this.event('action_taken', req, r.id), { now, channels: this.deps.channels() });
        } else {
          tx.update(actions).set({ state: 'aborted', finishedAt: now, detail: 'interrupted by a restart before the request went out' }).where(eq(actions.id, r.id)).run();
        }
      });
      log.warn({ action: r.id, applied }, 'recovered an interrupted action');
      n++;
    }
    return n;
  }
}
