/**
 * The waker: boots a shut-down instance and keeps at it through a GPU shortage.
 *
 * A wake is journaled before anything is sent: one `actions` row (action `boot`; policy = the schedule policy's
 * name, or `wake` on demand) plus one `wakes` row holding the retry state, whose id is the journal id. Each boot
 * request is a `wake_tries` row written as `sending` before the request goes out and updated with its answer, so
 * a restart finds an unanswered try and re-reads the instance instead of booting again. On 可用GPU不足 the next
 * model of `gpu_models` is tried at once; when every model came back short the round ends and the next one starts
 * after `wake.retry_first`, doubling up to `wake.retry_max`, until `give_up_after`. A boot the cloud accepted is
 * confirmed `running` by the tick's list (src/db/record.ts, like every action); then exactly one `wake_done` goes
 * out, or one `wake_failed` when it gives up. Journal states: `deferred` while waiting for a GPU, `sent` once a
 * boot is accepted, then `confirmed` / `failed`; a refused wake is `aborted`, a dry-run one `decided`.
 */
import { eq } from 'drizzle-orm';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { Config, SchedulePolicyConfig } from '../config/schema.js';
import { formatDuration } from '../config/duration.js';
import type { Db } from '../db/open.js';
import { actions, wakeTries, wakes } from '../db/schema.js';
import { decisionExists, journalState, lastGpuCount, openWakeOf, openWakes, sendingTries, triesOf, wakeById, type WakeRow } from '../db/wakes.js';
import { BadRequest, NotFound } from '../errors.js';
import { billedRate } from '../money.js';
import { raise, type GuardEvent } from '../notify/index.js';
import type { ReasonCode } from '../notify/reasons.js';
import { XgcActionUncertain, XgcApiError, XgcGpuShortageError, errorClass, type XgcClient } from '../xgc/index.js';
import type { Instance } from '../xgc/types.js';
import type { ActResult } from '../actions/executor.js';
import { backoff } from '../backoff.js';
import { DryRunWake, NotObserved, NotShutDown, WakeRefused } from './errors.js';
import { checkWakeMoney, type WakeMoneyVerdict } from './money-check.js';
import { bootRate, fullModelName, shortModelName } from './models.js';

/** What a wake asks for (each optional: the instance's own model, its previous count, `wake.give_up_after`). */
export interface WakeOptions {
  gpuModels?: string[];
  gpuCount?: number;
  /** ms */
  giveUpAfter?: number;
}

/** The instance facts a wake starts from. */
export type WakeTarget = Pick<Instance, 'id' | 'name' | 'status' | 'gpuModel' | 'gpuUsed' | 'pricePerHour' | 'retainPrice'> & {
  /** API stop_timestamp (ms), when known */
  stoppedAt?: number | null;
};

/** A scheduled wake as the tick hands it over (an `act` decision of a schedule policy with `action: boot`). */
export interface ScheduledWake {
  key: string;
  policy: string;
  instance: WakeTarget;
  reason: string;
  reasonCode?: ReasonCode;
  dryRun: boolean;
  channels?: string[];
}

/** Dependencies of the waker. */
export interface WakerDeps {
  db: Db;
  client: XgcClient;
  clock: Clock;
  log: Logger;
  config: Config;
  /** names of configured notification channels */
  channels(): string[];
  /** the executor's action limits (a boot counts like any action) */
  limits: { limitReached(now: number): string | null; noteSent(): void };
  /** the last successful observation: the money check's balance and burn */
  observation(): { list: Instance[]; balance: number | null } | null;
}

/** A boot plan: models to try in order ([] = boot as before), the GPU count, the rate it would bill, in words. */
interface Plan {
  models: string[];
  count: number;
  rate: number;
  what: string;
}

/** The waker of one daemon (the tick drives it; the API starts wakes). */
export class Waker {
  /** wakes being stepped right now (never recovered while in flight) */
  private readonly inFlight = new Set<number>();
  /** steps started outside the tick (an API wake's first try), awaited by `idle()` */
  private readonly pending = new Set<Promise<void>>();

  constructor(private readonly deps: WakerDeps) {}

  /**
   * Wake an instance now (API, CLI): journal it and start the first try without waiting for it. Returns the wake
   * row (an existing wake in progress for the instance is returned as it is). Throws NotFound, NotShutDown,
   * BadRequest, NotObserved, WakeRefused (journaled) or DryRunWake (journaled).
   */
  async wakeNow(instanceId: string, opts: WakeOptions, who: string): Promise<WakeRow> {
    const { db, client, clock, config } = this.deps;
    let fresh: Instance;
    try {
      fresh = (await client.getInstance(instanceId)).instance;
    } catch (e) {
      if (e instanceof XgcApiError && e.kind !== 'http' && e.code === 1000) throw new NotFound(`instance ${instanceId} not found`);
      throw e;
    }
    const existing = openWakeOf(db, fresh.id);
    if (existing) return existing;
    if (fresh.status !== 'shutdown') throw new NotShutDown(fresh.name || fresh.id, fresh.status);
    const plan = this.plan(fresh, opts, true);
    const now = clock.now();
    const base = { key: `wake:${fresh.id}:${now}`, policy: 'wake', who, reason: `wake requested by ${who}`, reasonCode: { code: 'wake.requested', params: { who } }, channels: undefined };
    const money = this.moneyCheck(fresh, plan);
    if (money && !money.ok) {
      const row = this.journal(base, fresh, plan, opts, 'refused', money.message, now);
      throw new WakeRefused(money.message, money.topUp, row.actionId);
    }
    if (config.dry_run) throw new DryRunWake(this.journal(base, fresh, plan, opts, 'dry_run', 'dry run: nothing sent', now).actionId);
    const { row, created } = this.journalWaiting(base, fresh, plan, opts, now);
    if (!created) return row; // another request for it was journaled first: that one is under way
    const p = this.advance(row.actionId).finally(() => this.pending.delete(p));
    this.pending.add(p);
    return wakeById(db, row.actionId) ?? row;
  }

  /** A schedule policy's boot decision (once per cron occurrence: the decision key). Null when already handled. */
  async fromSchedule(d: ScheduledWake): Promise<ActResult | null> {
    const { db, clock, config } = this.deps;
    if (decisionExists(db, d.key)) return null;
    if (openWakeOf(db, d.instance.id)) return null; // a wake (on demand) is already at it
    const cfg = config.policies.find((p): p is SchedulePolicyConfig => p.name === d.policy && p.type === 'schedule');
    const opts: WakeOptions = { gpuModels: cfg?.gpu_models, gpuCount: cfg?.gpu_count, giveUpAfter: cfg?.give_up_after };
    const plan = this.plan(d.instance, opts, false);
    const now = clock.now();
    const base = { key: d.key, policy: d.policy, who: 'policy', reason: d.reason, reasonCode: d.reasonCode, channels: d.channels };
    const money = this.moneyCheck(d.instance, plan);
    if (money && !money.ok) {
      const row = this.journal(base, d.instance, plan, opts, 'refused', money.message, now);
      this.deps.log.warn({ policy: d.policy, instance: d.instance.id, reason: money.message }, 'scheduled wake skipped: short runway');
      return { state: 'aborted', actionId: row.actionId, reason: money.message };
    }
    if (d.dryRun) {
      const row = this.journal(base, d.instance, plan, opts, 'dry_run', 'dry run: nothing sent', now);
      this.deps.log.info({ policy: d.policy, instance: d.instance.id }, 'dry run: would wake');
      return { state: 'decided', actionId: row.actionId, reason: 'dry run' };
    }
    const { row, created } = this.journalWaiting(base, d.instance, plan, opts, now);
    if (!created) return null;
    await this.advance(row.actionId);
    const after = wakeById(db, row.actionId);
    return { state: after?.state === 'booting' ? 'sent' : 'deferred', actionId: row.actionId, reason: d.reason };
  }

  /**
   * One tick's work, after the tick recorded `list`: recover tries a crash left unanswered, finish wakes whose boot
   * the list confirmed (or that never came up), and step the waiting ones whose next try is due.
   */
  async process(list: Instance[]): Promise<void> {
    const { db } = this.deps;
    await this.recoverSending();
    for (const w of openWakes(db)) {
      if (this.inFlight.has(w.actionId)) continue;
      if (w.state === 'booting') {
        const js = journalState(db, w.actionId);
        if (js === 'confirmed') this.finishDone(w, list.find((i) => i.id === w.instanceId));
        else if (js === 'failed' || js === 'aborted') this.giveUp(w, 'the boot was accepted but the instance did not come up running');
        continue;
      }
      await this.advance(w.actionId);
    }
  }

  /** Wait for steps started outside the tick (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.pending.size) await Promise.allSettled([...this.pending]);
  }

  // ------------------------------------------------------------------ planning and journaling

  /** Models, count and rate of a wake; `strict` refuses a model or count for an instance that kept its GPU. */
  private plan(inst: WakeTarget, opts: WakeOptions, strict: boolean): Plan {
    if (inst.gpuUsed > 0) {
      if (strict && (opts.gpuModels?.length || opts.gpuCount !== undefined))
        throw new BadRequest('gpu_models', `instance ${inst.name || inst.id} still holds its ${inst.gpuUsed} GPU(s): it boots with them; a model or count applies only after a release`);
      return { models: [], count: inst.gpuUsed, rate: inst.pricePerHour, what: `${shortModelName(inst.gpuModel)} × ${inst.gpuUsed}` };
    }
    const count = opts.gpuCount ?? lastGpuCount(this.deps.db, inst.id) ?? 1;
    if (count === 0) return { models: [], count, rate: bootRate(this.basis(inst), '', 0), what: 'no GPU (data only)' };
    const models = opts.gpuModels?.length ? [...new Set(opts.gpuModels.map(fullModelName))] : inst.gpuModel ? [fullModelName(inst.gpuModel)] : [];
    const basis = this.basis(inst);
    const rate = models.length ? Math.max(...models.map((m) => bootRate(basis, m, count))) : bootRate(basis, inst.gpuModel, count);
    return { models, count, rate, what: `${(models.length ? models : [inst.gpuModel]).map(shortModelName).join(' / ')} × ${count}` };
  }

  private basis(inst: WakeTarget) {
    return { gpuModel: inst.gpuModel, pricePerHour: inst.pricePerHour, retainPrice: inst.retainPrice, lastGpuCount: lastGpuCount(this.deps.db, inst.id) };
  }

  /** The runway check against the first runway policy (null: none configured, nothing to check). */
  private moneyCheck(inst: WakeTarget, plan: Plan): WakeMoneyVerdict | null {
    const runway = this.deps.config.policies.find((p) => p.type === 'runway');
    if (!runway || runway.type !== 'runway') return null;
    const obs = this.deps.observation();
    if (!obs || obs.balance === null) throw new NotObserved();
    const burn = obs.list.reduce((s, i) => s + billedRate(i), 0);
    return checkWakeMoney({ balance: obs.balance, burn, currentRate: billedRate(inst), rate: plan.rate, actHours: runway.act_hours, policy: runway.name, what: plan.what });
  }

  /** Journal a wake: its `actions` row and its `wakes` row, in one transaction (a refusal also tells). */
  private journal(
    base: { key: string; policy: string; who: string; reason: string; reasonCode?: ReasonCode; channels?: string[] },
    inst: WakeTarget,
    plan: Plan,
    opts: WakeOptions,
    kind: 'waiting' | 'refused' | 'dry_run',
    detail: string,
    now: number,
  ): WakeRow {
    const { db, config } = this.deps;
    const giveUpAfter = opts.giveUpAfter ?? config.wake.give_up_after;
    return db.transaction((tx) => {
      const a = tx
        .insert(actions)
        .values({
          decisionKey: base.key,
          decidedAt: now,
          instanceId: inst.id,
          instanceName: inst.name,
          policy: base.policy,
          action: 'boot',
          mode: kind === 'dry_run' ? 'dry_run' : 'enforce',
          state: kind === 'waiting' ? 'deferred' : kind === 'refused' ? 'aborted' : 'decided',
          who: base.who,
          reason: base.reason,
          reasonCode: base.reasonCode ? JSON.stringify(base.reasonCode) : null,
          statusAtDecision: inst.status,
          expectedStatus: 'running',
          rate: plan.rate,
          retainRate: inst.retainPrice,
          finishedAt: kind === 'refused' ? now : null,
          detail,
        })
        .returning()
        .get();
      const w = tx
        .insert(wakes)
        .values({
          actionId: a.id,
          instanceId: inst.id,
          instanceName: inst.name,
          policy: base.policy,
          who: base.who,
          mode: kind === 'dry_run' ? 'dry_run' : 'enforce',
          gpuModels: JSON.stringify(plan.models),
          gpuCount: plan.count,
          requestedAt: now,
          giveUpAt: now + giveUpAfter,
          state: kind === 'waiting' ? 'waiting' : 'refused',
          nextTryAt: kind === 'waiting' ? now : null,
          finishedAt: kind === 'waiting' ? null : now,
          detail,
        })
        .returning()
        .get();
      if (kind === 'refused' && base.policy !== 'wake') {
        // a scheduled wake that will not happen: tell, as a give-up (an on-demand one is told by the API answer)
        raise(tx, this.failedEvent(w, detail, base.channels), { now, channels: this.deps.channels() });
      }
      return w;
    });
  }

  /** Journal a waiting wake unless one is already in progress for the instance (one transaction: no race). */
  private journalWaiting(base: Parameters<Waker['journal']>[0], inst: WakeTarget, plan: Plan, opts: WakeOptions, now: number): { row: WakeRow; created: boolean } {
    return this.deps.db.transaction((tx) => {
      const open = openWakeOf(tx, inst.id);
      if (open) return { row: open, created: false };
      return { row: this.journal(base, inst, plan, opts, 'waiting', 'waiting for the first try', now), created: true };
    });
  }

  // ------------------------------------------------------------------ trying

  /** Step one wake unless it is already being stepped. */
  private async advance(id: number): Promise<void> {
    if (this.inFlight.has(id)) return;
    this.inFlight.add(id);
    try {
      await this.step(id);
    } catch (e) {
      this.deps.log.error({ err: e, wake: id }, 'wake step failed');
    } finally {
      this.inFlight.delete(id);
    }
  }

  /** One step of a waiting wake: give up, wait, or send the due tries (each model of a round at once). */
  private async step(id: number): Promise<void> {
    const { db, client, clock, config, log } = this.deps;
    let w = wakeById(db, id);
    if (!w || w.state !== 'waiting') return;
    const now = clock.now();
    if (now >= w.giveUpAt) return this.giveUp(w, `no GPU came free within ${formatDuration(w.giveUpAt - w.requestedAt)}`);
    if (w.nextTryAt !== null && now < w.nextTryAt) return;
    const limit = this.deps.limits.limitReached(now);
    if (limit) {
      db.update(wakes).set({ detail: `waiting: ${limit} reached` }).where(eq(wakes.actionId, id)).run();
      return;
    }
    // Fresh read right before acting.
    let fresh: Instance;
    try {
      fresh = (await client.getInstance(w.instanceId)).instance;
    } catch (e) {
      if (e instanceof XgcApiError && e.kind !== 'http') return this.giveUp(w, `the instance cannot be read: ${e.message}`);
      log.warn({ wake: id, cls: errorClass(e) }, 'wake: could not re-read the instance; next tick');
      return;
    }
    if (fresh.status === 'booting' || fresh.status === 'running') {
      const ours = triesOf(db, id).some((t) => t.outcome === 'uncertain');
      if (ours) return this.markBooting(w, null, null, w.bootedAt ?? now, `an uncertain try went through: the re-read shows ${fresh.status}`);
      return this.finishOutside(w, fresh.status);
    }
    if (fresh.status !== 'shutdown') {
      db.update(wakes).set({ detail: `waiting: the instance is ${fresh.status}` }).where(eq(wakes.actionId, id)).run();
      return;
    }
    const models = JSON.parse(w.gpuModels) as string[];
    const kept = fresh.gpuUsed > 0;
    for (;;) {
      const model = kept || models.length === 0 ? undefined : models[w.nextModel % models.length];
      const n = w.tries + 1;
      const sentAt = clock.now();
      // Journal the try before the request: a crash from here on is recovered by re-reading, never re-sent blindly.
      const t = db.transaction((tx) => {
        tx.update(wakes).set({ tries: n }).where(eq(wakes.actionId, id)).run();
        return tx.insert(wakeTries).values({ actionId: id, n, at: sentAt, gpuModel: model ?? null, gpuCount: kept ? null : w!.gpuCount, outcome: 'sending' }).returning().get();
      });
      let outcome: 'sent' | 'shortage' | 'uncertain' | 'retry' | 'refused';
      let detail = '';
      try {
        await client.boot(w.instanceId, kept ? {} : { gpuModel: model, gpuCount: w.gpuCount });
        outcome = 'sent';
      } catch (e) {
        detail = (e as Error).message.slice(0, 300);
        if (e instanceof XgcActionUncertain) outcome = e.seemsApplied === true ? 'sent' : 'uncertain';
        else if (e instanceof XgcGpuShortageError) outcome = 'shortage';
        else if (e instanceof XgcApiError && e.kind !== 'http') outcome = 'refused';
        else outcome = 'retry';
      }
      if (outcome === 'sent') return this.markBooting(w, t.id, model ?? null, sentAt, detail ? `outcome uncertain, re-read shows it booting: ${detail}` : '');
      if (outcome === 'refused') {
        db.update(wakeTries).set({ outcome: 'failed', detail }).where(eq(wakeTries.id, t.id)).run();
        return this.giveUp({ ...w, tries: n }, detail);
      }
      const nextModel = w.nextModel + 1;
      if (outcome === 'shortage' && !kept && nextModel < models.length) {
        // the next model of this round, right away
        db.transaction((tx) => {
          tx.update(wakeTries).set({ outcome: 'shortage', detail }).where(eq(wakeTries.id, t.id)).run();
          tx.update(wakes).set({ nextModel, detail: `try ${n}: ${shortModelName(model ?? '')} short` }).where(eq(wakes.actionId, id)).run();
        });
        w = wakeById(db, id)!;
        continue;
      }
      // The round is over (every model short, or a failure that may pass): wait, doubling, until give_up_after.
      const rounds = w.rounds + 1;
      const wait = backoff(rounds - 1, { base: config.wake.retry_first, cap: config.wake.retry_max });
      const nextTryAt = Math.min(clock.now() + wait, w.giveUpAt);
      const why = outcome === 'shortage' ? `no GPU free (${detail})` : `try failed (${detail})`;
      db.transaction((tx) => {
        tx.update(wakeTries).set({ outcome: outcome === 'shortage' ? 'shortage' : outcome === 'uncertain' ? 'uncertain' : 'failed', detail }).where(eq(wakeTries.id, t.id)).run();
        tx.update(wakes)
          .set({ rounds, nextModel: outcome === 'shortage' ? 0 : w!.nextModel, nextTryAt, detail: `try ${n}: ${why}; next try in ${formatDuration(wait)}` })
          .where(eq(wakes.actionId, id))
          .run();
        tx.update(actions).set({ detail: `waiting for a GPU: ${n} tries so far` }).where(eq(actions.id, id)).run();
      });
      log.info({ wake: id, instance: w.instanceId, tries: n, next_in_ms: wait }, 'wake: no GPU yet; retrying later');
      return;
    }
  }

  /** The boot went out (try `tryId`): the journal row is `sent`; the tick's list confirms `running`. */
  private markBooting(w: WakeRow, tryId: number | null, model: string | null, sentAt: number, note: string): void {
    const { db } = this.deps;
    const what = w.gpuCount === 0 ? 'no GPU (data only)' : model ? `${shortModelName(model)} × ${w.gpuCount}` : 'its kept GPU';
    db.transaction((tx) => {
      if (tryId !== null) tx.update(wakeTries).set({ outcome: 'sent', detail: note || null }).where(eq(wakeTries.id, tryId)).run();
      tx.update(wakes).set({ state: 'booting', bootedModel: model, bootedAt: sentAt, nextTryAt: null, detail: `boot sent with ${what}` }).where(eq(wakes.actionId, w.actionId)).run();
      tx.update(actions).set({ state: 'sent', sentAt, responseCode: 200, detail: `boot sent with ${what} (try ${w.tries + (tryId !== null ? 1 : 0)})${note ? `; ${note}` : ''}` }).where(eq(actions.id, w.actionId)).run();
    });
    this.deps.limits.noteSent();
    this.deps.log.info({ wake: w.actionId, instance: w.instanceId, model, count: w.gpuCount }, 'wake: boot sent');
  }

  /** Tries left `sending` by a crash: the re-read says whether the boot went out; never sent twice. */
  private async recoverSending(): Promise<void> {
    const { db, client, clock, log } = this.deps;
    for (const t of sendingTries(db)) {
      if (this.inFlight.has(t.actionId)) continue;
      const w = wakeById(db, t.actionId);
      if (!w || w.state !== 'waiting') {
        db.update(wakeTries).set({ outcome: 'interrupted', detail: 'left unanswered; the wake had moved on' }).where(eq(wakeTries.id, t.id)).run();
        continue;
      }
      let seen: Instance;
      try {
        seen = (await client.getInstance(w.instanceId)).instance;
      } catch {
        continue; // cannot tell now: the next tick asks again (the wake waits meanwhile: nextTryAt untouched below)
      }
      if (seen.status === 'booting' || seen.status === 'running') {
        this.markBooting({ ...w, tries: t.n - 1 }, t.id, t.gpuModel, t.at, 'sent before a restart; confirmed by re-read');
      } else {
        db.update(wakeTries).set({ outcome: 'interrupted', detail: `interrupted by a restart before the request went out (re-read: ${seen.status})` }).where(eq(wakeTries.id, t.id)).run();
        db.update(wakes).set({ nextTryAt: clock.now() }).where(eq(wakes.actionId, w.actionId)).run();
      }
      log.warn({ wake: w.actionId, try: t.n, status: seen.status }, 'recovered an interrupted wake try');
    }
  }

  // ------------------------------------------------------------------ finishing

  /** Running: done, and the one `wake_done`. */
  private finishDone(w: WakeRow, inst: Instance | undefined): void {
    const { db, clock } = this.deps;
    const now = clock.now();
    const count = inst ? inst.gpuUsed : w.gpuCount;
    const model = inst?.gpuModel || (w.bootedModel ? shortModelName(w.bootedModel) : '');
    const ev: GuardEvent = {
      type: 'wake_done',
      dedupKey: `wake_done:${w.actionId}`,
      status: 'firing',
      channels: this.policyChannels(w.policy),
      data: {
        instance: { id: w.instanceId, name: inst?.name ?? w.instanceName, gpu_model: model || undefined, gpu_count: count },
        ...(count > 0 && model ? { gpu_model: model } : {}),
        gpu_count: count,
        waited_ms: now - w.requestedAt,
        tries: w.tries,
        ...(inst?.webUrl ? { web_url: inst.webUrl } : {}),
        policy: w.policy,
        who: w.who,
      },
    };
    db.transaction((tx) => {
      tx.update(wakes).set({ state: 'done', finishedAt: now, detail: count === 0 ? 'running without a GPU (data only)' : `running on ${model} × ${count}` }).where(eq(wakes.actionId, w.actionId)).run();
      raise(tx, ev, { now, channels: this.deps.channels() });
    });
    this.deps.log.info({ wake: w.actionId, instance: w.instanceId, waited_ms: now - w.requestedAt, tries: w.tries }, 'wake done: running');
  }

  /** Booted by someone else meanwhile: nothing left to do, nothing to tell. */
  private finishOutside(w: WakeRow, status: string): void {
    const { db, clock } = this.deps;
    const now = clock.now();
    const detail = `the instance is ${status}: booted outside the guard; nothing sent`;
    db.transaction((tx) => {
      tx.update(wakes).set({ state: 'done', finishedAt: now, nextTryAt: null, detail }).where(eq(wakes.actionId, w.actionId)).run();
      tx.update(actions).set({ state: 'aborted', finishedAt: now, detail }).where(eq(actions.id, w.actionId)).run();
    });
  }

  /** Gave up: the journal row fails, and the one `wake_failed`. */
  private giveUp(w: WakeRow, error: string): void {
    const { db, clock } = this.deps;
    const now = clock.now();
    db.transaction((tx) => {
      tx.update(wakes).set({ state: 'gave_up', finishedAt: now, nextTryAt: null, detail: error }).where(eq(wakes.actionId, w.actionId)).run();
      tx.update(actions).set({ state: 'failed', finishedAt: now, detail: `gave up after ${w.tries} tries: ${error}`.slice(0, 400) }).where(eq(actions.id, w.actionId)).run();
      raise(tx, this.failedEvent({ ...w, finishedAt: now }, error, this.policyChannels(w.policy)), { now, channels: this.deps.channels() });
    });
    this.deps.log.warn({ wake: w.actionId, instance: w.instanceId, tries: w.tries, error }, 'wake gave up');
  }

  private failedEvent(w: WakeRow, error: string, channels: string[] | undefined): GuardEvent {
    return {
      type: 'wake_failed',
      dedupKey: `wake_failed:${w.actionId}`,
      status: 'firing',
      channels,
      data: {
        instance: { id: w.instanceId, name: w.instanceName },
        gpu_models: (JSON.parse(w.gpuModels) as string[]).map(shortModelName),
        gpu_count: w.gpuCount,
        waited_ms: (w.finishedAt ?? w.requestedAt) - w.requestedAt,
        tries: w.tries,
        error: error.slice(0, 300),
        policy: w.policy,
        who: w.who,
      },
    };
  }

  private policyChannels(policy: string): string[] | undefined {
    return this.deps.config.policies.find((p) => p.name === policy)?.channels;
  }
}
