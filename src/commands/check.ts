/**
 * `xgc-guard check`: validate config, try the token (whoami + balance), try SMTP, and connect (TCP, or TLS with
 * the certificate checked) to each webhook's host without sending anything. One line per finding.
 */
import nodemailer from 'nodemailer';
import type { Command } from './types.js';
import { ConfigErrors } from '../errors.js';
import { loadConfig, startRefusals } from '../config/load.js';
import { XgcClient, errorClass } from '../xgc/index.js';
import { configOption } from './common.js';
import { resolveChannels } from '../notify/index.js';
import { reach } from './reach.js';

const check: Command = {
  summary: 'Validate the config, try the XianGong token (whoami + balance), SMTP and each webhook host; exit 0 when all is well.',
  usage: 'Usage: xgc-guard check [--config FILE]',
  options: { ...configOption },
  async run(values) {
    let failed = false;
    const ok = (what: string) => console.log(`ok    ${what}`);
    const bad = (what: string) => {
      failed = true;
      console.log(`error ${what}`);
    };
    let loaded;
    try {
      loaded = loadConfig({ file: typeof values.config === 'string' ? values.config : undefined });
    } catch (e) {
      if (!(e instanceof ConfigErrors)) throw e;
      for (const err of e.errors) bad(`config ${err.message}`);
      return 1;
    }
    const { config, source } = loaded;
    ok(`config ${source.kind === 'file' ? source.path : '(no file: documented defaults, dry-run)'}: ${config.policies.length} policies, dry_run=${config.dry_run}`);
    for (const r of startRefusals(config, { needToken: true })) bad(`start ${r.message}`);
    if (config.xgc.token) {
      const client = new XgcClient({ baseUrl: config.xgc.base_url, token: config.xgc.token, timeoutMs: config.xgc.timeout, retries: 1 });
      try {
        const who = await client.whoami();
        const label = ['nickname', 'name', 'id'].map((k) => who[k]).find((v) => typeof v === 'string' || typeof v === 'number');
        ok(`xgc token accepted by ${config.xgc.base_url}${label !== undefined ? ` (account ${String(label)})` : ''}`);
        const balance = await client.balance();
        ok(`xgc balance ¥${balance.toFixed(2)}`);
      } catch (e) {
        bad(`xgc ${errorClass(e)}: ${(e as Error).message}`);
      }
    }
    const smtpUrl = config.notify.email?.smtp_url;
    if (smtpUrl) {
      const transport = nodemailer.createTransport(smtpUrl, { connectionTimeout: 10_000, greetingTimeout: 10_000 } as never);
      try {
        await transport.verify();
        ok('smtp server accepted the connection');
      } catch (e) {
        const code = (e as { code?: string }).code ?? 'error';
        bad(`smtp ${code}: cannot use the SMTP server (${(e as Error).message.replace(/\/\/[^@\s]*@/g, '//[redacted]@')})`);
      } finally {
        transport.close();
      }
    } else ok('smtp not configured (email alerts off)');
    const hooks = resolveChannels(config.notify).filter((s) => s.kind !== 'email');
    if (hooks.length === 0) ok('webhooks none configured');
    const results = await Promise.all(hooks.map(async (h) => ({ h, r: await reach(String(h.options.url)) })));
    for (const { h, r } of results) {
      if (r.ok) ok(`webhook ${h.name} (${h.kind}): ${r.where} ${r.detail} (no message sent; \`xgc-guard notify test\` sends one)`);
      else bad(`webhook ${h.name} (${h.kind}): cannot connect to ${r.where}: ${r.detail}`);
    }
    return failed ? 1 : 0;
  },
};
export default check;
