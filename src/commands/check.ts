/**
 * `xgc-guard check`: validate config, try the token (whoami + balance), see each running instance's GPU over SSH,
 * try SMTP, and connect (TCP, or TLS with the certificate checked) to each webhook's host without sending anything.
 * One line per finding.
 */
import nodemailer from 'nodemailer';
import type { Command } from './types.js';
import { ConfigErrors } from '../errors.js';
import { loadConfig, startRefusals } from '../config/load.js';
import { XgcClient, errorClass } from '../xgc/index.js';
import { configOption } from './common.js';
import { resolveChannels } from '../notify/index.js';
import { reach } from './reach.js';
import { existsSync } from 'node:fs';
import pino from 'pino';
import { systemClock } from '../clock.js';
import type { Config } from '../config/schema.js';
import { openDb } from '../db/open.js';
import { copyTrustedHostKeys } from '../probes/host-keys.js';
import { ProbeMonitor } from '../probes/monitor.js';
import { monitorOptionsFromConfig } from '../probes/options.js';
import type { InstanceWithAccess } from '../xgc/types.js';

/**
 * Whether the `gpu` probe can see each running instance's GPU (ok, refused, host key changed, timeout, ...): one
 * SSH connection each, host keys checked against the daemon's trusted ones when its database exists, nothing
 * stored, never a credential printed. A GPU not seen is a warning: idle releases then come after a warning only.
 */
async function checkGpus(config: Config, listed: InstanceWithAccess[], ok: (s: string) => void, warn: (s: string) => void): Promise<void> {
  const running = listed.filter((x) => x.instance.status === 'running');
  if (!config.probes.gpu.enabled) return warn('gpu probe off (probes.gpu.enabled: false): idle releases come only after a warning');
  if (running.length === 0) return ok('gpu no running instance to look at');
  const scratch = openDb(':memory:');
  const silent = pino({ level: 'silent' });
  try {
    if (config.db.path !== ':memory:' && existsSync(config.db.path)) {
      const hist = openDb(config.db.path, { readonly: true });
      copyTrustedHostKeys(hist.db, scratch.db);
      hist.close();
    }
    const monitor = new ProbeMonitor({ db: scratch.db, clock: systemClock, log: silent, options: monitorOptionsFromConfig(config.probes) });
    monitor.setTargets(running.map((x) => x.access));
    await monitor.settle(config.probes.gpu.timeout + config.probes.gpu.sample_every);
    const now = systemClock.now();
    for (const { instance: i } of running) {
      const a = monitor.gpuAnswer(i.id, now);
      const who = `${i.name} (${i.id})`;
      if (a && a.verdict !== 'unknown') ok(`gpu ${who}: seen — ${a.detail}`);
      else warn(`gpu ${who}: not seen — ${(a?.detail ?? 'no answer').replace(/^GPU not seen: /, '')}${monitor.gpuDownReason(i.id) ? ` [${monitor.gpuDownReason(i.id)}]` : ''}`);
    }
    await monitor.stop();
  } finally {
    scratch.close();
  }
}

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
    const warn = (what: string) => console.log(`warn  ${what}`);
    let loaded;
    try {
      loaded = loadConfig({ file: typeof values.config === 'string' ? values.config : undefined });
    } catch (e) {
      if (!(e instanceof ConfigErrors)) throw e;
      for (const err of e.errors) bad(`config ${err.message}`);
      return 1;
    }
    const { config, source } = loaded;
    ok(`config ${source.kind === 'file' ? source.path : '(no file: documented defaults, dry-run)'}: ${config.policies.length} policies (${config.policies.map((p) => p.name).join(', ')}), dry_run=${config.dry_run}`);
    for (const r of startRefusals(config, { needToken: true })) bad(`start ${r.message}`);
    if (config.xgc.token) {
      const client = new XgcClient({ baseUrl: config.xgc.base_url, token: config.xgc.token, timeoutMs: config.xgc.timeout, retries: 1 });
      try {
        const who = await client.whoami();
        const label = ['nickname', 'name', 'id'].map((k) => who[k]).find((v) => typeof v === 'string' || typeof v === 'number');
        ok(`xgc token accepted by ${config.xgc.base_url}${label !== undefined ? ` (account ${String(label)})` : ''}`);
        const balance = await client.balance();
        ok(`xgc balance ¥${balance.toFixed(2)}`);
        await checkGpus(config, await client.listInstances(), ok, warn);
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
