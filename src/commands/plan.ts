/** `xgc-guard plan`: one observe + decide as the daemon would (its idle clocks when its database exists); prints what each policy would do; acts on nothing. */
import { existsSync } from 'node:fs';
import pino from 'pino';
import type { Command } from './types.js';
import { systemClock } from '../clock.js';
import { openDb } from '../db/open.js';
import { isoInTz } from '../money.js';
import { StartRefused } from '../errors.js';
import { assess, storedProbeViews } from '../jobs/assess.js';
import { formatTime } from '../notify/format.js';
import { eventReason } from '../notify/events.js';
import type { ProbeView } from '../policies/types.js';
import { copyTrustedHostKeys } from '../probes/host-keys.js';
import { ProbeMonitor } from '../probes/monitor.js';
import { monitorOptionsFromConfig, probeOptionsFromConfig, staleAfterByProbe } from '../probes/options.js';
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
      // The daemon's fresh stored answers win over the live ones: plan then sees the idle clocks the tick sees.
      const live = new Map([...res].map(([id, rec]) => [id, Object.fromEntries(Object.entries(rec).map(([n, r]) => [n, { verdict: r.verdict, since: r.since ?? now, detail: r.detail } as ProbeView]))]));
      const staleAfter = staleAfterByProbe(config.probes);
      const probes = hasDb ? withDaemonAnswers(live, storedProbeViews(hist.db, running.map((x) => x.id), now, staleAfter), now, staleAfter) : live;
      // Stretches the daemon never recorded (or no daemon at all) come from the API's start times.
      const a = assess(hist.db, config, { now, list, balance }, { probes, stretchesFromApi: true });
      const { input } = a;
      // resolve decisions only close alerts that are no longer true: bookkeeping, not something the guard would do
      const decisions = a.evaluation().decisions.filter((d) => d.kind !== 'resolve');
      const next = a.next();
      const idle = a.idle();
      const mode = (d: { dryRun: boolean }) => (d.dryRun ? 'dry-run' : 'enforce');
      const reason = (d: (typeof decisions)[number]) => ('reason' in d ? d.reason : d.kind === 'alert' ? (eventReason(d.event) ?? d.event.type) : '');
      const iso = (t: number | null) => (t === null ? null : isoInTz(t, config.timezone));
      if (values.json) {
        console.log(
          JSON.stringify(
            {
              now: new Date(now).toISOString(),
              balance,
              history: hasDb ? config.db.path : null,
              decisions: decisions.map((d) => ({ kind: d.kind, policy: d.policy, mode: mode(d), ...('instance' in d ? { instance_id: d.instance.id, instance_name: d.instance.name, action: d.action } : {}), reason: reason(d) })),
              next_actions: Object.fromEntries([...next].map(([id, n]) => [id, n])),
              idle: Object.fromEntries([...idle].map(([id, i]) => [id, { verdict: i.verdict, since: iso(i.since) }])),
            },
            null,
            2,
          ),
        );
        return 0;
      }
      // row times as hh:mm in the configured zone (with the date when not today); the header names the zone once
      const tz = config.timezone;
      const day = new Intl.DateTimeFormat('en-CA', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit' });
      const hm = new Intl.DateTimeFormat('en-GB', { timeZone: tz, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
      const at = (t: number) => (day.format(t) === day.format(now) ? hm.format(t) : `${day.format(t)} ${hm.format(t)}`);
      console.log(`plan at ${formatTime(now, tz)} — balance ¥${balance.toFixed(2)}, ${list.length} instances${hasDb ? `, history ${config.db.path}` : ' (no history DB: uptimes from the API)'}; nothing is acted on`);
      const row = (policy: string, who: string, what: string, why: string) => console.log(`${policy.padEnd(14)} ${who.padEnd(40)} ${what.padEnd(28)} ${why}`.trimEnd());
      if (decisions.length === 0) console.log('no policy would act or alert right now');
      const forAccount = decisions.filter((d) => !('instance' in d));
      for (const d of forAccount) row(d.policy, 'account', d.kind === 'alert' ? `alert ${d.event.type}` : d.kind, reason(d));
      console.log('\nper instance (a decision now, else the next planned action):');
      for (const s of input.instances) {
        const who = `${s.name} (${s.id})`;
        const mine = decisions.filter((d) => 'instance' in d && d.instance.id === s.id);
        for (const d of mine) {
          if (d.kind === 'act') row(d.policy, who, `${d.action} now [${mode(d)}]`, reason(d));
          else if (d.kind === 'warn') row(d.policy, who, `warn: ${d.action} at ${at(d.plannedAt)}`, reason(d));
        }
        if (mine.length) continue;
        const n = next.get(s.id);
        if (!n) {
          row('—', who, s.status, '');
          continue;
        }
        const held = n.heldBy ? `${n.heldBy.kind === 'cooldown' ? 'cooldown after boot' : n.heldBy.kind === 'snooze' ? 'snoozed' : 'exempt'} until ${at(n.heldBy.until)}, then ` : '';
        row(n.policy, who, `${held}${n.action}${n.at !== null ? ` at ${at(n.at)}` : ''}`, n.reason);
      }
      return 0;
    } finally {
      scratch.close();
      hist.close();
    }
  },
};
export default plan;

/**
 * Live probe answers with the daemon's stored answers laid over them where those are still fresh (younger than
 * their probe's `staleAfter`): the idle clocks the tick would use, live answers where the daemon has none.
 */
function withDaemonAnswers(
  live: Map<string, Record<string, ProbeView>>,
  stored: Map<string, Readonly<Record<string, Readonly<ProbeView>>>>,
  now: number,
  staleAfter: Record<string, number>,
): Map<string, Record<string, ProbeView>> {
  const out = new Map(live);
  for (const [id, rec] of stored) {
    const fresh = Object.entries(rec).filter(([name, v]) => v.checkedAt !== undefined && now - v.checkedAt <= (staleAfter[name] ?? 0));
    if (fresh.length) out.set(id, { ...(live.get(id) ?? {}), ...Object.fromEntries(fresh) });
  }
  return out;
}
