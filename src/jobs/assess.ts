/**
 * One path from an observation to decisions, used by the tick, `xgc-guard plan` and the dashboard: join the
 * fresh instance list with the recorded stretches, the stored probe answers (or live ones), overrides in force,
 * cooldowns and today's spend into the engine input; then evaluate the policies, plan the next action per
 * instance and judge idleness as the acting policy would. Reads the database, writes nothing.
 */
import type { Config } from '../config/schema.js';
import type { Db } from '../db/open.js';
import { activeOverrides } from '../db/overrides.js';
import { firstWarnings } from '../db/events.js';
import { cooldownsAfterBoot } from '../db/journal.js';
import { instanceStretches } from '../db/instances.js';
import { billedTotal } from '../db/billed-intervals.js';
import { unbilledSince } from '../db/balance.js';
import { billedRate, bucketStart, holdsGpu } from '../money.js';
import { evaluatePolicies, idleViews, nextActions, type EngineInput, type PolicyOutcome } from '../policies/engine.js';
import type { Decision, IdleInfo, InstanceState, NextAction, ProbeView } from '../policies/types.js';
import { staleAfterByProbe } from '../probes/options.js';
import { loadProbeState } from '../probes/runner.js';
import type { Instance } from '../xgc/types.js';

/** What one successful observe step saw. */
export interface Observation {
  now: number;
  list: Instance[];
  /** null when the balance is not known */
  balance: number | null;
}

/** How to assess when the daemon's own history is not the whole story (`plan`). */
export interface AssessOptions {
  /** probe answers to use instead of the stored ones (plan probes live) */
  probes?: Map<string, Record<string, ProbeView>>;
  /** take stretches the database does not know from the API's start time (plan without the daemon's history) */
  stretchesFromApi?: boolean;
}

/** Instances as policies see them: the fresh list joined with the recorded stretches. */
export function instanceStates(db: Db, list: Instance[], opts: { stretchesFromApi?: boolean; now?: number } = {}): InstanceState[] {
  const stretches = instanceStretches(db, list.map((i) => i.id));
  return list.map((i) => {
    const s = stretches.get(i.id);
    const holds = holdsGpu(i);
    let billedSince = s?.billedSince ?? null;
    let runningSince = s?.runningSince ?? null;
    const stoppedWithGpu = i.status === 'shutdown' && holds;
    let stoppedSince = stoppedWithGpu ? (s?.stoppedSince ?? null) : null;
    if (opts.stretchesFromApi) {
      const from = i.startedAt ?? opts.now ?? null;
      if (billedSince === null && holds) billedSince = from;
      if (runningSince === null && i.status === 'running') runningSince = from;
      if (stoppedSince === null && stoppedWithGpu) stoppedSince = i.stoppedAt ?? opts.now ?? null;
    }
    return {
      id: i.id,
      name: i.name,
      status: i.status,
      gpuModel: i.gpuModel,
      gpuUsed: i.gpuUsed,
      pricePerHour: i.pricePerHour,
      retainPrice: i.retainPrice,
      rate: billedRate(i),
      holdsGpu: holds,
      image: i.image,
      billedSince,
      runningSince,
      stoppedSince,
      stoppedAt: i.stoppedAt,
    };
  });
}

/**
 * The stored probe answers as policies see them at `now`: an answer older than its probe's `staleAfter` (ms)
 * counts as unknown, whatever it said.
 */
export function storedProbeViews(db: Db, ids: string[], now: number, staleAfter: Record<string, number>): Map<string, Readonly<Record<string, Readonly<ProbeView>>>> {
  const out = new Map<string, Readonly<Record<string, Readonly<ProbeView>>>>();
  for (const [id, rec] of loadProbeState(db, ids)) {
    let v: Record<string, Readonly<ProbeView>> | null = null;
    for (const name in rec) {
      const a = rec[name];
      const age = now - a.checkedAt;
      const limit = staleAfter[name];
      if (limit === undefined || age <= limit) continue;
      v ??= { ...rec };
      v[name] = {
        verdict: 'unknown',
        // not seen since the answer went stale (or since the stored unknown answer began)
        since: a.verdict === 'unknown' && a.since !== null ? a.since : a.checkedAt + limit,
        detail: `stale: last answer ${Math.round(age / 1000)}s ago (${a.detail})`,
        code: { code: 'probe.stale', params: { probe: name, age_ms: age }, details: a.code ? [a.code] : [] },
        checkedAt: a.checkedAt,
      };
    }
    out.set(id, v ?? rec);
  }
  return out;
}

/** Build the engine input for an observation. */
export function engineInput(db: Db, config: Config, obs: Observation, opts: AssessOptions = {}): EngineInput {
  const { now } = obs;
  const states = opts.stretchesFromApi ? instanceStates(db, obs.list, { stretchesFromApi: true, now }) : instanceStates(db, obs.list);
  const dayStart = bucketStart(now, 'day', config.timezone);
  const monthStart = bucketStart(now, 'month', config.timezone);
  // Spend so far today / this month only matters to budget policies: computed on first use.
  let today: number | undefined;
  let month: number | undefined;
  const spend = {
    dayStart,
    monthStart,
    get today() {
      return (today ??= billedTotal(db, dayStart, now, now));
    },
    get month() {
      return (month ??= billedTotal(db, monthStart, now, now));
    },
  };
  return {
    now,
    config,
    instances: states,
    probes: opts.probes ?? storedProbeViews(db, states.map((s) => s.id), now, staleAfterByProbe(config.probes)),
    balance: obs.balance,
    // only money policies (runway, balance) reckon with what the platform has not debited yet
    unbilled: config.policies.some((p) => p.type === 'runway' || p.type === 'balance') ? unbilledSince(db, now) : 0,
    spend,
    overrides: activeOverrides(db, now),
    cooldownUntil: cooldownsAfterBoot(db, now, config.limits.cooldown_after_boot),
    warnedAt: firstWarnings(db, now),
  };
}

/** The outcome of assessing one observation; each part is computed on first use. */
export interface Assessment {
  input: EngineInput;
  /** what every policy decides now (with routing), and per-policy counts */
  evaluation(): { decisions: Decision[]; outcomes: PolicyOutcome[] };
  /** the earliest planned action per instance */
  next(): Map<string, NextAction | null>;
  /** the idle state per instance as the acting idle policy judges it */
  idle(): Map<string, IdleInfo>;
}

/** Assess an observation: the one observe→decide path. */
export function assess(db: Db, config: Config, obs: Observation, opts: AssessOptions = {}): Assessment {
  const input = engineInput(db, config, obs, opts);
  let evaluation: ReturnType<Assessment['evaluation']> | undefined;
  let next: Map<string, NextAction | null> | undefined;
  let idle: Map<string, IdleInfo> | undefined;
  return {
    input,
    evaluation: () => (evaluation ??= evaluatePolicies(input)),
    next: () => (next ??= nextActions(input)),
    idle: () => (idle ??= idleViews(input)),
  };
}
