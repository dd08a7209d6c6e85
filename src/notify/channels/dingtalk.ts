/**
 * DingTalk (钉钉) bot: `{ msgtype: "markdown", markdown: { title, text } }`. With a `secret` (加签):
 * sign = urlencode(base64(HMAC-SHA256(key = secret, timestamp_ms + "\n" + secret))), appended to the URL as
 * `&timestamp=<ms>&sign=<sign>`. A 200 with `errcode != 0` fails.
 * Config: `{ kind: dingtalk, url: "https://oapi.dingtalk.com/robot/send?access_token=...", secret: "SEC..." }`
 */
import { createHmac } from 'node:crypto';
import { z } from 'zod';
import { postJson, requireZero } from './http.js';
import type { ChannelKind } from './types.js';

/** Options of a DingTalk bot. */
export const dingtalkSchema = z.strictObject({ url: z.url({ protocol: /^https?$/ }), secret: z.string().min(1).optional() });

/** DingTalk's signature for `timestampMs` (base64, not yet URL-encoded). */
export function dingtalkSign(secret: string, timestampMs: number): string {
  return createHmac('sha256', secret).update(`${timestampMs}\n${secret}`).digest('base64');
}

/** The DingTalk bot channel kind. */
export const dingtalkChannel: ChannelKind<typeof dingtalkSchema> = {
  kind: 'dingtalk',
  schema: dingtalkSchema,
  create(o, ctx) {
    return {
      async send(r) {
        let url = o.url;
        if (o.secret) {
          const ts = ctx.clock.now();
          url += `${url.includes('?') ? '&' : '?'}timestamp=${ts}&sign=${encodeURIComponent(dingtalkSign(o.secret, ts))}`;
        }
        const body = JSON.stringify({ msgtype: 'markdown', markdown: { title: r.subject, text: r.markdown } });
        const text = await postJson('dingtalk', url, body, { timeoutMs: ctx.timeoutMs });
        requireZero('dingtalk', text, ['errcode'], ['errmsg']);
      },
    };
  },
};
