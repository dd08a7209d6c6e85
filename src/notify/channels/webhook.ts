/**
 * Generic webhook: JSON POST of the event (the lead of a grouped message; `events` lists every event in it). With a `secret`, `X-Guard-Signature: sha256=<hex HMAC-SHA256 of
 * the raw body>`; always `X-Guard-Timestamp` (unix seconds, also in the body as `sent_at`, so it is signed).
 * Config: `{ kind: webhook, url: https://example.com/hook, secret: "..." }`
 */
import { createHmac } from 'node:crypto';
import { z } from 'zod';
import { postJson } from './http.js';
import type { ChannelKind } from './types.js';

/** Options of a generic webhook. */
export const webhookSchema = z.strictObject({ url: z.url({ protocol: /^https?$/ }), secret: z.string().min(1).optional() });

/** The generic webhook channel kind. */
export const webhookChannel: ChannelKind<typeof webhookSchema> = {
  kind: 'webhook',
  schema: webhookSchema,
  create(o, ctx) {
    return {
      async send(r, e, all = [e]) {
        const ts = Math.floor(ctx.clock.now() / 1000);
        const body = JSON.stringify({
          id: e.id,
          type: e.type,
          reason: e.reason,
          status: e.status ?? 'firing',
          severity: r.severity,
          dedup_key: e.dedupKey,
          created_at: new Date(e.createdAt).toISOString(),
          sent_at: new Date(ts * 1000).toISOString(),
          subject: r.subject,
          text: r.text,
          data: e.data,
          events: all.map((x) => ({ id: x.id, type: x.type, reason: x.reason, status: x.status ?? 'firing', dedup_key: x.dedupKey, data: x.data })),
        });
        const headers: Record<string, string> = { 'x-guard-timestamp': String(ts), 'x-guard-event': e.type };
        if (o.secret) headers['x-guard-signature'] = `sha256=${createHmac('sha256', o.secret).update(body).digest('hex')}`;
        await postJson('webhook', o.url, body, { timeoutMs: ctx.timeoutMs, headers });
      },
    };
  },
};
