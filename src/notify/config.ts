/**
 * The `notify:` config section and how it becomes named channels.
 * ```yaml
 * notify:
 *   email:    { smtp_url: "smtps://user:pass@smtp.example.com", from: guard@example.com, to: [me@example.com] }
 *   webhooks: [ { kind: wecom, url: "https://..." }, { kind: dingtalk, url: "https://...", secret: "SEC...", name: ops } ]
 * ```
 * A channel's name is `email`, or the webhook's `name`, default `<kind>` (or `<kind>-<index in webhooks>`
 * when that kind appears more than once).
 */
import { z } from 'zod';
import { ConfigError, ConfigErrors } from '../errors.js';
import { barkSchema } from './channels/bark.js';
import { dingtalkSchema } from './channels/dingtalk.js';
import { emailSchema } from './channels/email.js';
import { feishuSchema } from './channels/feishu.js';
import { ntfySchema } from './channels/ntfy.js';
import { pushplusSchema } from './channels/pushplus.js';
import { channelRegistry, type ChannelRegistry } from './channels/registry.js';
import { serverchanSchema } from './channels/serverchan.js';
import { slackSchema } from './channels/slack.js';
import { telegramSchema } from './channels/telegram.js';
import { webhookSchema } from './channels/webhook.js';
import { wecomSchema } from './channels/wecom.js';

const nameSchema = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, "_", "." and "-" only');

const named = { name: nameSchema.optional() };

/** One webhook entry: `{ kind, url, secret?, token?, name? }` plus the kind's own options (strict per kind). */
export const webhookEntrySchema = z.discriminatedUnion('kind', [
  webhookSchema.extend({ kind: z.literal('webhook'), ...named }),
  wecomSchema.extend({ kind: z.literal('wecom'), ...named }),
  dingtalkSchema.extend({ kind: z.literal('dingtalk'), ...named }),
  feishuSchema.extend({ kind: z.literal('feishu'), ...named }),
  slackSchema.extend({ kind: z.literal('slack'), ...named }),
  serverchanSchema.extend({ kind: z.literal('serverchan'), ...named }),
  pushplusSchema.extend({ kind: z.literal('pushplus'), ...named }),
  barkSchema.extend({ kind: z.literal('bark'), ...named }),
  ntfySchema.extend({ kind: z.literal('ntfy'), ...named }),
  telegramSchema.extend({ kind: z.literal('telegram'), ...named }),
]);

/** The `notify:` section (strict: unknown keys are errors). */
export const notifyConfigSchema = z.strictObject({
  email: emailSchema.optional(),
  webhooks: z.array(webhookEntrySchema).default([]),
});

/** The parsed `notify:` section. */
export type NotifyConfig = z.input<typeof notifyConfigSchema>;

/** A channel ready to be created: its unique name, kind and validated options. */
export interface ChannelSpec {
  name: string;
  kind: string;
  options: Record<string, unknown>;
}

/**
 * Turn the config section into named channel specs, validating each entry with its kind's schema.
 * Throws ConfigErrors naming paths such as `notify.webhooks[1].url`; duplicate names are errors.
 */
export function resolveChannels(cfg: NotifyConfig | undefined, registry: ChannelRegistry = channelRegistry): ChannelSpec[] {
  const errors: ConfigError[] = [];
  const specs: ChannelSpec[] = [];
  const check = (kind: string, raw: unknown, path: string, name: string) => {
    let k;
    try {
      k = registry.get(kind, `${path}.kind`);
    } catch (e) {
      errors.push(e as ConfigError);
      return;
    }
    const r = k.schema.safeParse(raw);
    if (!r.success) {
      for (const issue of r.error.issues) errors.push(new ConfigError([path, ...issue.path.map(String)].join('.'), issue.message));
      return;
    }
    specs.push({ name, kind, options: r.data as Record<string, unknown> });
  };
  if (cfg?.email) check('email', cfg.email, 'notify.email', 'email');
  const hooks = (cfg?.webhooks ?? []) as Array<Record<string, unknown>>;
  const count = new Map<string, number>();
  for (const h of hooks) count.set(String(h.kind), (count.get(String(h.kind)) ?? 0) + 1);
  hooks.forEach((h, i) => {
    const { kind, name, ...rest } = h;
    const path = `notify.webhooks[${i}]`;
    const finalName = typeof name === 'string' && name ? name : (count.get(String(kind)) ?? 0) > 1 ? `${String(kind)}-${i}` : String(kind);
    check(String(kind), rest, path, finalName);
  });
  const seen = new Set<string>();
  for (const s of specs) {
    if (seen.has(s.name)) errors.push(new ConfigError('notify.webhooks', `duplicate channel name "${s.name}"`));
    seen.add(s.name);
  }
  if (errors.length) throw new ConfigErrors(errors);
  return specs;
}
