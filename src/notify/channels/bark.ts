/**
 * Bark (iOS push): JSON POST `{ title, body, group: "xgc-guard" }` to the device URL, plus `url` (opened on tap)
 * = `http.public_url` when it is set; a 200 with `code != 200` fails.
 * Config: `{ kind: bark, url: "https://api.day.app/<device_key>" }` (or a self-hosted bark-server)
 */
import { z } from 'zod';
import { postJson, requireField } from './http.js';
import type { ChannelKind } from './types.js';

/** Options of a Bark device. */
export const barkSchema = z.strictObject({ url: z.url({ protocol: /^https?$/ }) });

/** The Bark channel kind. */
export const barkChannel: ChannelKind<typeof barkSchema> = {
  kind: 'bark',
  schema: barkSchema,
  create(o, ctx) {
    return {
      async send(r) {
        const msg: Record<string, string> = { title: r.subject, body: r.text, group: 'xgc-guard' };
        if (ctx.publicUrl) msg.url = ctx.publicUrl;
        const text = await postJson('bark', o.url.replace(/\/+$/, ''), JSON.stringify(msg), { timeoutMs: ctx.timeoutMs });
        requireField('bark', text, 'code', 200, ['message']);
      },
    };
  },
};
