/** The notifications pipeline: typed events, outbox + dedup (sync, inside the caller's transaction), templates, channels, sender. */
export type { StoredEvent, SendReason, Rendered, SnoozeLinks, Locale, NotifyDb, NotifyLog } from './types.js';
export {
  EVENT_TYPES,
  EVENT_DATA,
  EVENT_SEVERITY,
  readEvent,
  isOpaque,
  eventInstance,
  eventReason,
  type EventType,
  type EventData,
  type EventOf,
  type GuardEvent,
  type OpaqueEvent,
  type ResolveData,
  type DigestData,
  type Severity,
} from './events.js';
export { REASONS, formatReason, reasonText, formatDurationIn, type ReasonCode, type ReasonParams, type ReasonLocale } from './reasons.js';
export { decide, DEFAULT_REPEAT_MS, type AlertState, type Incoming, type Decision } from './dedup.js';
export { enqueue, raise, resolve, enqueueDigest, outboxDepth, listDeliveries } from './outbox.js';
export { pruneOutbox } from './retention.js';
export { render, type RenderOptions } from './render.js';
export { LOCALES } from './templates/index.js';
export { money, formatTime, escapeHtml, withoutCredentials } from './format.js';
export { makeSnoozeLinks, verifyToken, linkSecret, snoozeUntil, SKIP_MARGIN_MS, type SnoozeClaims, type SnoozeChoice } from './links.js';
export { notifyConfigSchema, resolveChannels, type NotifyConfig, type ChannelSpec } from './config.js';
export { Notifier, backoffMs, DEFAULT_RETRY, type NotifierOptions, type RetryOptions } from './notifier.js';
export { ChannelRegistry, channelRegistry } from './channels/registry.js';
export { ChannelSendError, type Channel, type ChannelKind, type ChannelContext } from './channels/types.js';
