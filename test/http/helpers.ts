/** Helpers for HTTP tests: a real app on a temp SQLite file, seeded with drizzle rows, and a manual clock. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { ManualClock } from '../../src/clock.js';
import { parseConfig } from '../../src/config/load.js';
import { openDb, type GuardDb } from '../../src/db/open.js';
import { actions, balancePoints, instances, intervals } from '../../src/db/schema.js';
import { buildApp, type App } from '../../src/http/app.js';
import type { Metrics } from '../../src/http/metrics.js';

/** 2026-01-10 12:00 in Asia/Shanghai (04:00Z). */
export const T0 = Date.parse('2026-01-10T04:00:00Z');
export const H = 3_600_000;
export const API_TOKEN = 'api-token-0123456789';
export const READ_TOKEN = 'read-token-0123456789';
export const HEARTBEAT_TOKEN = 'hb-token-0123456789';

/** A built app with its DB, clock and temp dir. */
export interface TestApp {
  app: App;
  gdb: GuardDb;
  clock: ManualClock;
  close(): Promise<void>;
}

/** Build the real app over a temp DB file; `http` overrides the tokens (default: api + read + heartbeat tokens). */
export async function makeApp(opts: { http?: Record<string, unknown>; metrics?: Metrics; raw?: Record<string, unknown> } = {}): Promise<TestApp> {
  const dir = mkdtempSync(join(tmpdir(), 'xgc-guard-http-'));
  const gdb = openDb(join(dir, 'guard.db'));
  const config = parseConfig({
    db: { path: join(dir, 'guard.db') },
    http: opts.http ?? { api_token: API_TOKEN, read_token: READ_TOKEN, heartbeat_token: HEARTBEAT_TOKEN },
    ...opts.raw,
  });
  const clock = new ManualClock(T0);
  const app = await buildApp({
    gdb,
    config,
    clock,
    log: pino({ level: 'silent' }),
    runtime: { dbOpen: true, leader: true, jobsRunning: false, demo: false },
    metrics: opts.metrics,
  });
  await app.ready();
  return {
    app,
    gdb,
    clock,
    async close() {
      await app.close();
      gdb.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Authorization header for a token. */
export const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

/** Seed a small world: two instances, intervals, balance points and journal rows around T0. */
export function seedWorld(gdb: GuardDb): void {
  const db = gdb.db;
  const inst = (id: string, name: string, status: string, gone: number | null = null) => ({
    id,
    name,
    status,
    gpuModel: 'RTX 4090',
    gpuCount: status === 'running' ? 1 : 0,
    pricePerHour: 2,
    retainPrice: 0.01,
    firstSeen: T0 - 10 * H,
    lastSeen: T0,
    goneAt: gone,
  });
  db.insert(instances).values([inst('inst-a', 'sd-a', 'running'), inst('inst-b', 'train-b', 'shutdown')]).run();
  db.insert(intervals)
    .values([
      { instanceId: 'inst-a', status: 'running', gpuKept: true, gpuCount: 1, rate: 2, from: T0 - 5 * H, to: null },
      { instanceId: 'inst-b', status: 'running', gpuKept: true, gpuCount: 1, rate: 2, from: T0 - 4 * H, to: T0 - 2 * H },
      { instanceId: 'inst-b', status: 'shutdown', gpuKept: false, gpuCount: 0, rate: 0.01, from: T0 - 2 * H, to: null },
    ])
    .run();
  db.insert(balancePoints)
    .values([
      { at: T0 - 9 * 86_400_000, balance: 150 },
      { at: T0 - 3 * H, balance: 100 },
      { at: T0 - 2 * H, balance: 96 },
      { at: T0 - H, balance: 94 },
    ])
    .run();
  const act = (n: number, over: Partial<typeof actions.$inferInsert>) => ({
    decisionKey: `k${n}`,
    decidedAt: T0 - 3 * H + n * 60_000,
    instanceId: 'inst-a',
    instanceName: 'sd-a',
    policy: 'idle-release',
    action: 'release_gpu',
    mode: 'dry_run',
    state: 'decided',
    reason: `reason ${n}`,
    ...over,
  });
  db.insert(actions)
    .values([
      act(1, {}),
      act(2, { state: 'aborted' }),
      act(3, { policy: 'nightly', state: 'failed', detail: 'boom' }),
      act(4, {}),
      // the release that stopped inst-b's GPU billing: saves (2 - 0.01) ¥/h from T0-2h
      act(5, {
        decidedAt: T0 - 2 * H,
        sentAt: T0 - 2 * H,
        instanceId: 'inst-b',
        instanceName: 'train-b',
        mode: 'enforce',
        state: 'confirmed',
        rate: 2,
        retainRate: 0.01,
        who: 'policy',
      }),
    ])
    .run();
}
