/** Shared types of the notification pipeline: events, dedup reasons, rendered messages, channels. */
import type { BaseSQLiteDatabase } from 'drizzle-orm/sqlite-core';
import type * as schema from '../db/schema.js';
import type { GuardEvent, OpaqueEvent, Severity } from './events.js';

export type { EventType, GuardEvent, OpaqueEvent, Severity } from './events.js';

/** Why an event is being sent (Alertmanager-style dedup outcome). */
export type SendReason = 'first' | 'changed' | 'repeat' | 'resolved';

/** An event as stored in the outbox and handed to templates and channels (opaque when its shape is unreadable). */
export type StoredEvent = (GuardEvent | OpaqueEvent) & {
  id: number;
  reason: SendReason;
  createdAt: number;
};

/** One message rendered for every channel format. */
export interface Rendered {
  severity: Severity;
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
