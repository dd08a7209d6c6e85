/** The channel contract: one file per kind exporting `{ kind, schema, create }`, listed in the registry. */
import type { z } from 'zod';
import type { Clock } from '../../clock.js';
import type { Rendered, StoredEvent } from '../types.js';

/**
 * A configured, ready-to-use channel. `send` resolves on confirmed delivery and throws on any failure. `rendered`
 * may hold a group of events: `event` leads it and `events` lists them all in message order.
 */
export interface Channel {
  send(rendered: Rendered, event: StoredEvent, events?: StoredEvent[]): Promise<void>;
  close?(): Promise<void>;
}

/** What every channel gets besides its options. */
export interface ChannelContext {
  /** Signing timestamps come from here (vendors reject stale ones, so production passes the system clock). */
  clock: Clock;
  /** Per-request timeout. */
  timeoutMs: number;
  /** `http.public_url`, the dashboard; push channels that carry a link (Bark, ntfy) send it when set. */
  publicUrl?: string;
}

/** A kind of channel: its option schema (strict zod) and a factory. */
export interface ChannelKind<S extends z.ZodType = z.ZodType> {
  kind: string;
  schema: S;
  create(options: z.infer<S>, ctx: ChannelContext): Channel;
}

/** A send that failed; `detail` never contains a URL, token or secret. */
export class ChannelSendError extends Error {
  constructor(
    public readonly channelKind: string,
    public readonly detail: string,
    public readonly status?: number,
  ) {
    super(`${channelKind}: ${detail}`);
    this.name = 'ChannelSendError';
  }
}
