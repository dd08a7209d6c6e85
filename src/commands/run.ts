/** `xgc-guard run`: the daemon. */
import type { Command } from './types.js';
import { systemClock } from '../clock.js';
import { StartRefused } from '../errors.js';
import { startRefusals } from '../config/load.js';
import { startDaemon } from '../main.js';
import { configOption, loadFromArgs, processLogger, untilSignal } from './common.js';

const run: Command = {
  summary: 'Run the guard daemon: snapshots, policies, actions, alerts, HTTP API and dashboard.',
  usage: 'Usage: xgc-guard run [--config FILE]\n\nEnvironment: XGC_API_TOKEN(_FILE), XGC_API_BASE_URL, GUARD_DB, GUARD_HTTP_HOST, GUARD_HTTP_PORT,\nGUARD_API_TOKEN(_FILE), GUARD_READ_TOKEN(_FILE), GUARD_HEARTBEAT_TOKEN(_FILE), GUARD_CONFIG, GUARD_TZ, GUARD_LOG_LEVEL,\nSMTP_URL, SMTP_TO (comma-separated), SMTP_FROM.',
  options: { ...configOption },
  async run(values) {
    const { config, source } = loadFromArgs(values, { quiet: true }); // the log's first line names the file
    const refusals = startRefusals(config, { needToken: true });
    if (refusals.length) throw new StartRefused(refusals.map((r) => r.message).join('; '));
    const log = processLogger();
    if (source.kind === 'defaults')
      log.warn({ policies: config.policies.map((p) => p.name) }, 'no config file: running the documented default policies in dry-run mode (nothing will be acted on; pass --config, set GUARD_CONFIG or add ./guard.yaml to change)');
    else log.info({ config: source.path }, 'config loaded');
    if (config.dry_run) log.warn('dry_run is on: decisions are journaled, no action is sent to the cloud');
    const ttl = process.env.GUARD_LEASE_TTL_MS ? Number(process.env.GUARD_LEASE_TTL_MS) : undefined;
    if (ttl !== undefined && !(Number.isInteger(ttl) && ttl >= 1000)) throw new StartRefused('GUARD_LEASE_TTL_MS must be an integer >= 1000');
    const daemon = await startDaemon({ config, log, clock: systemClock, leaseTtlMs: ttl });
    const sig = await untilSignal();
    log.info({ signal: sig }, 'shutting down');
    // npm/npx forward the signal the terminal already sent to the whole group: a repeat must not kill the
    // shutdown half-way (the hard limit below still ends a shutdown that hangs)
    const again = (s: NodeJS.Signals) => log.warn({ signal: s }, 'already shutting down');
    process.on('SIGTERM', again).on('SIGINT', again);
    const hard = setTimeout(() => {
      log.error('shutdown took longer than 10 s; exiting');
      process.exit(1);
    }, 10_000);
    hard.unref();
    await daemon.close();
    clearTimeout(hard);
    return 0;
  },
};
export default run;
