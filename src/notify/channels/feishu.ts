/**
 * Feishu (飞书) bot: `{ msg_type: "text", content: { text } }` or, with `format: interactive`, a card with a
 * markdown element. With a `secret` (签名校验): sign = base64(HMAC-SHA256(key = timestamp_s + "\n" + secret,
 * message = empty)), sent as `timestamp` (seconds, string) and `sign` in the body. A 200 with `code != 0` fails.
 * Config: `{ kind: feishu, url: "https://open.feishu.cn/open-apis/bot/v2/hook/...", secret: "..." }`
 */
import { createHmac } from 'node:crypto';
import { z } from 'zod';
import { postJson, requireZero } from './http.js';
import type { ChannelKind } from './types.js';

/** Options of a Feishu bot. */
export const feishuSchema = z.strictObject({
  url: z.url({ protocol: /^https?$/ }),
  secret: z.string().min(1).optional(),
  format: z.enum(['text', 'interactive']).default('text'),
});

/** Card header colour per severity. */
const CARD_COLOR = { info: 'blue', warning: 'orange', critical: 'red' } as const;

/** Feishu's signature for `timestampS` (seconds). */
export function feishuSign(secret: string, timestampS: number): string {
  return createHmac('sha256', `${timestampS}\n${secret}`).update(Buffer.alloc(0)).digest('base64');
}

/** The Feishu bot channel kind. */
export const feishuChannel: ChannelKind<typeof feishuSchema> = {
  kind: 'feishu',
  schema: feishuSchema,
  create(o, ctx) {
    return {
      async send(r) {
        const msg =
          o.format === 'interactive'
            ? {
                msg_type: 'interactive',
                card: {
                  config: { wide_screen_mode: true },
                  header: { title: { tag: 'plain_text', content: r.subject }, template: CARD_COLOR[r.severity] },
                  elements: [{ tag: 'markdown', content: r.markdown }],
                },
              }
            : { msg_type: 'text', content: { text: `${r.subject}\n\n${r.text}` } };
        const ts = Math.floor(ctx.clock.now() / 1000);
        const signed = o.secret ? { timestamp: String(ts), sign: feishuSign(o.secret, ts) } : {};
        const text = await postJson('feishu', o.url, JSON.stringify({ ...signed, ...msg }), { timeoutMs: ctx.timeoutMs });
        requireZero('feishu', text, ['code', 'StatusCode'], ['msg', 'StatusMessage']);
      },
    };
  },
};
