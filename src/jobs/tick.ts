/**
 * One tick: observe (list + balance: 2 calls), record (one transaction), hand the running instances to the probe
 * monitor (which keeps probe state fresh beside the tick; the tick only reads it), decide
 * (pure policy engine), act (executor with rails), tell (outbox). A failed observe is a blind tick: nothing is
 * inferred or decided from missing data, the tick is recorded, and `guard_blind` goes out after
 * `blind_alert_after` consecutive blind ticks.
 */
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { Config } from '../config/schema.js';
import type { Db } from '../db/open.js';
import { recordObservation, type RecordResult } from '../db/record.js';
import { ticks } from '../db/schema.js';
import { blindStreak } from '../db/ticks.js';
import { currentInstances } from '../db/instances.js';
import { lastBalance } from '../db/balance.js';
import { destroyedEvent } from './destroyed.js';
import { actionSavingPerHour } from '../action-kinds.js';
import { raise, resolve } from '../notify/index.js';
import type { PolicyOutcome } from '../policies/engine.js';
import type { Decision } from '../policies/types.js';
import type { Executor, ActResult } from '../actions/executor.js';
import { errorClass, type XgcClient } from '../xgc/index.js';
import type { Instance, InstanceAccess, InstanceWithAccess } from '../xgc/types.js';
import { assess, type Observation } from './assess.js';
import type { Waker } from '../wake/waker.js';

/** What one tick did. */
export interface TickResult {
  at: number;
  outcome: 'ok' | 'blind' | 'standby';
  errorClass?: string;
  apiCalls: number;
  durationMs: number;
  recorded?: RecordResult;
  /** what a successful observe saw (for the tick log) */
  observed?: { instances: Instance[]; balance: number };
  decisions: number;
  acted: ActResult[];
}

/** Dependencies of the ticker. */
export interface TickerDeps {
  db: Db;
  client: XgcClient;
  clock: Clock;
  log: Logger;
  config: Config;
  executor: Executor;
  /** names of configured notification channels */
  channels(): string[];
  /** the waker: takes the schedule policies' boot decisions and steps wakes after each record (src/wake/) */
  waker?: Pick<Waker, 'fromSchedule' | 'process'>;
  /** the probe monitor: told after each successful observe which instances run */
  probes?: { setTargets(running: InstanceAccess[]): void };
  /** whether this process may tick (single-writer lease) */
  isLeader?(): boolean;
  /** called after every tick (metrics) */
  onTick?(r: TickResult): void;
  /** wall-time measurement (performance.now by default) */
  stopwatch?(): number;
}

/** Runs ticks; keeps the blind streak, the last observation and the last outcomes for the API. */
export class Ticker {
  /** consecutive blind ticks (the rule of src/db/ticks.ts, kept in memory between ticks) */
  blindStreak: number;
  lastOutcomes: PolicyOutcome[] = [];
  lastTickAt: number | null = null;
  /** the last successful observation (for the API's instances view and "next action") */
  lastObservation: Observation | null = null;
  private accesses = new Map<string, InstanceAccess>();

  constructor(private readonly deps: TickerDeps) {
    this.blindStreak = blindStreak(deps.db);
  }

  /** Record a skipped firing (the previous tick was still running). */
  recordSkip(now: number): void {
    this.deps.db.insert(ticks).values({ at: now, outcome: 'skipped', errorClass: 'overlap' }).run();
  }

  /** Memory-only access for an instance seen in the last successful list (probes, act-now). */
  access(id: string): InstanceAccess | undefined {
    return this.accesses.get(id);
  }

  /** One tick at `now`. */
  async tick(now: number): Promise<TickResult> {
    const { db, client, log, config, executor } = this.deps;
    const sw = this.deps.stopwatch ?? (() => performance.now());
    const t0 = sw();
    const result: TickResult = { at: now, outcome: 'ok', apiCalls: 0, durationMs: 0, decisions: 0, acted: [] };
    if (this.deps.isLeader && !this.deps.isLeader()) {
      result.outcome = 'standby';
      return result;
    }
    client.takeCalls();
    await executor.recoverInterrupted();

    // 1. observe: two calls whatever the number of instances.
    let listed: InstanceWithAccess[];
    let balance: number;
    try {
      [listed, balance] = await Promise.all([client.listInstances(), client.balance()]);
    } catch (e) {
      result.outcome = 'blind';
      result.errorClass = errorClass(e);
      result.apiCalls = client.takeCalls();
      result.durationMs = Math.round(sw() - t0);
      this.blindStreak++;
      db.transaction((tx) => {
        tx.insert(ticks).values({ at: now, durationMs: result.durationMs, apiCalls: result.apiCalls, outcome: 'blind', errorClass: result.errorClass }).run();
        if (this.blindStreak >= config.blind_alert_after)
          raise(tx, { type: 'guard_blind', dedupKey: 'guard_blind', status: 'firing', data: { ticks: this.blindStreak, since: now, error: result.errorClass, reason: (e as Error).message.slice(0, 200) } }, { now, channels: this.deps.channels() });
      });
      log.warn({ cls: result.errorClass, streak: this.blindStreak, cause: (e as Error).message }, 'blind tick: cloud API failed; nothing decided');
      this.deps.onTick?.(result);
      return result;
    }
    const list = listed.map((x) => x.instance);
    result.observed = { instances: list, balance };
    this.accesses = new Map(listed.map((x) => [x.instance.id, x.access]));

    // 2. record (one transaction, with the report of what the platform destroyed at an empty balance), and clear a blind alert.
    // (the previous facts are read only at an empty balance: the platform destroys nothing otherwise)
    const balanceBefore = lastBalance(db)?.balance ?? null;
    const before = Math.min(balanceBefore ?? Infinity, balance) <= 0 ? currentInstances(db) : [];
    result.recorded = db.transaction((tx) => {
      const rec = recordObservation(tx as unknown as Db, now, list, balance);
      const destroyed = destroyedEvent(before, list, rec.gone, { before: balanceBefore, now: balance });
      if (destroyed) {
        raise(tx, destroyed, { now, channels: this.deps.channels() });
        log.error({ balance, instances: destroyed.data.instances.map((i) => i.id) }, 'instances destroyed at a balance at or below ¥0');
      }
      return rec;
    });
    if (this.blindStreak > 0) {
      resolve(db, 'guard_blind', { now, channels: this.deps.channels(), data: { ticks: this.blindStreak } });
      this.blindStreak = 0;
    }
    this.lastObservation = { now, list, balance };

    // 3. probes: tell the monitor which instances run; it keeps their state fresh on its own (never awaited here).
    this.deps.probes?.setTargets(listed.filter((x) => x.instance.status === 'running').map((x) => x.access));

    // 4. decide (the one observe→decide path shared with `plan` and the dashboard).
    const { decisions, outcomes } = assess(db, config, this.lastObservation).evaluation();
    this.lastOutcomes = outcomes;
    result.decisions = decisions.length;

    // 5. tell (alerts, resolutions, warnings) in one transaction, then 6. act.
    db.transaction((tx) => {
      for (const d of decisions) this.tell(tx as unknown as Db, d, now);
    });
    executor.beginTick();
    for (const d of decisions) {
      if (d.kind !== 'act') continue;
      if (d.action === 'boot') {
        const w = await this.deps.waker?.fromSchedule({ key: d.key, policy: d.policy, instance: d.instance, reason: d.reason, reasonCode: d.reasonCode, dryRun: d.dryRun, channels: d.channels });
        if (w) result.acted.push(w);
        continue;
      }
      const r = await executor.execute({
        key: d.key,
        policy: d.policy,
        action: d.action,
        instance: d.instance,
        reason: d.reason,
        reasonCode: d.reasonCode,
        requireIdle: d.requireIdle,
        dryRun: d.dryRun,
        who: 'policy',
        channels: d.channels,
        events: d.events,
        probes: d.probes,
        requireGpu: d.requireGpu,
        lastResort: d.lastResort,
      });
      if (r.state !== 'skipped') result.acted.push(r);
    }
    // 7. wakes: confirm the booted ones from this list, retry the waiting ones that are due.
    await this.deps.waker?.process(list);
    result.apiCalls = client.takeCalls();
    result.durationMs = Math.round(sw() - t0);
    db.insert(ticks)
      .values({ at: now, durationMs: result.durationMs, apiCalls: result.apiCalls, outcome: 'ok', instanceCount: list.length, decisions: decisions.length })
      .run();
    this.lastTickAt = now;
    this.deps.onTick?.(result);
    return result;
  }

  private tell(tx: Db, d: Decision, now: number): void {
    const { channels } = d;
    const all = this.deps.channels();
    const route = channels?.length ? all.filter((c) => channels.includes(c)) : all;
    if (d.kind === 'alert') raise(tx, { ...d.event, channels: d.event.channels ?? channels }, { now, channels: route, repeatMs: d.repeatMs });
    else if (d.kind === 'resolve') resolve(tx, d.dedupKey, { now, channels: route, data: d.data });
    else if (d.kind === 'warn') {
      const i = d.instance;
      raise(
        tx,
        {
          type: 'action_planned',
          dedupKey: `action_planned:${d.key}`,
          status: 'firing',
          data: {
            instance: { id: i.id, name: i.name, gpu_model: i.gpuModel, gpu_count: i.gpuUsed, price_per_hour: i.pricePerHour },
            policy: d.policy,
            action: d.action,
            reason: d.reason,
            ...(d.reasonCode ? { reason_code: d.reasonCode } : {}),
            planned_at: d.plannedAt,
            saving_per_hour: actionSavingPerHour(d.action, i),
          },
        },
        { now, channels: route, repeatMs: 400 * 86_400_000 },
      );
    }
  }
}
