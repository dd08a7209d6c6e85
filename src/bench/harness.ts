/** A simulator and a guard core on one shared ManualClock, as the daemon would run them (client over HTTP). */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { ManualClock } from '../clock.js';
import { parseConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { openDb, type GuardDb } from '../db/open.js';
import { createGuardCore, type GuardCore } from '../guard.js';
import { startSimulator, type RunningSim } from '../sim/index.js';
import { XgcClient } from '../xgc/index.js';
import { Notifier } from '../notify/index.js';

/** Simulator + guard core pair stepped by hand. */
export interface BenchHarness {
  clock: ManualClock;
  sim: RunningSim;
  gdb: GuardDb;
  config: Config;
  core: GuardCore;
  /** the notifier over config.notify (no channels unless the config has some) */
  notifier: Notifier;
  /** bring probe state up to the clock's current time (GPU streams settled, polled probes run and stored) */
  probe(): Promise<void>;
  /** run one tick at the clock's current time (after `probe()`, as the daemon's probe loop would have) */
  tick(): ReturnType<GuardCore['ticker']['tick']>;
  close(): Promise<void>;
}

/** Start a simulator (empty, manual clock at `start`) and a guard core over `raw` config (as from YAML). */
export async function startBenchHarness(
  raw: Record<string, unknown>,
  opts: { start: number; balance?: number; dbPath?: string; debit?: 'hourly' | 'continuous' },
): Promise<BenchHarness> {
  const clock = new ManualClock(opts.start);
  const sim = await startSimulator({ token: 'T', instances: 0, clock, seed: 7, balance: opts.balance ?? 1_000_000, debit: opts.debit });
  const dir = opts.dbPath ? undefined : mkdtempSync(join(tmpdir(), 'xgc-bench-'));
  const config = parseConfig({
    ...raw,
    xgc: { token: 'T', base_url: sim.url },
    db: { path: opts.dbPath ?? join(dir!, 'guard.db') },
  });
  const gdb = openDb(config.db.path);
  const log = pino({ level: process.env.BENCH_LOG ?? process.env.TEST_LOG ?? 'silent' });
  const client = new XgcClient({ baseUrl: sim.url, token: 'T', timeoutMs: 10_000, retries: 1, retryBaseMs: 1 });
  const notifier = new Notifier({
    db: gdb.db,
    clock,
    log,
    config: { email: config.notify.email, webhooks: config.notify.webhooks },
    locale: config.locale,
    timezone: config.timezone,
    publicUrl: config.http.public_url,
    retry: { baseMs: 10, capMs: 100, maxAttempts: 5 },
  });
  const core = createGuardCore({ db: gdb.db, config, clock, log, channels: () => notifier.channelNames(), client });
  // The daemon's probe loop runs on timers; on a stepped clock it is driven here, before each tick.
  // A GPU link still connecting is waited for (a loaded machine can take seconds to finish an SSH handshake), so
  // whether a tick saw the GPU never depends on the machine's speed; links that fail go down and are not waited on.
  const probe = async () => {
    sim.ssh?.reconcile(); // the simulator's SSH emits the samples due at the stepped time now, not at its next poll
    await core.probes.settle(30_000);
    await core.probes.pollApps();
    core.probes.flushGpu();
  };
  return {
    clock,
    sim,
    gdb,
    config,
    core,
    notifier,
    probe,
    async tick() {
      await probe();
      return core.ticker.tick(clock.now());
    },
    async close() {
      await core.probes.stop();
      await notifier.stop();
      await sim.close();
      gdb.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}
