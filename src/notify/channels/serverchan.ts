/**
 * ServerChan (Server酱, to WeChat): JSON POST `{ title, desp }` (desp is markdown) to the SendKey URL; a 200 with
 * `code != 0` fails. ServerChan shows at most 32 characters of a title, so longer subjects are cut.
 * Config: `{ kind: serverchan, url: "https://sctapi.ftqq.com/<SENDKEY>.send" }`
 */
import { z } from 'zod';
import { clip, postJson, requireZero } from './http.js';
import type { ChannelKind } from './types.js';

/** Options of a ServerChan SendKey. */
export const serverchanSchema = z.strictObject({ url: z.url({ protocol: /^https?$/ }) });

/** The ServerChan channel kind. */
export const serverchanChannel: ChannelKind<typeof serverchanSchema> = {
  kind: 'serverchan',
  schema: serverchanSchema,
  create(o, ctx) {
    return {
      async send(r) {
        const body = JSON.stringify({ title: clip(r.subject, 32), desp: `**${r.subject}**\n\n${r.markdown}` });
        const text = await postJson('serverchan', o.url, body, { timeoutMs: ctx.timeoutMs });
        requireZero('serverchan', text, ['code'], ['message', 'info']);
      },
    };
  },
};
