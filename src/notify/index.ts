/** The notifications pipeline: outbox + dedup (sync, inside the caller's transaction), templates, channels, sender. */
export type { EventType, GuardEvent, StoredEvent, SendReason, Rendered, SnoozeLinks, Locale, NotifyDb, NotifyLog } from './types.js';
export { EVENT_TYPES } from './types.js';
export { decide, DEFAULT_REPEAT_MS, type AlertState, type Incoming, type Decision } from './dedup.js';
export { enqueue, raise, resolve, enqueueDigest, outboxDepth, listDeliveries, type DigestData } from './outbox.js';
export { pruneOutbox } from './retention.js';
export { render, type RenderOptions } from './render.js';
export { money, formatTime, escapeHtml } from './format.js';
export { makeSnoozeLinks, verifyToken, linkSecret, snoozeUntil, SKIP_MARGIN_MS, type SnoozeClaims, type SnoozeChoice } from './links.js';
export { notifyConfigSchema, resolveChannels, type NotifyConfig, type ChannelSpec } from './config.js';
export { Notifier, backoffMs, DEFAULT_RETRY, type NotifierOptions, type RetryOptions } from './notifier.js';
export { ChannelRegistry, channelRegistry } from './channels/registry.js';
export { ChannelSendError, type Channel, type ChannelKind, type ChannelContext } from './channels/types.js';
