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

/** Simulator + guard core pair stepped by hand. */
export interface BenchHarness {
  clock: ManualClock;
  sim: RunningSim;
  gdb: GuardDb;
  config: Config;
  core: GuardCore;
  /** run one tick at the clock's current time */
  tick(): ReturnType<GuardCore['ticker']['tick']>;
  close(): Promise<void>;
}

/** Start a simulator (empty, manual clock at `start`) and a guard core over `raw` config (as from YAML). */
export async function startBenchHarness(raw: Record<string, unknown>, opts: { start: number; balance?: number; dbPath?: string }): Promise<BenchHarness> {
  const clock = new ManualClock(opts.start);
  const sim = await startSimulator({ token: 'T', instances: 0, clock, seed: 7, balance: opts.balance ?? 1_000_000 });
  const dir = opts.dbPath ? undefined : mkdtempSync(join(tmpdir(), 'xgc-bench-'));
  const config = parseConfig({
    ...raw,
    xgc: { token: 'T', base_url: sim.url },
    db: { path: opts.dbPath ?? join(dir!, 'guard.db') },
  });
  const gdb = openDb(config.db.path);
  const log = pino({ level: process.env.BENCH_LOG ?? 'silent' });
  const client = new XgcClient({ baseUrl: sim.url, token: 'T', timeoutMs: 10_000, retries: 1, retryBaseMs: 1 });
  const core = createGuardCore({ db: gdb.db, config, clock, log, channels: () => [], client });
  return {
    clock,
    sim,
    gdb,
    config,
    core,
    tick: () => core.ticker.tick(clock.now()),
    async close() {
      await sim.close();
      gdb.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}
