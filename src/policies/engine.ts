/**
 * The policy engine: for each configured policy, filter its candidates (selector, keep marker, overrides in
 * force, cooldown after a user boot) and evaluate it. Pure: the same input gives the same decisions.
 */
import type { Config, IdlePolicyConfig, PolicyConfig } from '../config/schema.js';
import { formatTime } from '../notify/format.js';
import { idleView } from './idle.js';
import { policyRegistry, type PolicyRegistry } from './registry.js';
import { hasKeepMarker, overrideMatches, policySelects } from './selector.js';
import type { Decision, IdleInfo, InstanceState, NextAction, Override, PolicyContext, ProbeView } from './types.js';

/** What one evaluation looks at. */
export interface EngineInput {
  now: number;
  config: Pick<Config, 'policies' | 'timezone' | 'keep_marker' | 'locale' | 'dry_run'>;
  instances: InstanceState[];
  probes: Map<string, Record<string, ProbeView>>;
  balance: number | null;
  /** yuan accrued since the platform's last debit (absent: 0) */
  unbilled?: number;
  spend: PolicyContext['spend'];
  /** overrides in force at `now` */
  overrides: Override[];
  /** instances the user booted after a guard release: left alone until the given time */
  cooldownUntil: Map<string, number>;
  /** when the guard first warned about a situation (warn key -> epoch ms); absent = never warned */
  warnedAt?: Map<string, number>;
}

/** Why an instance is not a candidate of a policy (for "when will this stop" and logs). */
export type Exclusion = 'selector' | 'keep_marker' | 'override' | 'cooldown';

/** The verdict of the filters for one (policy, instance). */
export function exclusion(p: PolicyConfig, inst: InstanceState, input: EngineInput): Exclusion | null {
  if (!policySelects(p, inst)) return 'selector';
  if (hasKeepMarker(inst.name, input.config.keep_marker)) return 'keep_marker';
  if (input.overrides.some((o) => overrideMatches(o, inst, p.name))) return 'override';
  const cool = input.cooldownUntil.get(inst.id);
  if (cool !== undefined && cool > input.now) return 'cooldown';
  return null;
}

function contextFor(p: PolicyConfig, input: EngineInput): PolicyContext {
  return {
    now: input.now,
    timezone: input.config.timezone,
    candidates: input.instances.filter((i) => exclusion(p, i, input) === null),
    all: input.instances,
    probes: input.probes,
    balance: input.balance,
    unbilled: input.unbilled ?? 0,
    topUpHours: input.config.policies.find((q) => q.type === 'runway')?.warn_hours ?? 12,
    spend: input.spend,
    warnedAt: input.warnedAt ?? new Map(),
    fmtTime: (t) => formatTime(t, input.config.timezone),
  };
}

/**
 * A policy's context with its candidates as a set too: the per-instance views below ask "is this instance a
 * candidate" once per (instance, policy), which on the array was a scan of all instances each time.
 */
function withCandidateSet<P extends PolicyConfig, T extends object>(p: P, input: EngineInput, extra: T) {
  const ctx = contextFor(p, input);
  return { p, ctx, isCandidate: new Set(ctx.candidates), ...extra };
}

/** Per-policy outcome of one evaluation. */
export interface PolicyOutcome {
  policy: string;
  decisions: number;
  acts: number;
  warns: number;
  alerts: number;
}

/**
 * Evaluate every policy. Acting decisions come out in policy order, then instance order, each carrying its
 * routing (dry-run, channels) from its policy's config, so nobody has to look the policy up again.
 */
export function evaluatePolicies(input: EngineInput, registry: PolicyRegistry = policyRegistry): { decisions: Decision[]; outcomes: PolicyOutcome[] } {
  const decisions: Decision[] = [];
  const outcomes: PolicyOutcome[] = [];
  for (const p of input.config.policies) {
    const type = registry.get(p.type);
    const routing = { dryRun: p.dry_run ?? input.config.dry_run, channels: p.channels };
    const ds = type.evaluate(p, contextFor(p, input)).map((d): Decision => ({ ...d, ...routing }));
    decisions.push(...ds);
    outcomes.push({
      policy: p.name,
      decisions: ds.length,
      acts: ds.filter((d) => d.kind === 'act').length,
      warns: ds.filter((d) => d.kind === 'warn').length,
      alerts: ds.filter((d) => d.kind === 'alert').length,
    });
  }
  return { decisions, outcomes };
}

/** What holds policy `p` back from `inst` for a while (a snooze, a timed exemption, the cooldown), or null. */
function hold(p: PolicyConfig, inst: InstanceState, input: EngineInput): NonNullable<NextAction['heldBy']> | 'forever' | null {
  const ovs = input.overrides.filter((o) => overrideMatches(o, inst, p.name));
  if (ovs.some((o) => o.forever || o.until === null)) return 'forever';
  if (ovs.length) {
    const last = ovs.reduce((a, b) => ((b.until ?? 0) > (a.until ?? 0) ? b : a));
    return { kind: last.kind, until: last.until!, overrideId: last.id };
  }
  const cool = input.cooldownUntil.get(inst.id);
  return cool !== undefined && cool > input.now ? { kind: 'cooldown', until: cool } : null;
}

/**
 * For each instance, the earliest planned action across policies (null when none applies). An instance held
 * back by a snooze, a timed exemption or the cooldown after a boot gets what follows once the hold ends
 * (`heldBy` says what holds it and until when); a selector, `#keep` or a forever exemption means nothing follows.
 */
export function nextActions(input: EngineInput, registry: PolicyRegistry = policyRegistry): Map<string, NextAction | null> {
  const out = new Map<string, NextAction | null>();
  const ctxs = input.config.policies.map((p) => withCandidateSet(p, input, { type: registry.get(p.type) }));
  for (const inst of input.instances) {
    let best: NextAction | null = null;
    for (const { p, type, ctx, isCandidate } of ctxs) {
      if (!type.next || !type.actsOnInstances(p)) continue;
      let n: NextAction | null;
      if (isCandidate.has(inst)) n = type.next(p, ctx, inst);
      else {
        const why = exclusion(p, inst, input);
        if (why !== 'override' && why !== 'cooldown') continue;
        const held = hold(p, inst, input);
        if (held === null || held === 'forever') continue;
        const after = type.next(p, ctx, inst);
        n = after && { ...after, at: Math.max(after.at ?? held.until, held.until), heldBy: held };
      }
      if (n && (best === null || (n.at ?? Infinity) < (best.at ?? Infinity))) best = n;
    }
    out.set(inst.id, best);
  }
  return out;
}

/**
 * The idle state of every instance as the idle policy that would act on it judges it (its probe list; the
 * earliest-acting one when several apply), or by every probe when no idle policy applies. The dashboard shows
 * this, so the page agrees with the decision.
 */
export function idleViews(input: EngineInput, registry: PolicyRegistry = policyRegistry): Map<string, IdleInfo> {
  const idlePolicies = input.config.policies.filter((p): p is IdlePolicyConfig => p.type === 'idle' && p.action !== 'notify');
  const ctxs = idlePolicies.map((p) => withCandidateSet(p, input, {}));
  const type = registry.get<IdlePolicyConfig>('idle');
  const out = new Map<string, IdleInfo>();
  for (const inst of input.instances) {
    let acting: { p: IdlePolicyConfig; at: number } | null = null;
    for (const { p, ctx, isCandidate } of ctxs) {
      if (!isCandidate.has(inst)) continue;
      const at = type.next?.(p, ctx, inst)?.at ?? Infinity;
      if (acting === null || at < acting.at) acting = { p, at };
    }
    out.set(inst.id, idleView(inst, input.probes.get(inst.id), acting?.p.probes));
  }
  return out;
}
