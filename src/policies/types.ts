/**
 * Policy types: each is a pure function of (state, probe verdicts, overrides, now) returning decisions with a
 * human reason. The engine filters candidates (selector, keep marker, overrides, cooldown) before calling them.
 */
import type { z } from 'zod';
import type { PolicyConfig, ActionKind } from '../config/schema.js';
import type { GuardEvent, ResolveData } from '../notify/index.js';
import type { NextAction } from '../http/service.js';

/** An instance as policies see it (no secrets). */
export interface InstanceState {
  id: string;
  name: string;
  status: string;
  gpuModel: string;
  gpuUsed: number;
  pricePerHour: number;
  retainPrice: number;
  /** ¥/h billed right now */
  rate: number;
  holdsGpu: boolean;
  image: string;
  /** start of the current continuous GPU-holding stretch */
  billedSince: number | null;
  /** start of the current running stretch */
  runningSince: number | null;
}

/** One probe's last answer. */
export interface ProbeView {
  verdict: 'busy' | 'idle' | 'unknown';
  since: number | null;
  detail: string;
}

/** Everything a policy may look at. */
export interface PolicyContext {
  now: number;
  timezone: string;
  /** instances this policy may act on (already filtered) */
  candidates: InstanceState[];
  /** every current instance (for account-level arithmetic such as burn rate) */
  all: InstanceState[];
  probes: Map<string, Record<string, ProbeView>>;
  balance: number | null;
  /** estimated spend since the start of today / this month (configured time zone) */
  spend: { today: number; month: number; dayStart: number; monthStart: number };
  /** format a time for reasons */
  fmtTime(t: number): string;
}

/** What a policy wants. */
export type Decision =
  | {
      kind: 'act';
      policy: string;
      action: ActionKind;
      instance: InstanceState;
      /** idempotency key: the same situation never yields a second action */
      key: string;
      reason: string;
      /** whether the instance must still be idle right before acting */
      requireIdle: boolean;
      /** events raised alongside the action (e.g. runway_act) */
      events?: GuardEvent[];
    }
  | { kind: 'warn'; policy: string; action: ActionKind; instance: InstanceState; plannedAt: number; reason: string }
  | { kind: 'alert'; policy: string; event: GuardEvent; repeatMs?: number }
  | { kind: 'resolve'; policy: string; dedupKey: string; data?: ResolveData };

/** A policy type: its config schema, evaluation and "when will this act" for one instance. */
export interface PolicyType<C extends PolicyConfig = PolicyConfig> {
  type: C['type'];
  /** the zod schema of this policy's config (from src/config/schema.ts) */
  schema: z.ZodTypeAny;
  /** whether this type acts on instances (false: account-level alerts only) */
  actsOnInstances(cfg: C): boolean;
  evaluate(cfg: C, ctx: PolicyContext): Decision[];
  /** the next planned action for `inst` if nothing changes, or null */
  next?(cfg: C, ctx: PolicyContext, inst: InstanceState): NextAction | null;
  /** next fire time (schedule policies) */
  nextFireAt?(cfg: C, now: number, timezone: string): number | null;
}
