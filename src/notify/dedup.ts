/** Alert dedup as a pure function: given what was last notified, should this event go out, and why? */
import type { EventType } from './events.js';
import type { SendReason } from './types.js';

/** What was last notified for one dedup key (a row of `alert_state`). */
export interface AlertState {
  type: string;
  status: 'firing' | 'resolved';
  fingerprint: string;
  firstAt: number;
  lastSentAt: number;
}

/** The incoming observation for one dedup key. */
export interface Incoming {
  type: string;
  status: 'firing' | 'resolved';
  fingerprint: string;
}

/** The verdict: send or not, the reason, and the state to store (undefined = nothing to store). */
export interface Decision {
  send: boolean;
  reason?: SendReason;
  nextState: AlertState | undefined;
}

const HOUR = 3_600_000;

/**
 * Default repeat interval per event type while still firing. One-shot events (actions, digests,
 * recoveries) never repeat. Callers override with the policy's own `repeat`.
 */
export const DEFAULT_REPEAT_MS: Record<EventType, number> = {
  action_planned: Infinity,
  action_taken: Infinity,
  action_failed: Infinity,
  action_aborted: Infinity,
  balance_low: 6 * HOUR,
  runway_warn: 6 * HOUR,
  runway_act: 6 * HOUR,
  // #15: every 30 minutes by default; the raiser passes 10 minutes in the last hour
  runway_critical: HOUR / 2,
  instances_destroyed: Infinity,
  budget_exceeded: 12 * HOUR,
  guard_blind: 6 * HOUR,
  guard_recovered: Infinity,
  wake_done: Infinity,
  wake_failed: Infinity,
  daily_digest: Infinity,
};

/**
 * Decide whether to notify. Firing: `first` (nothing firing before), `changed` (fingerprint differs),
 * `repeat` (repeatMs elapsed since the last notice), else quiet. Resolved: `resolved` only when a
 * firing notice was sent; otherwise quiet.
 */
export function decide(prev: AlertState | undefined, incoming: Incoming, now: number, repeatMs: number): Decision {
  if (incoming.status === 'resolved') {
    if (prev?.status !== 'firing') return { send: false, nextState: prev };
    return { send: true, reason: 'resolved', nextState: { ...prev, status: 'resolved', lastSentAt: now } };
  }
  if (!prev || prev.status !== 'firing') {
    return {
      send: true,
      reason: 'first',
      nextState: { type: incoming.type, status: 'firing', fingerprint: incoming.fingerprint, firstAt: now, lastSentAt: now },
    };
  }
  if (prev.fingerprint !== incoming.fingerprint) {
    return { send: true, reason: 'changed', nextState: { ...prev, type: incoming.type, fingerprint: incoming.fingerprint, lastSentAt: now } };
  }
  if (repeatMs > 0 && Number.isFinite(repeatMs) && now - prev.lastSentAt >= repeatMs) {
    return { send: true, reason: 'repeat', nextState: { ...prev, lastSentAt: now } };
  }
  return { send: false, nextState: prev };
}
