/** A guard core wired to a real simulator over HTTP, on one shared manual clock (tests and benchmarks). */
import { join } from 'node:path';
import pino from 'pino';
import { ManualClock } from '../../src/clock.js';
import { parseConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { openDb, type GuardDb } from '../../src/db/open.js';
import { createGuardCore, type GuardCore } from '../../src/guard.js';
import { startSimulator, type RunningSim } from '../../src/sim/index.js';
import { XgcClient } from '../../src/xgc/index.js';
import { Notifier } from '../../src/notify/index.js';
import { tempDir } from './proc.js';

/** 2026-11-23 00:00 UTC (a Monday). */
export const T0 = Date.UTC(2026, 10, 23, 0, 0, 0);

/** A simulator + guard core pair. */
export interface Harness {
  clock: ManualClock;
  sim: RunningSim;
  gdb: GuardDb;
  config: Config;
  core: GuardCore;
  /** the notifier over config.notify (no channels unless the config has some) */
  notifier: Notifier;
  /** advance the shared clock by `ms` and run one tick */
  step(ms: number): ReturnType<GuardCore['ticker']['tick']>;
  /** add an instance in the simulator (as a user would have) */
  add(body: Record<string, unknown>): Promise<string>;
  /** POST to the simulator's control API */
  ctl(path: string, body: unknown): Promise<any>;
  state(): Promise<any>;
  close(): Promise<void>;
}

/** Start a harness; `raw` is a config object (as from YAML) merged over the test defaults. */
export async function startHarness(raw: Record<string, any> = {}, opts: { balance?: number; start?: number; debit?: 'hourly' | 'continuous' } = {}): Promise<Harness> {
  const clock = new ManualClock(opts.start ?? T0);
  const sim = await startSimulator({ token: 'T', instances: 0, clock, seed: 7, balance: opts.balance ?? 1000, debit: opts.debit });
  const dir = tempDir('xgc-harness-');
  const config = parseConfig({
    xgc: { token: 'T', base_url: sim.url },
    db: { path: join(dir, 'guard.db') },
    dry_run: false,
    policies: [],
    probes: { heartbeat: { enabled: false } },
    ...raw,
  });
  const gdb = openDb(config.db.path);
  const log = pino({ level: process.env.TEST_LOG ?? 'silent' });
  const client = new XgcClient({ baseUrl: sim.url, token: 'T', timeoutMs: 5_000, retries: 1, retryBaseMs: 1 });
  const notifier = new Notifier({ db: gdb.db, clock, log, config: { email: config.notify.email, webhooks: config.notify.webhooks }, locale: config.locale, timezone: config.timezone, publicUrl: config.http.public_url, retry: { baseMs: 10, capMs: 100, maxAttempts: 5 } });
  const core = createGuardCore({ db: gdb.db, config, clock, log, channels: () => notifier.channelNames(), client });
  const ctl = async (path: string, body: unknown) => {
    const r = await fetch(`${sim.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const j = await r.json();
    if (!r.ok) throw new Error(`${path}: ${JSON.stringify(j)}`);
    return j;
  };
  return {
    clock,
    sim,
    gdb,
    config,
    core,
    notifier,
    step(ms) {
      clock.advance(ms);
      return core.ticker.tick(clock.now());
    },
    async add(body) {
      return (await ctl('/sim/instances', body)).id;
    },
    ctl,
    async state() {
      return (await fetch(`${sim.url}/sim/state`)).json();
    },
    async close() {
      await notifier.stop();
      await sim.close();
      gdb.close();
    },
  };
}
