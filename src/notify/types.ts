/** Shared types of the notification pipeline: events, dedup reasons, rendered messages, channels. */
import type { BaseSQLiteDatabase } from 'drizzle-orm/sqlite-core';
import type * as schema from '../db/schema.js';

/** Every kind of notification the guard sends. */
export type EventType =
  | 'action_planned'
  | 'action_taken'
  | 'action_failed'
  | 'action_aborted'
  | 'balance_low'
  | 'runway_warn'
  | 'runway_act'
  | 'budget_exceeded'
  | 'guard_blind'
  | 'guard_recovered'
  | 'daily_digest';

/** All event types, in a stable order (for validation and docs). */
export const EVENT_TYPES: readonly EventType[] = [
  'action_planned',
  'action_taken',
  'action_failed',
  'action_aborted',
  'balance_low',
  'runway_warn',
  'runway_act',
  'budget_exceeded',
  'guard_blind',
  'guard_recovered',
  'daily_digest',
];

/** Why an event is being sent (Alertmanager-style dedup outcome). */
export type SendReason = 'first' | 'changed' | 'repeat' | 'resolved';

/**
 * One notification as raised by a policy, the executor or a job. `data` holds non-secret facts only:
 * instance {id,name,gpu_model,gpu_count,price_per_hour}, policy, reason, action, planned_at, balance,
 * threshold, hours_left, amount, limit, spent, ... (times as epoch ms or ISO strings, money in yuan).
 */
export interface GuardEvent {
  type: EventType;
  /** Identity of the alert across ticks, e.g. `balance_low:low-balance`. */
  dedupKey: string;
  /** What makes two firings "the same" (e.g. the threshold crossed, the planned time); differs -> `changed`. */
  fingerprint?: string;
  status?: 'firing' | 'resolved';
  /** Channel names to route to; default all configured channels. */
  channels?: string[];
  data: Record<string, unknown>;
}

/** An event as stored in the outbox and handed to templates and channels. */
export interface StoredEvent extends GuardEvent {
  id: number;
  reason: SendReason;
  createdAt: number;
}

/** One message rendered for every channel format. */
export interface Rendered {
  subject: string;
  text: string;
  html: string;
  markdown: string;
}

/** Snooze URLs for an `action_planned` message. */
export interface SnoozeLinks {
  h1: string;
  h2: string;
  skip: string;
}

/** Languages for emails, webhooks and the snooze page. */
export type Locale = 'zh-CN' | 'en';

/** A database handle or a transaction on it (enqueue/raise/resolve run inside the caller's transaction). */
export type NotifyDb = BaseSQLiteDatabase<'sync', unknown, typeof schema>;

/** Minimal structured logger (pino-compatible). */
export interface NotifyLog {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}
