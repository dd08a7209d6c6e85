/**
 * Policy types: each is a pure function of (state, probe verdicts, overrides, now) returning decisions with a
 * human reason. The engine filters candidates (selector, keep marker, overrides, cooldown) before calling them.
 */
import type { z } from 'zod';
import type { PolicyConfig, ActionKind } from '../config/schema.js';
import type { GuardEvent, ResolveData } from '../notify/index.js';
import type { ReasonCode } from '../notify/reasons.js';

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
  /** since when it is shut down while still holding (and billing) its GPU; null otherwise */
  stoppedSince?: number | null;
  /** when it last stopped (the API's stop_timestamp), when known: a scheduled wake boots only what was down before its minute */
  stoppedAt?: number | null;
}

export type { Override } from '../db/overrides.js';

/** The next planned action for an instance ("nightly at 02:00, in 3h12m"; "idle 12m of 45m"). */
export interface NextAction {
  policy: string;
  action: string;
  /** epoch ms when it would happen if nothing changes; null when it depends on a condition (e.g. idle progress) */
  at: number | null;
  reason: string;
  /** the reason as a code (rendered in the reader's locale) */
  reasonCode?: ReasonCode;
  /** what holds the action back until `until` (a snooze, a timed exemption, the cooldown after a user boot) */
  heldBy?: { kind: 'snooze' | 'exempt' | 'cooldown'; until: number; overrideId?: number };
}

/** Idle state of an instance as the acting idle policy judges it, with every probe's last answer. */
export interface IdleInfo {
  verdict: 'busy' | 'idle' | 'unknown';
  /** epoch ms since when that verdict holds */
  since: number | null;
  probes: Record<string, ProbeView>;
}

/** One probe's last answer. */
export interface ProbeView {
  verdict: 'busy' | 'idle' | 'unknown';
  since: number | null;
  detail: string;
  /** the detail as a code (rendered in the reader's locale) */
  code?: ReasonCode;
  /** epoch ms when this answer was last stored (the probe loop re-stores the GPU's every `sample_every`) */
  checkedAt?: number;
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
  /** yuan accrued since the platform's last (hourly, in arrears) debit: already owed, not yet taken from the balance */
  unbilled: number;
  /** hours a recharge should cover: the first runway policy's `warn_hours` (12 without one) */
  topUpHours: number;
  /** estimated spend since the start of today / this month (configured time zone) */
  spend: { today: number; month: number; dayStart: number; monthStart: number };
  /** when the guard first warned about a situation (act/warn key -> epoch ms), for "act only after a warning" */
  warnedAt: Map<string, number>;
  /** format a time for reasons */
  fmtTime(t: number): string;
}

/** What a policy wants. */
export type PolicyDecision =
  | {
      kind: 'act';
      policy: string;
      action: ActionKind;
      instance: InstanceState;
      /** idempotency key: the same situation never yields a second action */
      key: string;
      reason: string;
      /** the reason as a code (rendered in the reader's locale) */
      reasonCode?: ReasonCode;
      /** whether the instance must still be idle right before acting */
      requireIdle: boolean;
      /** the probes whose opinion counts for the idle re-check (absent: all) */
      probes?: string[];
      /** the decision saw the GPU idle: acting needs a fresh GPU sample that still says so */
      requireGpu?: boolean;
      /** a last-resort release before the platform destroys everything: `#keep` and overrides do not hold it back */
      lastResort?: boolean;
      /** events raised alongside the action (e.g. runway_act) */
      events?: GuardEvent[];
    }
  | {
      kind: 'warn';
      policy: string;
      action: ActionKind;
      instance: InstanceState;
      /** the situation warned about: the same key as the act decision it announces */
      key: string;
      plannedAt: number;
      reason: string;
      reasonCode?: ReasonCode;
    }
  | { kind: 'alert'; policy: string; event: GuardEvent; repeatMs?: number }
  | { kind: 'resolve'; policy: string; dedupKey: string; data?: ResolveData };

/** How a decision is carried out, from its policy's config (filled in by the engine, not by policy types). */
export interface Routing {
  /** act decisions: journal only, send nothing (the policy's `dry_run`, else the global one) */
  dryRun: boolean;
  /** notification channels of the policy (absent: all configured channels) */
  channels?: string[];
}

/** A policy decision with its routing: everything the executor and the notifier need. */
export type Decision = PolicyDecision & Routing;

/** A policy type: its config schema, evaluation and "when will this act" for one instance. */
export interface PolicyType<C extends PolicyConfig = PolicyConfig> {
  type: C['type'];
  /** the zod schema of this policy's config (from src/config/schema.ts) */
  schema: z.ZodTypeAny;
  /** whether this type acts on instances (false: account-level alerts only) */
  actsOnInstances(cfg: C): boolean;
  evaluate(cfg: C, ctx: PolicyContext): PolicyDecision[];
  /** the next planned action for `inst` if nothing changes, or null */
  next?(cfg: C, ctx: PolicyContext, inst: InstanceState): NextAction | null;
  /** next fire time (schedule policies) */
  nextFireAt?(cfg: C, now: number, timezone: string): number | null;
}
