/** `xgc-guard notify test [--channel NAME]`: send a test message through each configured channel, one line per result. */
import { systemClock } from '../clock.js';
import { channelRegistry, resolveChannels, type ChannelSpec } from '../notify/index.js';
import type { Command } from './types.js';
import { configOption, loadFromArgs, str } from './common.js';
import { testMessage } from './notify-test-message.js';

const USAGE = `Usage: xgc-guard notify test [--channel NAME] [--config FILE]

Sends one test message through every configured channel (email from notify.email or SMTP_URL/SMTP_FROM/SMTP_TO,
and each of notify.webhooks), or only through --channel NAME, and prints one line per channel. Exit 0 when every
send succeeded. Nothing goes through the outbox or the database.`;

/** Hide every URL (webhook keys live in them) and every configured secret in an error text. */
export function redactChannelError(text: string, spec: ChannelSpec): string {
  let out = text.replace(/\b(?:https?|smtps?):\/\/\S+/gi, '[url]');
  for (const v of Object.values(spec.options)) if (typeof v === 'string' && v.length >= 4) out = out.split(v).join('[redacted]');
  return out;
}

const notify: Command = {
  summary: 'Send a test notification through each configured channel and print one line per result.',
  usage: USAGE,
  allowPositionals: true,
  options: { ...configOption, channel: { type: 'string' } },
  async run(values, positionals) {
    if (positionals.length !== 1 || positionals[0] !== 'test') {
      console.error(`xgc-guard notify: expected "test"\n\n${USAGE}`);
      return 1;
    }
    const { config } = loadFromArgs(values);
    const specs = resolveChannels(config.notify);
    if (specs.length === 0) {
      console.error('no notification channel is configured: set SMTP_URL and SMTP_TO, or notify.email / notify.webhooks in the config file');
      return 1;
    }
    const only = str(values.channel);
    const chosen = only === undefined ? specs : specs.filter((s) => s.name === only);
    if (chosen.length === 0) {
      console.error(`--channel: no channel named "${only}"; configured: ${specs.map((s) => s.name).join(', ')}`);
      return 1;
    }
    let failed = 0;
    for (const spec of chosen) {
      const channel = channelRegistry.get(spec.kind).create(spec.options as never, { clock: systemClock, timeoutMs: 10_000, publicUrl: config.http.public_url });
      const { rendered, event } = testMessage(spec.name, systemClock.now(), config.locale, config.timezone);
      try {
        await channel.send(rendered, event);
        console.log(`ok    ${spec.name} (${spec.kind}): test message sent`);
      } catch (e) {
        failed++;
        console.log(`error ${spec.name} (${spec.kind}): ${redactChannelError(e instanceof Error ? e.message : String(e), spec)}`);
      } finally {
        await channel.close?.().catch(() => undefined);
      }
    }
    return failed ? 1 : 0;
  },
};
export default notify;
