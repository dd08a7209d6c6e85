/**
 * One tick: observe (list + balance: 2 calls), record (one transaction), probe running instances, decide
 * (pure policy engine), act (executor with rails), tell (outbox). A failed observe is a blind tick: nothing is
 * inferred or decided from missing data, the tick is recorded, and `guard_blind` goes out after
 * `blind_alert_after` consecutive blind ticks.
 */
import { and, desc, eq, gt, inArray, isNotNull } from 'drizzle-orm';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { Config } from '../config/schema.js';
import type { Db } from '../db/open.js';
import { recordObservation, type RecordResult } from '../db/record.js';
import { actions, instances as instancesTable, ticks } from '../db/schema.js';
import { estimatedByInstance } from '../db/spend.js';
import { activeOverrides } from '../http/overrides-store.js';
import { bucketStart } from '../money.js';
import { billedRate, holdsGpu } from '../money.js';
import { raise, resolve } from '../notify/index.js';
import { evaluatePolicies, nextActions, type EngineInput, type PolicyOutcome } from '../policies/engine.js';
import type { Decision, InstanceState, ProbeView } from '../policies/types.js';
import { loadProbeState, persistProbeResults, runProbes, type ProbeOptions } from '../probes/runner.js';
import type { Executor, ActResult } from '../actions/executor.js';
import { errorClass, type XgcClient } from '../xgc/index.js';
import type { Instance, InstanceAccess, InstanceWithAccess } from '../xgc/types.js';

/** Probe options from the config (durations already in ms). */
export function probeOptionsFromConfig(c: Config['probes']): ProbeOptions {
  return {
    jupyter: { enabled: c.jupyter.enabled, timeoutMs: c.jupyter.timeout, countConnections: c.jupyter.count_connections, activeWindowMs: c.jupyter.active_window },
    comfyui: { enabled: c.comfyui.enabled, timeoutMs: c.comfyui.timeout, force: c.comfyui.force },
    sdwebui: { enabled: c.sdwebui.enabled, timeoutMs: c.sdwebui.timeout, force: c.sdwebui.force },
    ssh: {
      enabled: c.ssh.enabled,
      timeoutMs: c.ssh.timeout,
      privateKeyFile: c.ssh.private_key_file,
      gpuBusyPercent: c.ssh.gpu_busy_percent,
      samples: c.ssh.samples,
      sampleIntervalMs: c.ssh.sample_interval,
    },
    heartbeat: { enabled: c.heartbeat.enabled, staleAfterMs: c.heartbeat.stale_after, gpuBusyPercent: c.heartbeat.gpu_busy_percent },
  };
}

/** Instances as policies see them: the fresh list joined with the recorded stretches. */
export function instanceStates(db: Db, list: Instance[]): InstanceState[] {
  const ids = list.map((i) => i.id);
  const rows = ids.length
    ? db.select({ id: instancesTable.id, billedSince: instancesTable.billedSince, runningSince: instancesTable.runningSince }).from(instancesTable).where(inArray(instancesTable.id, ids)).all()
    : [];
  const m = new Map(rows.map((r) => [r.id, r]));
  return list.map((i) => ({
    id: i.id,
    name: i.name,
    status: i.status,
    gpuModel: i.gpuModel,
    gpuUsed: i.gpuUsed,
    pricePerHour: i.pricePerHour,
    retainPrice: i.retainPrice,
    rate: billedRate(i),
    holdsGpu: holdsGpu(i),
    image: i.image,
    billedSince: m.get(i.id)?.billedSince ?? null,
    runningSince: m.get(i.id)?.runningSince ?? null,
  }));
}

/** Instances the user booted again after a guard release, left alone until the cooldown ends. */
export function cooldowns(db: Db, now: number, cooldownMs: number): Map<string, number> {
  const rows = db
    .select({ instanceId: actions.instanceId, rebootedAt: actions.rebootedAt })
    .from(actions)
    .where(and(eq(actions.mode, 'enforce'), isNotNull(actions.rebootedAt), gt(actions.rebootedAt, now - cooldownMs)))
    .all();
  const m = new Map<string, number>();
  for (const r of rows) m.set(r.instanceId, Math.max(m.get(r.instanceId) ?? 0, r.rebootedAt! + cooldownMs));
  return m;
}

/** Probe answers as policies see them. */
export function probeViews(db: Db, ids: string[]): Map<string, Record<string, ProbeView>> {
  const stored = loadProbeState(db, ids);
  const out = new Map<string, Record<string, ProbeView>>();
  for (const [id, rec] of stored) {
    const v: Record<string, ProbeView> = {};
    for (const [name, a] of Object.entries(rec)) v[name] = { verdict: a.verdict, since: a.since ?? null, detail: a.detail };
    out.set(id, v);
  }
  return out;
}

/** Build the engine input for `now` from the DB and a fresh list. */
export function engineInput(db: Db, config: Config, now: number, list: Instance[], balance: number | null): EngineInput {
  const states = instanceStates(db, list);
  const dayStart = bucketStart(now, 'day', config.timezone);
  const monthStart = bucketStart(now, 'month', config.timezone);
  const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
  // Spend so far today / this month only matters to budget policies: computed on first use.
  let today: number | undefined;
  let month: number | undefined;
  const spend = {
    dayStart,
    monthStart,
    get today() {
      return (today ??= sum(estimatedByInstance(db, dayStart, now)));
    },
    get month() {
      return (month ??= sum(estimatedByInstance(db, monthStart, now)));
    },
  };
  return {
    now,
    config,
    instances: states,
    probes: probeViews(db, states.map((s) => s.id)),
    balance,
    spend,
    overrides: activeOverrides(db, now),
    cooldownUntil: cooldowns(db, now, config.limits.cooldown_after_boot),
  };
}

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
  /** whether this process may tick (single-writer lease) */
  isLeader?(): boolean;
  /** called after every tick (metrics) */
  onTick?(r: TickResult): void;
  /** wall-time measurement (performance.now by default) */
  stopwatch?(): number;
}

/** Runs ticks; keeps the blind streak and the last outcomes for the API. */
export class Ticker {
  blindStreak = 0;
  lastOutcomes: PolicyOutcome[] = [];
  lastTickAt: number | null = null;
  /** the last successful observation (for the API's "next action") */
  lastList: Instance[] = [];
  lastBalance: number | null = null;
  private accesses = new Map<string, InstanceAccess>();

  constructor(private readonly deps: TickerDeps) {
    const recent = deps.db.select({ outcome: ticks.outcome }).from(ticks).orderBy(desc(ticks.id)).limit(1000).all();
    for (const r of recent) {
      if (r.outcome !== 'blind') break;
      this.blindStreak++;
    }
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
      log.warn({ cls: result.errorClass, streak: this.blindStreak, msg: (e as Error).message }, 'blind tick: cloud API failed; nothing decided');
      this.deps.onTick?.(result);
      return result;
    }
    const list = listed.map((x) => x.instance);
    result.observed = { instances: list, balance };
    this.accesses = new Map(listed.map((x) => [x.instance.id, x.access]));

    // 2. record (one transaction), and clear a blind alert.
    result.recorded = recordObservation(db, now, list, balance);
    if (this.blindStreak > 0) {
      resolve(db, 'guard_blind', { now, channels: this.deps.channels(), data: { ticks: this.blindStreak } });
      this.blindStreak = 0;
    }
    this.lastList = list;
    this.lastBalance = balance;

    // 3. probe the running instances.
    const running = listed.filter((x) => x.instance.status === 'running').map((x) => x.access);
    if (running.length) {
      const res = await runProbes(running, probeOptionsFromConfig(config.probes), { db, clock: this.deps.clock, log, concurrency: config.probes.concurrency });
      persistProbeResults(db, res, now);
    }

    // 4. decide.
    const input = engineInput(db, config, now, list, balance);
    const { decisions, outcomes } = evaluatePolicies(input);
    this.lastOutcomes = outcomes;
    result.decisions = decisions.length;

    // 5. tell (alerts, resolutions, warnings) in one transaction, then 6. act.
    const policyByName = new Map(config.policies.map((p) => [p.name, p]));
    db.transaction((tx) => {
      for (const d of decisions) this.tell(tx as unknown as Db, d, now, policyByName.get(d.policy)?.channels);
    });
    executor.beginTick();
    for (const d of decisions) {
      if (d.kind !== 'act') continue;
      const p = policyByName.get(d.policy);
      const r = await executor.execute({
        key: d.key,
        policy: d.policy,
        action: d.action,
        instance: d.instance,
        reason: d.reason,
        requireIdle: d.requireIdle,
        dryRun: p?.dry_run ?? config.dry_run,
        who: 'policy',
        channels: p?.channels,
        events: d.events,
        probes: p?.type === 'idle' ? p.probes : undefined,
      });
      if (r.state !== 'skipped') result.acted.push(r);
    }
    result.apiCalls = client.takeCalls();
    result.durationMs = Math.round(sw() - t0);
    db.insert(ticks)
      .values({ at: now, durationMs: result.durationMs, apiCalls: result.apiCalls, outcome: 'ok', instanceCount: list.length, decisions: decisions.length })
      .run();
    this.lastTickAt = now;
    this.deps.onTick?.(result);
    return result;
  }

  private tell(tx: Db, d: Decision, now: number, channels: string[] | undefined): void {
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
          dedupKey: `action_planned:${d.policy}:${i.id}:${d.plannedAt}`,
          status: 'firing',
          data: {
            instance: { id: i.id, name: i.name, gpu_model: i.gpuModel, gpu_count: i.gpuUsed, price_per_hour: i.pricePerHour },
            policy: d.policy,
            action: d.action,
            reason: d.reason,
            planned_at: d.plannedAt,
            amount: i.pricePerHour,
          },
        },
        { now, channels: route, repeatMs: 400 * 86_400_000 },
      );
    }
  }

  /** "When will this stop" for every instance of the last successful observation. */
  nextActions(now: number) {
    return nextActions(engineInput(this.deps.db, this.deps.config, now, this.lastList, this.lastBalance));
  }
}
