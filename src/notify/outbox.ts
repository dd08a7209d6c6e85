/**
 * The outbox: events are written synchronously in the caller's transaction, one delivery row per
 * routed channel; the Notifier drains deliveries later. Dedup state lives in `alert_state`.
 */
import { and, asc, desc, eq, lte, sql } from 'drizzle-orm';
import { alertState, outboxDeliveries, outboxEvents } from '../db/schema.js';
import { decide, DEFAULT_REPEAT_MS, type AlertState } from './dedup.js';
import { readEvent, type DigestData, type EventEnvelope, type GuardEvent, type ResolveData } from './events.js';
import { withoutCredentials } from './format.js';
import type { NotifyDb, SendReason, StoredEvent } from './types.js';

const SECRET_KEYS = /^(password|passwd|ssh_key|jupyter_token|xgcos_token|token|api_token|secret|smtp_url)$/i;

/**
 * Deep copy of `data` without keys that name secrets, and with URLs (`*url` keys) cut to scheme, host and path
 * (tokens ride in user info and queries). A last line of defence; callers pass facts only.
 */
export function scrubSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(scrubSecrets);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (SECRET_KEYS.test(k)) continue;
      out[k] = /url$/i.test(k) && typeof v === 'string' ? withoutCredentials(v) : scrubSecrets(v);
    }
    return out;
  }
  return value;
}

/** What an outbox row's payload holds. */
interface Payload extends EventEnvelope {
  type: string;
  data: unknown;
}

/**
 * Store `event` and one pending delivery per channel (event.channels if given, else opts.channels).
 * Synchronous SQLite writes only; runs inside the caller's transaction (nested as a savepoint). Returns the event id.
 */
export function enqueue(db: NotifyDb, event: GuardEvent & { reason: SendReason }, opts: { channels: string[]; now: number }): number {
  return insertEvent(db, event, event.reason, opts);
}

function insertEvent(db: NotifyDb, event: Payload, reason: SendReason, opts: { channels: string[]; now: number }): number {
  const channels = [...new Set(event.channels ?? opts.channels)];
  const payload = payloadOf(event);
  return db.transaction((tx) => {
    const row = tx
      .insert(outboxEvents)
      .values({ type: event.type, dedupKey: event.dedupKey, reason, payload: JSON.stringify(payload), createdAt: opts.now })
      .returning({ id: outboxEvents.id })
      .get();
    for (const channel of channels) {
      tx.insert(outboxDeliveries).values({ eventId: row.id, channel, state: 'pending', attempts: 0, nextAttemptAt: opts.now }).run();
    }
    return row.id;
  });
}

/** The stored form of an event: its envelope and its data without secrets. */
function payloadOf(event: Payload): Payload {
  return {
    type: event.type,
    dedupKey: event.dedupKey,
    fingerprint: event.fingerprint ?? '',
    status: event.status ?? 'firing',
    channels: event.channels,
    data: scrubSecrets(event.data),
  };
}

function loadAlertState(db: NotifyDb, dedupKey: string): AlertState | undefined {
  const row = db.select().from(alertState).where(eq(alertState.dedupKey, dedupKey)).get();
  if (!row) return undefined;
  return { type: row.type, status: row.status === 'firing' ? 'firing' : 'resolved', fingerprint: row.fingerprint, firstAt: row.firstAt, lastSentAt: row.lastSentAt };
}

/** Store the dedup state of `dedupKey`; `latest` (a firing event's payload JSON) replaces the stored one when given. */
function saveAlertState(db: NotifyDb, dedupKey: string, s: AlertState, latest?: string): void {
  const set = { type: s.type, status: s.status, fingerprint: s.fingerprint, firstAt: s.firstAt, lastSentAt: s.lastSentAt, ...(latest !== undefined ? { latest } : {}) };
  db.insert(alertState)
    .values({ dedupKey, ...set })
    .onConflictDoUpdate({ target: alertState.dedupKey, set })
    .run();
}

/** The data of the latest firing observation stored for `dedupKey`, if any. */
function latestData(db: NotifyDb, dedupKey: string): Record<string, unknown> | undefined {
  const row = db.select({ latest: alertState.latest }).from(alertState).where(eq(alertState.dedupKey, dedupKey)).get();
  if (!row?.latest) return undefined;
  const p = JSON.parse(row.latest) as Payload;
  return p.data && typeof p.data === 'object' ? (p.data as Record<string, unknown>) : undefined;
}

/**
 * Dedup `event` against `alert_state` (see `decide`) and enqueue it when it should go out. A firing observation is
 * stored as the condition's latest even when nothing is sent, so the alert shows the figure now.
 * `repeatMs` defaults to DEFAULT_REPEAT_MS[event.type]. Synchronous; call it inside the decision's transaction.
 */
export function raise(db: NotifyDb, event: GuardEvent, opts: { now: number; repeatMs?: number; channels: string[] }): { sent: boolean; reason?: SendReason } {
  if ((event.status ?? 'firing') === 'resolved') {
    const sent = resolve(db, event.dedupKey, { now: opts.now, channels: event.channels ?? opts.channels, data: event.data });
    return sent ? { sent, reason: 'resolved' } : { sent };
  }
  return db.transaction((tx) => {
    const prev = loadAlertState(tx, event.dedupKey);
    const d = decide(prev, { type: event.type, status: 'firing', fingerprint: event.fingerprint ?? '' }, opts.now, opts.repeatMs ?? DEFAULT_REPEAT_MS[event.type]);
    if (d.nextState) saveAlertState(tx, event.dedupKey, d.nextState, JSON.stringify(payloadOf({ ...event, status: 'firing' })));
    if (!d.send || !d.reason) return { sent: false };
    enqueue(tx, { ...event, status: 'firing', reason: d.reason }, { channels: opts.channels, now: opts.now });
    return { sent: true, reason: d.reason };
  });
}

/** The event type a resolved notice uses: guard_blind clears as guard_recovered, others keep their type. */
function resolvedType(type: string): string {
  return type === 'guard_blind' ? 'guard_recovered' : type;
}

/**
 * Clear the alert `dedupKey`. Sends one resolved notice (data = the latest firing observation's data merged
 * with opts.data) only if a firing notice was sent; returns whether it did. Synchronous.
 */
export function resolve(db: NotifyDb, dedupKey: string, opts: { now: number; channels: string[]; data?: ResolveData }): boolean {
  return db.transaction((tx) => {
    const prev = loadAlertState(tx, dedupKey);
    const d = decide(prev, { type: prev?.type ?? '', status: 'resolved', fingerprint: prev?.fingerprint ?? '' }, opts.now, Infinity);
    if (!d.send || !d.nextState || !prev) return false;
    saveAlertState(tx, dedupKey, d.nextState);
    const last = tx.select().from(outboxEvents).where(eq(outboxEvents.dedupKey, dedupKey)).orderBy(desc(outboxEvents.id)).limit(1).get();
    const lastEvent = last ? readEvent(last.payload, last) : undefined;
    // The merged data is checked when the notice is read back: a shape that no longer fits renders generically.
    insertEvent(
      tx,
      {
        type: resolvedType(prev.type),
        dedupKey,
        fingerprint: prev.fingerprint,
        status: 'resolved',
        channels: lastEvent?.channels,
        data: { ...(latestData(tx, dedupKey) ?? lastEvent?.data ?? {}), ...(opts.data ?? {}), firing_since: prev.firstAt },
      },
      'resolved',
      { channels: opts.channels, now: opts.now },
    );
    return true;
  });
}

/** Enqueue the daily digest for `data.day` once (a second call for the same day is a no-op). Synchronous. */
export function enqueueDigest(db: NotifyDb, data: DigestData, opts: { now: number; channels: string[]; only?: string[] }): { sent: boolean } {
  const r = raise(db, { type: 'daily_digest', dedupKey: `daily_digest:${data.day}`, fingerprint: data.day, channels: opts.only, data }, { now: opts.now, channels: opts.channels, repeatMs: Infinity });
  return { sent: r.sent };
}

/** Counts for /metrics and the dashboard: deliveries still to send, and given-up ones. */
export function outboxDepth(db: NotifyDb): { pending: number; dead: number } {
  const rows = db
    .select({ state: outboxDeliveries.state, n: sql<number>`count(*)` })
    .from(outboxDeliveries)
    .groupBy(outboxDeliveries.state)
    .all();
  const get = (s: string) => Number(rows.find((r) => r.state === s)?.n ?? 0);
  return { pending: get('pending'), dead: get('dead') };
}

/** One delivery row with its event, as the sender sees it. */
export interface DueDelivery {
  id: number;
  channel: string;
  attempts: number;
  event: StoredEvent;
}

/** Pending deliveries whose next attempt is due, oldest first. */
export function dueDeliveries(db: NotifyDb, now: number, limit = 50): DueDelivery[] {
  const rows = db
    .select({ d: outboxDeliveries, e: outboxEvents })
    .from(outboxDeliveries)
    .innerJoin(outboxEvents, eq(outboxEvents.id, outboxDeliveries.eventId))
    .where(and(eq(outboxDeliveries.state, 'pending'), lte(outboxDeliveries.nextAttemptAt, now)))
    .orderBy(asc(outboxDeliveries.nextAttemptAt), asc(outboxDeliveries.id))
    .limit(limit)
    .all();
  return rows.map(({ d, e }) => ({
    id: d.id,
    channel: d.channel,
    attempts: d.attempts,
    event: { ...readEvent(e.payload, e), id: e.id, reason: e.reason as SendReason, createdAt: e.createdAt },
  }));
}

/** Set the sent marker (called right after a successful send). */
export function markSent(db: NotifyDb, id: number, now: number): void {
  db.update(outboxDeliveries)
    .set({ state: 'sent', sentAt: now, attempts: sql`${outboxDeliveries.attempts} + 1`, lastError: null })
    .where(eq(outboxDeliveries.id, id))
    .run();
}

/** Record a failed attempt: retry at `nextAttemptAt`, or `dead` when `dead` is true. */
export function markFailed(db: NotifyDb, id: number, f: { attempts: number; error: string; nextAttemptAt: number; dead: boolean }): void {
  db.update(outboxDeliveries)
    .set({ state: f.dead ? 'dead' : 'pending', attempts: f.attempts, lastError: f.error.slice(0, 500), nextAttemptAt: f.nextAttemptAt })
    .where(eq(outboxDeliveries.id, id))
    .run();
}

/** Recent deliveries (newest first), for the dashboard and debugging; `state` filters. */
export function listDeliveries(db: NotifyDb, opts: { state?: 'pending' | 'sent' | 'dead'; limit?: number } = {}) {
  return db
    .select({
      id: outboxDeliveries.id,
      eventId: outboxDeliveries.eventId,
      type: outboxEvents.type,
      reason: outboxEvents.reason,
      channel: outboxDeliveries.channel,
      state: outboxDeliveries.state,
      attempts: outboxDeliveries.attempts,
      nextAttemptAt: outboxDeliveries.nextAttemptAt,
      sentAt: outboxDeliveries.sentAt,
      lastError: outboxDeliveries.lastError,
      createdAt: outboxEvents.createdAt,
    })
    .from(outboxDeliveries)
    .innerJoin(outboxEvents, eq(outboxEvents.id, outboxDeliveries.eventId))
    .where(opts.state ? eq(outboxDeliveries.state, opts.state) : undefined)
    .orderBy(desc(outboxDeliveries.id))
    .limit(opts.limit ?? 100)
    .all();
}
