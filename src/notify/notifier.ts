/**
 * The sender: drains due outbox deliveries to their channels with retry and exponential backoff.
 *
 * Delivery guarantee: at least once per channel, usually exactly once. The sent marker is written right
 * after a channel confirms; if the process dies between the vendor's confirmation and that write (a window
 * of one SQLite write), the delivery is sent again after restart. All state is in SQLite, so pending
 * deliveries survive restarts. After `maxAttempts` failures a delivery is `dead`: kept, logged, counted.
 */
import { backoff } from '../backoff.js';
import type { Clock } from '../clock.js';
import { channelRegistry, type ChannelRegistry } from './channels/registry.js';
import type { Channel } from './channels/types.js';
import { resolveChannels, type NotifyConfig } from './config.js';
import { isOpaque } from './events.js';
import { makeSnoozeLinks, SKIP_MARGIN_MS } from './links.js';
import { combine, groupOrder, leadOf } from './group.js';
import { dueDeliveries, markFailed, markSent, type DueDelivery } from './outbox.js';
import { render } from './render.js';
import { LOCALES } from './templates/index.js';
import type { Locale, NotifyDb, NotifyLog, Rendered, StoredEvent } from './types.js';

/** Retry schedule of failed deliveries. */
export interface RetryOptions {
  /** base delay; attempt n waits about base * 2^n */
  baseMs: number;
  /** upper bound of one wait */
  capMs: number;
  /** attempts before a delivery is dead */
  maxAttempts: number;
}

/** Defaults: 30 s base, 1 h cap, 10 attempts (about 5 hours of trying). */
export const DEFAULT_RETRY: RetryOptions = { baseMs: 30_000, capMs: 3_600_000, maxAttempts: 10 };

/** Wait before the next try after `attempts` failures: min(cap, base*2^attempts), with equal jitter (50-100%). */
export function backoffMs(attempts: number, retry: Pick<RetryOptions, 'baseMs' | 'capMs'>, random: () => number = Math.random): number {
  return backoff(attempts, { base: retry.baseMs, cap: retry.capMs, jitter: 'equal' }, random);
}

/** Options of the Notifier. */
export interface NotifierOptions {
  db: NotifyDb;
  clock: Clock;
  log: NotifyLog;
  config: NotifyConfig | undefined;
  locale: Locale;
  timezone: string;
  /** `http.public_url`; without it action_planned messages carry no snooze links. */
  publicUrl?: string;
  retry?: Partial<RetryOptions>;
  /** per-request timeout of channels (default 10 s) */
  timeoutMs?: number;
  /** jitter source (tests pass a constant) */
  random?: () => number;
  registry?: ChannelRegistry;
}

/** Drains the outbox to the configured channels; `start()` polls, `drain()` runs one pass now. */
export class Notifier {
  private readonly channels = new Map<string, Channel>();
  private readonly secrets: string[] = [];
  private readonly retry: RetryOptions;
  private current: Promise<{ sent: number; failed: number }> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly opts: NotifierOptions) {
    this.retry = { ...DEFAULT_RETRY, ...opts.retry };
    const registry = opts.registry ?? channelRegistry;
    const ctx = { clock: opts.clock, timeoutMs: opts.timeoutMs ?? 10_000, publicUrl: opts.publicUrl };
    for (const spec of resolveChannels(opts.config, registry)) {
      this.channels.set(spec.name, registry.get(spec.kind).create(spec.options, ctx));
      this.collectSecrets(spec.options);
    }
  }

  /** Names of the configured channels (route events to these). */
  channelNames(): string[] {
    return [...this.channels.keys()];
  }

  /** Send every due delivery once; concurrent calls share one pass. */
  drain(): Promise<{ sent: number; failed: number }> {
    this.current ??= this.drainOnce().finally(() => {
      this.current = undefined;
    });
    return this.current;
  }

  /** Drain every `intervalMs` until stop(). */
  start(intervalMs = 10_000): void {
    this.stopped = false;
    const loop = async () => {
      try {
        await this.drain();
      } catch (err) {
        this.opts.log.error({ err: this.redact(String(err)) }, 'notify drain failed');
      }
      if (!this.stopped) {
        this.timer = setTimeout(loop, intervalMs);
        this.timer.unref();
      }
    };
    this.timer = setTimeout(loop, 0);
    this.timer.unref();
  }

  /** Stop polling, wait for an in-flight pass, close channel connections. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.current?.catch(() => undefined);
    for (const ch of this.channels.values()) await ch.close?.().catch(() => undefined);
  }

  /** One pass: the due deliveries of each channel go out as one grouped message (see group.ts). */
  private async drainOnce(): Promise<{ sent: number; failed: number }> {
    const { db, clock } = this.opts;
    let sent = 0;
    let failed = 0;
    const rendered = new Map<number, Rendered>();
    const tried = new Set<number>();
    for (;;) {
      const batch = dueDeliveries(db, clock.now(), 500).filter((d) => !tried.has(d.id));
      if (batch.length === 0) break;
      const byChannel = new Map<string, DueDelivery[]>();
      for (const d of batch) {
        tried.add(d.id);
        byChannel.set(d.channel, [...(byChannel.get(d.channel) ?? []), d]);
      }
      for (const [channel, group] of byChannel) {
        const ok = await this.sendGroup(channel, group.sort((a, b) => groupOrder(a.event, b.event)), rendered);
        if (ok) sent += group.length;
        else failed += group.length;
      }
    }
    return { sent, failed };
  }

  /** Send `group` (in message order) to `channel` as one message; mark each delivery sent or failed. */
  private async sendGroup(channel: string, group: DueDelivery[], rendered: Map<number, Rendered>): Promise<boolean> {
    const { db, clock, log, locale } = this.opts;
    const ch = this.channels.get(channel);
    const events = group.map((d) => d.event);
    try {
      if (!ch) throw new Error(`channel "${channel}" is not configured`);
      const parts = events.map((e) => {
        let r = rendered.get(e.id);
        if (!r) rendered.set(e.id, (r = this.render(e)));
        return r;
      });
      const lead = leadOf(events);
      await ch.send(combine(parts, lead, (LOCALES[locale] ?? LOCALES.en).words.more), events[lead], events);
      const now = clock.now();
      for (const d of group) {
        markSent(db, d.id, now);
        log.info({ channel, event_id: d.event.id, type: d.event.type, reason: d.event.reason, attempts: d.attempts + 1, grouped: group.length }, 'notification sent');
      }
      return true;
    } catch (err) {
      const error = this.redact(err instanceof Error ? err.message : String(err));
      const now = clock.now();
      for (const d of group) {
        const attempts = d.attempts + 1;
        const dead = !ch || attempts >= this.retry.maxAttempts;
        markFailed(db, d.id, { attempts, error, dead, nextAttemptAt: dead ? now : now + backoffMs(attempts, this.retry, this.opts.random) });
        const fields = { channel, event_id: d.event.id, type: d.event.type, attempts, error };
        if (dead) log.error(fields, 'notification dead: giving up');
        else log.warn(fields, 'notification failed; will retry');
      }
      return false;
    }
  }

  /** Render with snooze links (deterministic per event, valid until the planned time plus a margin). */
  private render(e: StoredEvent): Rendered {
    const { locale, timezone, publicUrl, db } = this.opts;
    let links;
    if (!isOpaque(e) && e.type === 'action_planned' && publicUrl) {
      const { instance, policy, planned_at: plannedAt } = e.data;
      links = makeSnoozeLinks(
        db,
        { instanceId: instance.id, instanceName: instance.name, policy, plannedAt },
        { publicUrl, now: e.createdAt, ttlMs: Math.max(plannedAt + SKIP_MARGIN_MS - e.createdAt, 15 * 60_000), linkId: `e${e.id}` },
      );
    }
    return render(e, { locale, timezone, publicUrl, links });
  }

  private collectSecrets(options: Record<string, unknown>): void {
    for (const key of ['url', 'smtp_url', 'secret', 'token']) {
      const v = options[key];
      if (typeof v !== 'string' || !v) continue;
      this.secrets.push(v);
      try {
        const u = new URL(v);
        if (u.password) this.secrets.push(u.password, decodeURIComponent(u.password));
        for (const value of u.searchParams.values()) if (value.length >= 6) this.secrets.push(value);
        for (const seg of u.pathname.split('/')) if (seg.length >= 16) this.secrets.push(seg);
      } catch {
        /* not a URL: the whole value is already listed */
      }
    }
    this.secrets.sort((a, b) => b.length - a.length);
  }

  /** Replace every configured secret (webhook URLs and their tokens, SMTP passwords, signing keys) in `s`. */
  private redact(s: string): string {
    let out = s;
    for (const secret of this.secrets) out = out.split(secret).join('[redacted]');
    return out;
  }
}
