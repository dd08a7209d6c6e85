/** `xgc-guard plan`: one observe + decide against the live account; prints every decision and reason; acts on nothing. */
import { existsSync } from 'node:fs';
import pino from 'pino';
import type { Command } from './types.js';
import { systemClock } from '../clock.js';
import { formatDuration } from '../config/duration.js';
import { openDb } from '../db/open.js';
import { StartRefused } from '../errors.js';
import { assess } from '../jobs/assess.js';
import { formatTime } from '../notify/format.js';
import { eventReason } from '../notify/events.js';
import type { ProbeView } from '../policies/types.js';
import { copyTrustedHostKeys } from '../probes/host-keys.js';
import { ProbeMonitor } from '../probes/monitor.js';
import { monitorOptionsFromConfig, probeOptionsFromConfig } from '../probes/options.js';
import { runProbes } from '../probes/runner.js';
import { XgcClient } from '../xgc/index.js';
import { configOption, loadFromArgs } from './common.js';

const plan: Command = {
  summary: 'Observe the account once and print what each policy would do now (nothing is acted on or stored).',
  usage: 'Usage: xgc-guard plan [--config FILE] [--json]',
  options: { ...configOption, json: { type: 'boolean' } },
  async run(values) {
    const { config } = loadFromArgs(values);
    if (!config.xgc.token) throw new StartRefused('XGC_API_TOKEN is not set (nor xgc.token / xgc.token_file)');
    let now = systemClock.now();
    const client = new XgcClient({ baseUrl: config.xgc.base_url, token: config.xgc.token, timeoutMs: config.xgc.timeout, retries: config.xgc.retries });
    const [listed, balance] = await Promise.all([client.listInstances(), client.balance()]);
    const list = listed.map((x) => x.instance);
    // History (stretches, overrides, today's spend) from the daemon's DB when there is one, read-only.
    const hasDb = config.db.path !== ':memory:' && existsSync(config.db.path);
    const hist = hasDb ? openDb(config.db.path, { readonly: true }) : openDb(':memory:');
    const scratch = openDb(':memory:'); // probes' own state (heartbeats, host keys) stays here
    try {
      const running = listed.filter((x) => x.instance.status === 'running').map((x) => x.access);
      const silent = pino({ level: 'silent' });
      // The GPU over SSH (host keys checked against the daemon's trusted ones when there is a DB), and the app probes.
      if (hasDb) copyTrustedHostKeys(hist.db, scratch.db);
      const monitor = new ProbeMonitor({ db: scratch.db, clock: systemClock, log: silent, options: monitorOptionsFromConfig(config.probes) });
      monitor.setTargets(running);
      const [res] = await Promise.all([
        runProbes(running, probeOptionsFromConfig(config.probes), { db: scratch.db, clock: systemClock, log: silent, concurrency: config.probes.concurrency }),
        monitor.settle(config.probes.gpu.timeout + 2 * config.probes.gpu.sample_every),
      ]);
      // decide as of when the probes answered (the list is a few seconds older; nothing moves that fast)
      now = systemClock.now();
      for (const a of running) {
        const g = monitor.gpuAnswer(a.id, now);
        if (g) res.set(a.id, { gpu: g, ...(res.get(a.id) ?? {}) });
      }
      await monitor.stop();
      const probes = new Map([...res].map(([id, rec]) => [id, Object.fromEntries(Object.entries(rec).map(([n, r]) => [n, { verdict: r.verdict, since: r.since ?? now, detail: r.detail } as ProbeView]))]));
      // Stretches the daemon never recorded (or no daemon at all) come from the API's start times.
      const a = assess(hist.db, config, { now, list, balance }, { probes, stretchesFromApi: true });
      const { input } = a;
      const { decisions } = a.evaluation();
      const next = a.next();
      const mode = (d: { dryRun: boolean }) => (d.dryRun ? 'dry-run' : 'enforce');
      if (values.json) {
        console.log(
          JSON.stringify(
            {
              now: new Date(now).toISOString(),
              balance,
              history: hasDb ? config.db.path : null,
              decisions: decisions.map((d) => ({ kind: d.kind, policy: d.policy, mode: mode(d), ...('instance' in d ? { instance_id: d.instance.id, instance_name: d.instance.name, action: d.action } : {}), reason: 'reason' in d ? d.reason : 'event' in d ? (eventReason(d.event) ?? d.event.type) : d.dedupKey })),
              next_actions: Object.fromEntries([...next].map(([id, n]) => [id, n])),
            },
            null,
            2,
          ),
        );
        return 0;
      }
      console.log(`plan at ${formatTime(now, config.timezone)} — balance ¥${balance.toFixed(2)}, ${list.length} instances${hasDb ? '' : ' (no history DB: uptimes from the API)'}; nothing is acted on`);
      if (decisions.length === 0) console.log('no policy would act or alert right now');
      for (const d of decisions) {
        const who = 'instance' in d ? `${d.instance.name} (${d.instance.id})` : 'account';
        const what = d.kind === 'act' ? `${d.action} [${mode(d)}]` : d.kind === 'warn' ? `warn: ${d.action} at ${formatTime(d.plannedAt, config.timezone)}` : d.kind === 'alert' ? `alert ${d.event.type}` : 'resolve';
        const why = 'reason' in d ? d.reason : d.kind === 'alert' ? (eventReason(d.event) ?? '') : '';
        console.log(`${d.policy.padEnd(14)} ${who.padEnd(40)} ${what.padEnd(28)} ${why}`);
      }
      console.log('\nnext planned action per instance:');
      for (const s of input.instances) {
        const n = next.get(s.id);
        const held = n?.heldBy ? `${n.heldBy.kind === 'cooldown' ? 'cooldown after boot' : n.heldBy.kind === 'snooze' ? 'snoozed' : 'exempt'} until ${formatTime(n.heldBy.until, config.timezone)}, then ` : '';
        console.log(`  ${s.name.padEnd(30)} ${s.status.padEnd(12)} ${n ? `${held}${n.policy}: ${n.action}${n.at !== null ? ` in ${formatDuration(Math.max(0, n.at - now))}` : ''} (${n.reason})` : '—'}`);
      }
      return 0;
    } finally {
      scratch.close();
      hist.close();
    }
  },
};
export default plan;
