/** The channel registry: every kind once; an unknown kind is answered with the list of valid ones. */
import { ConfigError } from '../../errors.js';
import { barkChannel } from './bark.js';
import { dingtalkChannel } from './dingtalk.js';
import { emailChannel } from './email.js';
import { feishuChannel } from './feishu.js';
import { ntfyChannel } from './ntfy.js';
import { pushplusChannel } from './pushplus.js';
import { serverchanChannel } from './serverchan.js';
import { slackChannel } from './slack.js';
import { telegramChannel } from './telegram.js';
import type { ChannelKind } from './types.js';
import { webhookChannel } from './webhook.js';
import { wecomChannel } from './wecom.js';

/** A set of channel kinds keyed by `kind`. */
export class ChannelRegistry {
  private readonly byKind = new Map<string, ChannelKind>();
  constructor(kinds: ChannelKind[] = []) {
    for (const k of kinds) this.register(k);
  }
  /** Add a kind; a second kind with the same name is an error. */
  register(k: ChannelKind): void {
    if (this.byKind.has(k.kind)) throw new Error(`channel kind "${k.kind}" is already registered`);
    this.byKind.set(k.kind, k);
  }
  /** The kind named `kind`, or a ConfigError at `path` listing the valid kinds. */
  get(kind: string, path = 'kind'): ChannelKind {
    const k = this.byKind.get(kind);
    if (!k) throw new ConfigError(path, `unknown channel kind "${kind}"; valid kinds: ${this.kinds().join(', ')}`);
    return k;
  }
  /** Registered kind names, sorted. */
  kinds(): string[] {
    return [...this.byKind.keys()].sort();
  }
}

/** Built-in webhook kinds (everything but email). */
export const WEBHOOK_KINDS = [
  webhookChannel,
  wecomChannel,
  dingtalkChannel,
  feishuChannel,
  slackChannel,
  serverchanChannel,
  pushplusChannel,
  barkChannel,
  ntfyChannel,
  telegramChannel,
] as const;

/** The registry with every built-in channel kind. */
export const channelRegistry = new ChannelRegistry([emailChannel as ChannelKind, ...(WEBHOOK_KINDS as readonly ChannelKind[])]);
