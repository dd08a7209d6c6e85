/**
 * How a policy's findings become decisions, shared by the policy types: a policy says which instances, why and when
 * the action falls due; this module builds the act and warn decisions (their keys, planned times and the rule that
 * some actions go out only after a warning), as Cloud Custodian separates filters from actions.
 */
import type { ActionKind } from '../config/schema.js';
import type { InstanceState, PolicyContext, PolicyDecision } from './types.js';

type Act = Extract<PolicyDecision, { kind: 'act' }>;
type Warn = Extract<PolicyDecision, { kind: 'warn' }>;
/** What a policy says of an act: why, and what the executor must re-check. */
export type ActFields = Pick<Act, 'reason' | 'reasonCode' | 'probes' | 'requireGpu' | 'lastResort' | 'events'> & { requireIdle?: boolean };
/** What a policy says of a warning: why. */
export type WarnFields = Pick<Warn, 'reason' | 'reasonCode'>;

/** An act decision of policy `cfg` on `inst` for the situation `key`. */
export function act(cfg: { name: string; action: ActionKind }, inst: InstanceState, key: string, f: ActFields): Act {
  return { kind: 'act', policy: cfg.name, action: cfg.action, instance: inst, key, ...f, requireIdle: f.requireIdle ?? false };
}

/** A warning of policy `cfg` that it plans to act on `inst` at `plannedAt`, for the situation `key`. */
export function warn(cfg: { name: string; action: ActionKind }, inst: InstanceState, key: string, plannedAt: number, f: WarnFields): Warn {
  return { kind: 'warn', policy: cfg.name, action: cfg.action, instance: inst, key, plannedAt, ...f };
}

/** When the action on one situation is planned, and whether it may go ahead then. */
export interface Plan {
  /** the situation's key: an act and the warnings that announce it share it */
  key: string;
  /** when the action is planned */
  at: number;
  /** how long ahead of `at` a warning goes out (0: none, unless one must go out first) */
  warnBefore: number;
  /** whether a warning must have gone out before the act */
  warnFirst: boolean;
  /** whether that warning has gone out (always true when none is needed) */
  warned: boolean;
}

/**
 * The plan for the situation `key`, due at `due`. With `warnFirst`, never before the first warning is `warnBefore`
 * old: a situation found late is announced now and acted on `warnBefore` later.
 */
export function plan(ctx: PolicyContext, key: string, due: number, warnBefore: number, warnFirst: boolean): Plan {
  if (!warnFirst) return { key, at: due, warnBefore, warnFirst, warned: true };
  const warned = ctx.warnedAt.get(key);
  const firstWarn = warned ?? Math.max(ctx.now, due - warnBefore);
  return { key, at: Math.max(due, firstWarn + warnBefore), warnBefore, warnFirst, warned: warned !== undefined };
}

/** The decision a plan calls for at `ctx.now`: the act once it is due (and announced where it must be), a warning within its lead, else none. */
export function decide(cfg: { name: string; action: ActionKind }, ctx: PolicyContext, inst: InstanceState, p: Plan, f: { act: ActFields; warn: WarnFields }): PolicyDecision | null {
  if (p.warned && ctx.now >= p.at) return act(cfg, inst, p.key, f.act);
  if ((p.warnBefore > 0 || p.warnFirst) && ctx.now >= p.at - p.warnBefore) return warn(cfg, inst, p.key, p.at, f.warn);
  return null;
}
