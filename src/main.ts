/**
 * The process: opens the DB (migrations before any job), builds the HTTP app and listens, starts the
 * jobs, and closes in order (jobs stop before SQLite closes).
 */
import type { Logger } from 'pino';
import type { Clock } from './clock.js';
import type { Config } from './config/schema.js';
import { openDb, type GuardDb } from './db/open.js';
import { buildApp, type App, type RuntimeStatus } from './http/app.js';
import { JobRunner, type JobSpec } from './jobs/scheduler.js';
import { pruneRaw } from './jobs/retention.js';

/** What `startDaemon` needs. */
export interface DaemonOptions {
  config: Config;
  log: Logger;
  clock: Clock;
  /** demo mode: API auth off on loopback */
  demo?: boolean;
  /** skip listening (tests that only inject) */
  listen?: boolean;
}

/** A running daemon. */
export interface Daemon {
  gdb: GuardDb;
  app: App;
  jobs: JobRunner;
  runtime: RuntimeStatus;
  /** base URL when listening, e.g. http://127.0.0.1:8080 */
  url: string | null;
  /** stop jobs (waiting for a running tick, bounded), close HTTP, close the DB */
  close(): Promise<void>;
}

/** Start the guard daemon. */
export async function startDaemon(opts: DaemonOptions): Promise<Daemon> {
  const { config, log, clock } = opts;
  const gdb = openDb(config.db.path);
  log.info({ db: config.db.path }, 'database open and migrated');
  const runtime: RuntimeStatus = { dbOpen: true, leader: true, jobsRunning: false, demo: !!opts.demo };

  const jobTable: JobSpec[] = [
    {
      name: 'retention',
      schedule: '17 3 * * *',
      run: async (now) => {
        const removed = pruneRaw(gdb.db, now, config.db.retain_raw);
        log.info({ removed }, 'retention: pruned raw tick rows');
      },
    },
  ];
  const jobs = new JobRunner(jobTable, { clock, log: log.child({ mod: 'jobs' }), timezone: config.timezone });

  let app: App;
  try {
    app = await buildApp({ gdb, config, clock, log, runtime });
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
      throw e;
    }
    const addr = app.server.address();
    const port = typeof addr === 'object' && addr ? addr.port : config.http.port;
    const host = config.http.host.includes(':') ? `[${config.http.host}]` : config.http.host;
    url = `http://${host}:${port}`;
    log.info({ url }, 'http listening');
  }
  jobs.start();
  runtime.jobsRunning = true;

  let closing: Promise<void> | null = null;
  return {
    gdb,
    app,
    jobs,
    runtime,
    url,
    close() {
      closing ??= (async () => {
        const finished = await jobs.stop(8_000);
        runtime.jobsRunning = false;
        if (!finished) log.warn('closing with a job still running; its transaction is atomic, nothing half-written');
        await app.close();
        runtime.dbOpen = false;
        gdb.close();
        log.info('stopped');
      })();
      return closing;
    },
  };
}
