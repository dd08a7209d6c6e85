/**
 * ntfy: POST the plain text to the topic URL with headers `Title`, `Priority` (`high` for critical events, else
 * `default`) and `Click` (= `http.public_url` when set); a `token` is sent as `Authorization: Bearer`. Any 2xx is
 * success. HTTP headers carry only ASCII, so a title with other characters (Chinese) is sent as an RFC 2047
 * encoded word `=?UTF-8?B?...?=`, which ntfy decodes (server 2.4.0 and later).
 * Config: `{ kind: ntfy, url: "https://ntfy.sh/<topic>", token: "tk_..." }` (token optional; or self-hosted)
 */
import { z } from 'zod';
import { post } from './http.js';
import type { ChannelKind } from './types.js';

/** Options of an ntfy topic. */
export const ntfySchema = z.strictObject({ url: z.url({ protocol: /^https?$/ }), token: z.string().min(1).optional() });

/** `s` as is when it is printable ASCII, else one RFC 2047 base64 encoded word (line breaks become spaces). */
export function headerSafe(s: string): string {
  const flat = s.replace(/[\r\n]+/g, ' ');
  return /^[\x20-\x7e]*$/.test(flat) ? flat : `=?UTF-8?B?${Buffer.from(flat, 'utf8').toString('base64')}?=`;
}

/** The ntfy channel kind. */
export const ntfyChannel: ChannelKind<typeof ntfySchema> = {
  kind: 'ntfy',
  schema: ntfySchema,
  create(o, ctx) {
    return {
      async send(r) {
        const headers: Record<string, string> = {
          'content-type': 'text/plain; charset=utf-8',
          title: headerSafe(r.subject),
          priority: r.severity === 'critical' ? 'high' : 'default',
        };
        if (ctx.publicUrl) headers.click = ctx.publicUrl;
        if (o.token) headers.authorization = `Bearer ${o.token}`;
        await post('ntfy', o.url, r.text, { timeoutMs: ctx.timeoutMs, headers });
      },
    };
  },
};
