/**
 * WeCom (企业微信) group bot: `{ msgtype: "markdown", markdown: { content } }`; a 200 with `errcode != 0` fails.
 * Config: `{ kind: wecom, url: "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=..." }`
 */
import { z } from 'zod';
import { postJson, requireZero } from './http.js';
import type { ChannelKind } from './types.js';

/** Options of a WeCom bot (no signing exists for it). */
export const wecomSchema = z.strictObject({ url: z.url({ protocol: /^https?$/ }) });

/** WeCom markdown content is limited to 4096 bytes. */
function clipBytes(s: string, max: number): string {
  if (Buffer.byteLength(s) <= max) return s;
  let out = s;
  while (Buffer.byteLength(out) > max - 3) out = out.slice(0, Math.floor(out.length * 0.9));
  return out + '...';
}

/** The WeCom bot channel kind. */
export const wecomChannel: ChannelKind<typeof wecomSchema> = {
  kind: 'wecom',
  schema: wecomSchema,
  create(o, ctx) {
    return {
      async send(r) {
        const body = JSON.stringify({ msgtype: 'markdown', markdown: { content: clipBytes(r.markdown, 4096) } });
        const text = await postJson('wecom', o.url, body, { timeoutMs: ctx.timeoutMs });
        requireZero('wecom', text, ['errcode'], ['errmsg']);
      },
    };
  },
};
