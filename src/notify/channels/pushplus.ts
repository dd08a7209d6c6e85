/**
 * PushPlus (推送加, to WeChat): JSON POST `{ token, title, content, template: "markdown" }`; a 200 with
 * `code != 200` fails.
 * Config: `{ kind: pushplus, token: "...", url: "https://www.pushplus.plus/send" }` (url may be left out)
 */
import { z } from 'zod';
import { postJson, requireField } from './http.js';
import type { ChannelKind } from './types.js';

/** Options of a PushPlus token. */
export const pushplusSchema = z.strictObject({
  url: z.url({ protocol: /^https?$/ }).default('https://www.pushplus.plus/send'),
  token: z.string().min(1),
});

/** The PushPlus channel kind. */
export const pushplusChannel: ChannelKind<typeof pushplusSchema> = {
  kind: 'pushplus',
  schema: pushplusSchema,
  create(o, ctx) {
    return {
      async send(r) {
        const body = JSON.stringify({ token: o.token, title: r.subject, content: r.markdown, template: 'markdown' });
        const text = await postJson('pushplus', o.url, body, { timeoutMs: ctx.timeoutMs });
        requireField('pushplus', text, 'code', 200, ['msg']);
      },
    };
  },
};
