/** `xgc-guard plan`: one observe + decide against the live account; prints every decision and reason; acts on nothing. */
import { existsSync } from 'node:fs';
import pino from 'pino';
import type { Command } from './types.js';
import { systemClock } from '../clock.js';
import { formatDuration } from '../config/duration.js';
import { openDb } from '../db/open.js';
import { StartRefused } from '../errors.js';
import { engineInput, probeOptionsFromConfig } from '../jobs/tick.js';
import { formatTime } from '../notify/format.js';
import { evaluatePolicies, nextActions } from '../policies/engine.js';
import type { ProbeView } from '../policies/types.js';
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
    const now = systemClock.now();
    const client = new XgcClient({ baseUrl: config.xgc.base_url, token: config.xgc.token, timeoutMs: config.xgc.timeout, retries: config.xgc.retries });
    const [listed, balance] = await Promise.all([client.listInstances(), client.balance()]);
    const list = listed.map((x) => x.instance);
    // History (stretches, overrides, today's spend) from the daemon's DB when there is one, read-only.
    const hasDb = config.db.path !== ':memory:' && existsSync(config.db.path);
    const hist = hasDb ? openDb(config.db.path, { readonly: true }) : openDb(':memory:');
    const scratch = openDb(':memory:'); // probes' own state (heartbeats, host keys) stays here
    try {
      const input = engineInput(hist.db, config, now, list, balance);
      for (const s of input.instances) {
        const i = list.find((x) => x.id === s.id)!;
        if (s.billedSince === null && s.holdsGpu) s.billedSince = i.startedAt ?? now;
        if (s.runningSince === null && s.status === 'running') s.runningSince = i.startedAt ?? now;
      }
      const running = listed.filter((x) => x.instance.status === 'running').map((x) => x.access);
      const res = await runProbes(running, probeOptionsFromConfig(config.probes), { db: scratch.db, clock: systemClock, log: pino({ level: 'silent' }), concurrency: config.probes.concurrency });
      input.probes = new Map([...res].map(([id, rec]) => [id, Object.fromEntries(Object.entries(rec).map(([n, r]) => [n, { verdict: r.verdict, since: r.since ?? now, detail: r.detail } as ProbeView]))]));
      const { decisions } = evaluatePolicies(input);
      const next = nextActions(input);
      const mode = (name: string) => ((config.policies.find((p) => p.name === name)?.dry_run ?? config.dry_run) ? 'dry-run' : 'enforce');
      if (values.json) {
        console.log(
          JSON.stringify(
            {
              now: new Date(now).toISOString(),
              balance,
              history: hasDb ? config.db.path : null,
              decisions: decisions.map((d) => ({ kind: d.kind, policy: d.policy, mode: mode(d.policy), ...('instance' in d ? { instance_id: d.instance.id, instance_name: d.instance.name, action: d.action } : {}), reason: 'reason' in d ? d.reason : 'event' in d ? (d.event.data.reason ?? d.event.type) : d.dedupKey })),
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
        const what = d.kind === 'act' ? `${d.action} [${mode(d.policy)}]` : d.kind === 'warn' ? `warn: ${d.action} at ${formatTime(d.plannedAt, config.timezone)}` : d.kind === 'alert' ? `alert ${d.event.type}` : 'resolve';
        const why = 'reason' in d ? d.reason : d.kind === 'alert' ? String(d.event.data.reason ?? '') : '';
        console.log(`${d.policy.padEnd(14)} ${who.padEnd(40)} ${what.padEnd(28)} ${why}`);
      }
      console.log('\nnext planned action per instance:');
      for (const s of input.instances) {
        const n = next.get(s.id);
        console.log(`  ${s.name.padEnd(30)} ${s.status.padEnd(12)} ${n ? `${n.policy}: ${n.action}${n.at !== null ? ` in ${formatDuration(Math.max(0, n.at - now))}` : ''} (${n.reason})` : '—'}`);
      }
      return 0;
    } finally {
      scratch.close();
      hist.close();
    }
  },
};
export default plan;
