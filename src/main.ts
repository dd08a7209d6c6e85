/**
 * The process: opens the DB (migrations before any job), builds the HTTP app and listens, starts the
 * jobs, and closes in order (jobs stop before SQLite closes).
 */
import type { Logger } from 'pino';
import { systemClock, type Clock } from './clock.js';
import { acquireLease, releaseLease, thisProcess } from './db/lease.js';
import type { Config } from './config/schema.js';
import { openDb, type GuardDb } from './db/open.js';
import { buildApp, type App, type RuntimeStatus } from './http/app.js';
import { JobRunner, type JobSpec } from './jobs/scheduler.js';
import { pruneRaw } from './jobs/retention.js';
import { runDigest } from './jobs/digest.js';
import { runRollup } from './jobs/rollup.js';
import { createGuardCore, type GuardCore } from './guard.js';
import { Notifier, pruneOutbox } from './notify/index.js';
import { createMetrics, syncActionCounters } from './http/metrics.js';
import { createTickLog } from './jobs/tick-log.js';
import type { XgcClient } from './xgc/index.js';
import { GuardError } from './errors.js';

/** What `startDaemon` needs. */
export interface DaemonOptions {
  config: Config;
  log: Logger;
  clock: Clock;
  /** demo mode: API auth off on loopback */
  demo?: boolean;
  /** skip listening (tests that only inject) */
  listen?: boolean;
  /** use this client instead of one built from config (the demo shares nothing else) */
  client?: XgcClient;
  /** how often the notifier drains the outbox (ms; default 10 s) */
  notifyIntervalMs?: number;
  /** run one tick right after start (default true) */
  tickAtStart?: boolean;
  /** single-writer lease length (ms, wall clock; default 60 s, renewed every quarter of it) */
  leaseTtlMs?: number;
}

/** A running daemon. */
export interface Daemon {
  gdb: GuardDb;
  app: App;
  jobs: JobRunner;
  runtime: RuntimeStatus;
  core: GuardCore;
  notifier: Notifier;
  /** base URL when listening, e.g. http://127.0.0.1:8080 */
  url: string | null;
  /** stop jobs (waiting for a running tick, bounded), close HTTP, close the DB */
  close(): Promise<void>;
}

/** A listen failure as one line naming the address and the fix; null for errors it does not know. */
export function listenError(e: unknown, host: string, port: number): GuardError | null {
  const code = (e as { code?: unknown }).code;
  const at = `${host}:${port}`;
  const fix = 'set GUARD_HTTP_PORT (or http.port) to a free port';
  if (code === 'EADDRINUSE') return new GuardError(`cannot listen on ${at}: the port is already in use (another xgc-guard or program); stop it or ${fix}`, 'listen_failed', 500);
  if (code === 'EACCES') return new GuardError(`cannot listen on ${at}: ports below 1024 need privileges; ${fix} above 1023`, 'listen_failed', 500);
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND' || code === 'EAI_AGAIN')
    return new GuardError(`cannot listen on ${at}: ${host} is not an address of this machine; set GUARD_HTTP_HOST (or http.host) to 127.0.0.1 or 0.0.0.0`, 'listen_failed', 500);
  return null;
}

/** Start the guard daemon. */
export async function startDaemon(opts: DaemonOptions): Promise<Daemon> {
  const { config, log, clock } = opts;
  const gdb = openDb(config.db.path);
  log.info({ db: config.db.path }, 'database open and migrated');
  const runtime: RuntimeStatus = { dbOpen: true, leader: false, jobsRunning: false, demo: !!opts.demo };
  // Single writer: the lease is wall-clock time (also in the accelerated demo), renewed while we run.
  const me = thisProcess();
  const leaseTtl = opts.leaseTtlMs ?? 60_000;
  const tryLease = (): boolean => {
    let r;
    try {
      r = acquireLease(gdb.db, 'writer', me, leaseTtl, systemClock);
    } catch (err) {
      log.error({ err }, 'could not renew the writer lease');
      r = { ok: false as const, heldBy: { holder: '?', host: '?', pid: 0 }, expiresAt: 0 };
    }
    const was = runtime.leader;
    runtime.leader = r.ok;
    if (r.ok) {
      runtime.standbyReason = undefined;
      if (!was) log.info({ takeover: r.takeover ?? null }, 'holding the writer lease: this daemon ticks and acts');
    } else {
      runtime.standbyReason = `another daemon (pid ${r.heldBy.pid} on ${r.heldBy.host}) holds the writer lease until ${new Date(r.expiresAt).toISOString()}`;
      if (was || !runtime.jobsRunning) log.warn({ holder: r.heldBy }, `standby: ${runtime.standbyReason}; this daemon serves the API and will not act`);
    }
    return r.ok && !was;
  };
  tryLease();

  const notifier = new Notifier({
    db: gdb.db,
    clock,
    log: log.child({ mod: 'notify' }),
    config: { email: config.notify.email, webhooks: config.notify.webhooks },
    locale: config.locale,
    timezone: config.timezone,
    publicUrl: config.http.public_url,
  });
  const metrics = createMetrics();
  const tickLog = createTickLog({ log: log.child({ mod: 'tick' }), summaryEveryMs: config.log.summary_every });
  const core = createGuardCore({
    db: gdb.db,
    config,
    clock,
    log,
    channels: () => notifier.channelNames(),
    client: opts.client,
    isLeader: () => runtime.leader,
    onCall: (c) => {
      metrics.apiRequests.inc({ endpoint: c.endpoint, result: c.error ?? 'ok' });
      if (c.error) metrics.apiErrors.inc({ class: c.error });
    },
    onTick: (r) => {
      metrics.tickDuration.observe({ outcome: r.outcome }, r.durationMs / 1000);
      tickLog(r);
      syncActionCounters(metrics, gdb.db); // count the tick's journal transitions now, not at the next scrape
    },
  });

  const stopping = new AbortController();
  const jobTable: JobSpec[] = [
    {
      name: 'tick',
      schedule: config.snapshot.every,
      run: async (now) => {
        await core.ticker.tick(now);
        void notifier.drain(); // deliver now, without holding up the next tick (single-flight)
      },
      onSkip: (now) => core.ticker.recordSkip(now),
    },
    {
      name: 'retention',
      schedule: '17 3 * * *',
      run: async (now) => {
        const removed = pruneRaw(gdb.db, now, config.db.retain_raw);
        const outbox = pruneOutbox(gdb.db, now - config.db.retain_raw);
        log.info({ removed, outbox }, 'retention: pruned raw rows and delivered outbox events');
      },
    },
    {
      // closed days' spend stored once (hourly, so a day is stored soon after its first tick; at start it back-fills)
      name: 'rollup',
      schedule: '3 * * * *',
      run: async (now) => {
        if (!runtime.leader) return;
        const r = await runRollup(gdb.db, { tz: config.timezone, now, signal: stopping.signal });
        if (r.days || r.months) log.info(r, 'spend rollup: closed days stored');
      },
    },
  ];
  if (config.notify.digest.enabled)
    jobTable.push({
      name: 'digest',
      schedule: config.notify.digest.cron,
      run: async (now) => {
        if (!runtime.leader) return;
        const r = runDigest(gdb.db, now, config.timezone, notifier.channelNames());
        log.info({ sent: r.sent }, 'daily digest');
        void notifier.drain();
      },
    });
  const jobs = new JobRunner(jobTable, { clock, log: log.child({ mod: 'jobs' }), timezone: config.timezone });

  let app: App;
  try {
    app = await buildApp({ gdb, config, clock, log, runtime, guard: core.service, metrics });
    await app.ready();
  } catch (e) {
    gdb.close();
    throw e;
  }
  let url: string | null = null;
  if (opts.listen !== false && config.http.enabled) {
    try {
      await app.listen({ host: config.http.host, port: config.http.port });
    } catch (e) {
      await app.close();
      gdb.close();
      throw listenError(e, config.http.host, config.http.port) ?? e;
    }
    const addr = app.server.address();
    const port = typeof addr === 'object' && addr ? addr.port : config.http.port;
    const host = config.http.host.includes(':') ? `[${config.http.host}]` : config.http.host;
    url = `http://${host}:${port}`;
    log.info({ url }, 'http listening');
  }
  jobs.start();
  core.probes.start();
  notifier.start(opts.notifyIntervalMs ?? 10_000);
  runtime.jobsRunning = true;
  const leaseTimer = setInterval(() => {
    if (tryLease()) void jobs.fire('tick');
  }, Math.max(250, Math.floor(leaseTtl / 4)));
  leaseTimer.unref();
  // First observation right away rather than at the next cron minute; then the rollup back-fills in the background.
  if (opts.tickAtStart !== false) void jobs.fire('tick');
  void jobs.fire('rollup');

  let closing: Promise<void> | null = null;
  return {
    gdb,
    app,
    jobs,
    runtime,
    core,
    notifier,
    url,
    close() {
      closing ??= (async () => {
        clearInterval(leaseTimer);
        stopping.abort(); // a back-fill stops at its next step
        const finished = await jobs.stop(8_000);
        runtime.jobsRunning = false;
        if (!finished) log.warn('closing with a job still running; its transaction is atomic, nothing half-written');
        await core.probes.stop();
        await notifier.stop();
        await app.close();
        runtime.dbOpen = false;
        if (runtime.leader) releaseLease(gdb.db, 'writer', me);
        gdb.close();
        log.info('stopped');
      })();
      return closing;
    },
  };
}
