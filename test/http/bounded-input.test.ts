import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDb } from '../../src/db/open.js';
import { heartbeats, overrides } from '../../src/db/schema.js';
import { CLI, runCli, tempDir } from '../helpers/proc.js';
import { API_TOKEN, H, T0, bearer, makeApp, seedWorld, type TestApp } from './helpers.js';

const DAY = 24 * H;
let t: TestApp;
const auth = bearer(API_TOKEN);
beforeEach(async () => {
  t = await makeApp();
  seedWorld(t.gdb);
});
afterEach(async () => {
  await t.close();
});

const get = (url: string) => t.app.inject({ url, headers: auth });
const post = (url: string, payload: unknown) => t.app.inject({ method: 'POST', url, payload: payload as object, headers: auth });
const snooze = (end: Record<string, unknown>) => post('/api/v1/overrides', { target: { instance_id: 'inst-a' }, kind: 'snooze', reason: 'r', ...end });
const badRequest = (message: RegExp) => ({ error: { code: 'bad_request', message: expect.stringMatching(message) } });

/** The read routes the dashboard and the CLI list use: all 200. */
async function readsAnswer200(): Promise<void> {
  for (const url of ['/api/v1/instances', '/api/v1/overrides', '/api/v1/overrides?all=1', '/api/v1/alerts', '/api/v1/actions']) expect((await get(url)).statusCode, url).toBe(200);
}

describe('bounded input: what a write route stores cannot break a read', () => {
  it.each([
    ['a 99999999d snooze', { for: '99999999d' }, /^body\.for: must be at most 365d: an override lasts at most 365d/],
    ['a 366d snooze', { for: '366d' }, /^body\.for: must be at most 365d/],
    ['a duration too long to be a number', { for: `${'9'.repeat(400)}d` }, /^body\.for: expected a duration/],
    ['an until 366 days ahead', { until: '+366d' }, /^body\.until: must be at most 365d from now/],
    ['an until in the year 9999', { until: '9999-12-31T00:00:00Z' }, /^body\.until: must be at most 365d from now/],
    ['an until beyond Date', { until: '+99999999d' }, /^body\.until: not a time from 1970 to 9999/],
    ['an until before 1970', { until: '1969-12-31T00:00:00Z' }, /^body\.until: not a time from 1970 to 9999/],
  ])('POST /api/v1/overrides refuses %s with a 400 naming the field and the limit, storing nothing', async (_what, end, message) => {
    const r = await snooze(end);
    expect(r.statusCode).toBe(400);
    expect(r.json()).toEqual(badRequest(message));
    expect(t.gdb.db.select().from(overrides).all()).toEqual([]);
    await readsAnswer200();
  });

  it('accepts an override of exactly 365 days, by for and by until', async () => {
    const a = await snooze({ for: '365d' });
    expect(a.statusCode).toBe(201);
    const b = await snooze({ until: '+365d' });
    expect(b.statusCode).toBe(201);
    expect(t.gdb.db.select().from(overrides).all().map((o) => o.until)).toEqual([T0 + 365 * DAY, T0 + 365 * DAY]);
  });

  it.each([
    ['/api/v1/spend?from=-99999999d', /^query\.from: expected a time from 1970-01-01 to 9999-12-31/],
    ['/api/v1/balance?to=%2B99999999d', /^query\.to: expected a time from 1970-01-01 to 9999-12-31/],
    ['/api/v1/spend?from=1969-01-01', /^query\.from: expected a time from 1970-01-01/],
  ])('a time query parameter outside 1970..9999 is a 400 naming it (%s)', async (url, message) => {
    const r = await get(url);
    expect(r.statusCode).toBe(400);
    expect(r.json()).toEqual(badRequest(message));
  });

  it.each([
    [['--for', '99999999d'], /^xgc-guard override: --for: must be at most 365d: an override lasts at most 365d/],
    [['--until', '+366d'], /^xgc-guard override: --until: must be at most 365d from now/],
    [['--until', '+99999999d'], /^xgc-guard override: --until: expected a time from 1970-01-01 to 9999-12-31/],
  ])('`override add %s` (the built CLI) exits 1 naming the option and the limit, storing nothing', { timeout: 60_000 }, async (end, message) => {
    if (!existsSync(CLI)) throw new Error(`${CLI} missing: run \`npm run build\` first`);
    const env = { GUARD_DB: join(tempDir(), 'guard.db') };
    const r = await runCli(['override', 'add', '--instance', 'inst-a', '--kind', 'snooze', ...end, '--reason', 'r', '--force'], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(message);
    if (existsSync(env.GUARD_DB)) {
      const gdb = openDb(env.GUARD_DB);
      try {
        expect(gdb.db.select().from(overrides).all()).toEqual([]);
      } finally {
        gdb.close();
      }
    }
  });

  it('POST /api/v1/heartbeat refuses a gpu_util that JSON makes infinite (1e400), storing nothing', async () => {
    const r = await t.app.inject({ method: 'POST', url: '/api/v1/heartbeat', payload: '{"instance_id":"inst-a","gpu_util":1e400}', headers: { ...auth, 'content-type': 'application/json' } });
    expect(r.statusCode).toBe(400);
    expect(r.json()).toEqual(badRequest(/^body\.gpu_util: /));
    expect(t.gdb.db.select().from(heartbeats).all()).toEqual([]);
  });
});

/** Rows an older release could have written: times beyond Date's range, negative, or not numbers at all. */
function writeUnrenderableRows(db: TestApp['gdb']['db']): void {
  const row = { instanceId: 'inst-a', nameGlob: null, kind: 'snooze', policies: null, forever: false, who: 'old', reason: 'old release', createdAt: T0 - H, revokedAt: null };
  db.insert(overrides)
    .values([
      { ...row, until: T0 + 99_999_999 * DAY },
      { ...row, until: 1e300 },
      { ...row, createdAt: -1e300, until: T0 + H },
      { ...row, until: T0 + 2 * H, reason: 'a good one' },
    ])
    .run();
}

describe('a stored row that cannot be rendered', () => {
  it('is listed as invalid with its problem, is not in force, and breaks no read', async () => {
    writeUnrenderableRows(t.gdb.db);
    await readsAnswer200();
    const list = (await get('/api/v1/overrides')).json().overrides;
    expect(list.map((o: { id: number; state: string; until: string | null }) => [o.id, o.state, o.until])).toEqual([
      [4, 'active', '2026-01-10T14:00:00+08:00'],
      [3, 'invalid', '2026-01-10T13:00:00+08:00'],
      [2, 'invalid', null],
      [1, 'invalid', null],
    ]);
    expect(list[3].problem).toMatch(/^stored until 8641767931200000 is not a time from 1970 to 9999$/);
    expect(list[1].problem).toMatch(/^stored createdAt -1e\+300 is not a time/);
    const inst = (await get('/api/v1/instances')).json().instances.find((i: { id: string }) => i.id === 'inst-a');
    expect(inst.overrides.map((o: { id: number }) => o.id)).toEqual([4]);
    const del = await t.app.inject({ method: 'DELETE', url: '/api/v1/overrides/1', headers: auth });
    expect(del.statusCode).toBe(200);
    expect(del.json().override).toMatchObject({ id: 1, state: 'invalid', revoked_at: '2026-01-10T12:00:00+08:00' });
  });

  it('`override list` (the built CLI) exits 0, shows it as invalid and warns on stderr', { timeout: 60_000 }, async () => {
    if (!existsSync(CLI)) throw new Error(`${CLI} missing: run \`npm run build\` first`);
    const env = { GUARD_DB: join(tempDir(), 'guard.db'), GUARD_TZ: 'UTC' };
    const gdb = openDb(env.GUARD_DB);
    try {
      writeUnrenderableRows(gdb.db);
    } finally {
      gdb.close();
    }
    const list = await runCli(['override', 'list', '--all', '--json'], env);
    expect(list.code).toBe(0);
    expect(JSON.parse(list.stdout).overrides.map((o: { state: string }) => o.state)).toEqual(['expired', 'invalid', 'invalid', 'invalid']);
    expect(list.stderr).toMatch(/warning: override 1 is invalid \(stored until 8641767931200000 is not a time from 1970 to 9999\)/);
    const table = await runCli(['override', 'list'], env);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^1\s+snooze\s+inst-a\s+\(never seen\)\s+\*\s+-\s+invalid\s+old\s+old release$/m);
  });
});
