/**
 * Slack incoming webhook: `{ text, blocks }` (a header and a mrkdwn section). Non-2xx fails.
 * Config: `{ kind: slack, url: "https://hooks.slack.com/services/..." }`
 */
import { z } from 'zod';
import { postJson } from './http.js';
import type { ChannelKind } from './types.js';

/** Options of a Slack incoming webhook. */
export const slackSchema = z.strictObject({ url: z.url({ protocol: /^https?$/ }) });

/** Our markdown to Slack mrkdwn: `[t](u)` -> `<u|t>`, `**b**` -> `*b*`, &, <, > escaped as Slack asks. */
export function toMrkdwn(md: string): string {
  const links: string[] = [];
  const held = md.replace(/\[([^\]]*)\]\(([^)\s]+)\)/g, (_m, t: string, u: string) => {
    links.push(`<${u}|${t.replace(/\\(.)/g, '$1').replace(/[<>|]/g, '')}>`);
    return `\u0000${links.length - 1}\u0000`;
  });
  const esc = held
    .replace(/\\(.)/g, '$1')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/\*\*(.+?)\*\*/g, '*$1*');
  // eslint-disable-next-line no-control-regex -- NUL brackets the link placeholders put in above
  return esc.replace(/\u0000(\d+)\u0000/g, (_m, i: string) => links[Number(i)] ?? '');
}

/** The Slack incoming-webhook channel kind. */
export const slackChannel: ChannelKind<typeof slackSchema> = {
  kind: 'slack',
  schema: slackSchema,
  create(o, ctx) {
    return {
      async send(r) {
        const body = JSON.stringify({
          text: r.subject,
          blocks: [
            { type: 'header', text: { type: 'plain_text', text: r.subject.slice(0, 150) } },
            { type: 'section', text: { type: 'mrkdwn', text: toMrkdwn(r.markdown).slice(0, 3000) } },
          ],
        });
        await postJson('slack', o.url, body, { timeoutMs: ctx.timeoutMs });
      },
    };
  },
};
