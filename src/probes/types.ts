/**
 * The probe contract: a probe looks at one running instance and answers busy, idle or unknown.
 * Probes never throw on purpose, never put a secret into `detail`, and respect `ctx.timeoutMs` / `ctx.signal`.
 */
import type { Clock } from '../clock.js';
import type { Db } from '../db/open.js';
import type { ReasonCode } from '../notify/reasons.js';
import type { InstanceAccess } from '../xgc/types.js';

/** A probe's verdict. `unknown` never counts as idle. */
export type Verdict = 'busy' | 'idle' | 'unknown';

/** What a probe answers for one instance. */
export interface ProbeResult {
  verdict: Verdict;
  /** Epoch ms the current state began, when the probe knows it (e.g. Jupyter's latest last_activity). */
  since?: number;
  /** Human-readable reason (English); never contains a secret. */
  detail: string;
  /** The same reason as a code with parameters, rendered in each reader's locale (src/notify/reasons.ts). */
  code?: ReasonCode;
  /** Numbers worth keeping (GPU %, kernel counts, ...). */
  metrics?: Record<string, number>;
}

/** Minimal pino-like logger. */
export interface ProbeLogger {
  warn(obj: unknown, msg?: string): void;
  info(obj: unknown, msg?: string): void;
  debug(obj: unknown, msg?: string): void;
}

/** What a probe gets besides the instance: time, its time budget, the database and a logger. */
export interface ProbeContext {
  /** Time of this probe round (epoch ms, from `clock`). */
  now: number;
  clock: Clock;
  /** Budget for this run; the runner also enforces it from outside. */
  timeoutMs: number;
  db: Db;
  log?: ProbeLogger;
  /** Aborted when the runner gives up on this run (timeout); probes should stop their I/O. */
  signal?: AbortSignal;
}

/** One idle-signal source. */
export interface ProbeDefinition {
  /** Unique name, also the key in config (`probes.<name>`) and in results. */
  name: string;
  /** Whether this probe can say anything about this instance (endpoint/credentials/image present). */
  appliesTo(access: InstanceAccess): boolean;
  /** Probe one instance. Should resolve (not reject); the runner turns rejections into `unknown` anyway. */
  run(access: InstanceAccess, ctx: ProbeContext): Promise<ProbeResult>;
  /** Timeout used by the runner when the options give none. */
  defaultTimeoutMs: number;
}

/** A kind of probe in the registry: its name and how to build it from its (already ms-converted) options. */
export interface ProbeKind<O extends object = object> {
  name: string;
  /** Build a probe from options; missing fields take the probe's defaults. */
  create(options?: Partial<O>): ProbeDefinition;
}
