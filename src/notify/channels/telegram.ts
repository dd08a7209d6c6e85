/**
 * Telegram bot: JSON POST `{ chat_id, text }` to `<url>/sendMessage` (text = subject, blank line, plain text, cut
 * to Telegram's 4096 characters); an answer without `ok: true` fails.
 * Config: `{ kind: telegram, url: "https://api.telegram.org/bot<token>", chat_id: "123456789" }`
 */
import { z } from 'zod';
import { clip, postJson, requireField } from './http.js';
import type { ChannelKind } from './types.js';

/** Options of a Telegram bot and chat (a numeric id, or `@channelname`). */
export const telegramSchema = z.strictObject({
  url: z.url({ protocol: /^https?$/ }),
  chat_id: z.union([z.string().min(1), z.number().int()]),
});

/** The Telegram bot channel kind. */
export const telegramChannel: ChannelKind<typeof telegramSchema> = {
  kind: 'telegram',
  schema: telegramSchema,
  create(o, ctx) {
    return {
      async send(r) {
        const body = JSON.stringify({ chat_id: o.chat_id, text: clip(`${r.subject}\n\n${r.text}`, 4096) });
        const text = await postJson('telegram', `${o.url.replace(/\/+$/, '')}/sendMessage`, body, { timeoutMs: ctx.timeoutMs });
        requireField('telegram', text, 'ok', true, ['description']);
      },
    };
  },
};
