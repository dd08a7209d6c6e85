import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import { actions, instances, intervals, ticks, outboxEvents, outboxDeliveries } from '../../src/db/schema.js';
import pino from 'pino';
import { parseConfig } from '../../src/config/load.js';
import { buildApp } from '../../src/http/app.js';
import { createMetrics } from '../../src/http/metrics.js';
import { startSimulator } from '../../src/sim/index.js';
import { spawnCli, tempDir } from '../helpers/proc.js';
import { API_TOKEN, H, READ_TOKEN, T0, bearer, makeApp, seedWorld, type TestApp } from './helpers.js';

const PROMTOOL = '/usr/bin/promtool';
const hasPromtool = existsSync(PROMTOOL);
if (!hasPromtool && process.env.REQUIRE_SYSTEM_DEPS === '1') throw new Error(`${PROMTOOL} is missing (REQUIRE_SYSTEM_DEPS=1): install the Debian package "prometheus"`);
if (!hasPromtool) console.warn(`skipping the promtool check: ${PROMTOOL} is missing (install the Debian package "prometheus")`);

let t: TestApp | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

/** The value of one sample line, e.g. value(body, 'xgc_guard_instances{status="running"}'). */
function value(body: string, series: string): number | undefined {
  const line = body.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1).replace('+Inf', 'Infinity'));
}

/** Every xgc_guard_* sample as series -> value. */
function samples(body: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const l of body.split('\n')) if (l.startsWith('xgc_guard_')) m.set(l.slice(0, l.lastIndexOf(' ')), Number(l.slice(l.lastIndexOf(' ') + 1).replace('+Inf', 'Infinity')));
  return m;
}

/** promtool's verdict on a scrape: exit status and every finding line. */
function promtool(body: string) {
  const r = spawnSync(PROMTOOL, ['check', 'metrics'], { input: body, encoding: 'utf8' });
  return { status: r.status, findings: (r.stdout + r.stderr).split('\n').filter(Boolean) };
}

const scrape = async (app: TestApp, headers?: Record<string, string>) => (await app.app.inject({ url: '/metrics', headers })).body;
const act = (key: string, over: Partial<typeof actions.$inferInsert>) => ({
  decisionKey: key,
  decidedAt: T0,
  instanceId: 'inst-a',
  instanceName: 'sd-a',
  policy: 'idle-release',
  action: 'release_gpu',
  mode: 'enforce',
  state: 'decided',
  ...over,
});

describe('/metrics', () => {
  it('reports the gauges and counters in base units, instance names beside ids', async () => {
    t = await makeApp();
    seedWorld(t.gdb);
    t.gdb.db.insert(ticks).values([{ at: T0 - 60_000, outcome: 'ok' }, { at: T0, outcome: 'blind', errorClass: 'network' }]).run();
    const ev = t.gdb.db.insert(outboxEvents).values({ type: 'low_balance', dedupKey: 'k', reason: 'first', payload: '{}', createdAt: T0 }).returning().get();
    t.gdb.db.insert(outboxDeliveries).values([{ eventId: ev.id, channel: 'email', state: 'pending', nextAttemptAt: T0 }, { eventId: ev.id, channel: 'wecom', state: 'dead', nextAttemptAt: T0 }]).run();
    const r = await t.app.inject({ url: '/metrics' });
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    const b = r.body;
    expect(value(b, 'xgc_guard_balance_yuan')).toBe(94);
    expect(value(b, 'xgc_guard_burn_rate_yuan_per_hour')).toBe(2.01);
    expect(value(b, 'xgc_guard_runway_seconds')).toBeCloseTo(((94 - 2.01) / 2.01) * 3600, 3); // the estimate ≈ now, as the runway policy reckons
    expect(b).not.toMatch(/xgc_guard_runway_hours/);
    expect(value(b, 'xgc_guard_instances{status="running"}')).toBe(1);
    expect(value(b, 'xgc_guard_instances{status="shutdown"}')).toBe(1);
    expect(value(b, 'xgc_guard_estimated_spend_yuan_total{instance="inst-a",name="sd-a"}')).toBeCloseTo(10, 6);
    expect(value(b, 'xgc_guard_estimated_spend_yuan_total{instance="inst-b",name="train-b"}')).toBeCloseTo(4.02, 6);
    // rows that entered each state: k1..k4 decided (dry run), k2 aborted, k3 failed; k5 decided, sent, confirmed
    expect(value(b, 'xgc_guard_actions_total{policy="idle-release",action="release_gpu",mode="dry_run",state="decided"}')).toBe(3);
    expect(value(b, 'xgc_guard_actions_total{policy="idle-release",action="release_gpu",mode="dry_run",state="aborted"}')).toBe(1);
    expect(value(b, 'xgc_guard_actions_total{policy="nightly",action="release_gpu",mode="dry_run",state="failed"}')).toBe(1);
    expect(value(b, 'xgc_guard_actions_total{policy="idle-release",action="release_gpu",mode="enforce",state="confirmed"}')).toBe(1);
    expect(value(b, 'xgc_guard_actions_total{policy="idle-release",action="release_gpu",mode="enforce",state="sent"}')).toBe(1);
    // the confirmed release of inst-b saves (2 - 0.01) ¥/h since T0-2h
    expect(value(b, 'xgc_guard_saved_yuan_total{policy="idle-release"}')).toBeCloseTo(1.99 * 2, 6);
    expect(value(b, 'xgc_guard_blind')).toBe(1);
    expect(value(b, 'xgc_guard_last_success_timestamp_seconds')).toBe((T0 - 60_000) / 1000);
    expect(value(b, 'xgc_guard_outbox_depth{state="pending"}')).toBe(1);
    expect(value(b, 'xgc_guard_outbox_depth{state="dead"}')).toBe(1);
    expect(b).toMatch(/^process_cpu_user_seconds_total /m);

    // a later scrape follows the DB (clock moves, the next tick is fine)
    t.gdb.db.insert(ticks).values({ at: T0 + 60_000, outcome: 'ok' }).run();
    t.clock.advance(H);
    const b2 = await scrape(t);
    expect(value(b2, 'xgc_guard_blind')).toBe(0);
    expect(value(b2, 'xgc_guard_last_success_timestamp_seconds')).toBe((T0 + 60_000) / 1000);
    expect(value(b2, 'xgc_guard_estimated_spend_yuan_total{instance="inst-a",name="sd-a"}')).toBeCloseTo(12, 6);
    expect(value(b2, 'xgc_guard_saved_yuan_total{policy="idle-release"}')).toBeCloseTo(1.99 * 3, 6);
  });

  it('counts each journal transition once as it happens: series never drop and never go down', async () => {
    t = await makeApp();
    seedWorld(t.gdb);
    const series = (state: string) => `xgc_guard_actions_total{policy="runaway",action="release_gpu",mode="enforce",state="${state}"}`;
    const seen: Array<Map<string, number>> = [];
    const look = async () => seen.push(samples(await scrape(t!)));
    await look();
    const id = t.gdb.db.insert(actions).values(act('m1', { policy: 'runaway', state: 'deferred' })).returning().get().id;
    await look();
    expect(seen.at(-1)!.get(series('deferred'))).toBe(1);
    for (const [state, extra] of [['decided', {}], ['sent', { sentAt: T0 + 1000 }], ['confirmed', {}]] as const) {
      t.gdb.db.update(actions).set({ state, ...extra }).where(eq(actions.id, id)).run();
      await look();
      expect(seen.at(-1)!.get(series(state)), state).toBe(1);
    }
    // every series that appeared is still there with a value at least as high as before (a counter's promise)
    for (let i = 1; i < seen.length; i++)
      for (const [k, v] of seen[i - 1]) if (k.includes('_total')) expect(seen[i].get(k), `${k} at scrape ${i}`).toBeGreaterThanOrEqual(v);
    const last = seen.at(-1)!;
    expect(['deferred', 'decided', 'sent', 'confirmed'].map((s) => last.get(series(s)))).toEqual([1, 1, 1, 1]);
    // an instance status that no instance has any more stays at 0
    t.gdb.db.update(instances).set({ status: 'shutdown' }).where(eq(instances.id, 'inst-a')).run();
    const b = await scrape(t);
    expect(value(b, 'xgc_guard_instances{status="running"}')).toBe(0);
    expect(value(b, 'xgc_guard_instances{status="shutdown"}')).toBe(2);
  });

  it('continues every counter after a restart (a new process over the same database starts where the old one was)', async () => {
    t = await makeApp();
    seedWorld(t.gdb);
    t.gdb.db.insert(actions).values(act('r1', { state: 'sent', sentAt: T0 - H })).run();
    const before = samples(await scrape(t));
    // a fresh registry (as after a restart) over the same database file
    const second = await buildApp({ gdb: t.gdb, config: parseConfig({}), clock: t.clock, log: pino({ level: 'silent' }), runtime: { dbOpen: true, leader: true, jobsRunning: false, demo: false }, metrics: createMetrics() });
    try {
      await second.ready();
      const after = samples((await second.inject({ url: '/metrics' })).body);
      const counters = [...before].filter(([k]) => /_total\{/.test(k) && !k.startsWith('xgc_guard_cloud_api'));
      expect(counters.length).toBeGreaterThan(5);
      for (const [k, v] of counters) expect(after.get(k), k).toBeCloseTo(v, 9);
    } finally {
      await second.close();
    }
  });

  it('savings count every release until the boot that ended it: one ended a week ago, one ended an hour ago, before and after a restart', async () => {
    t = await makeApp();
    seedWorld(t.gdb);
    const now = t.clock.now();
    const release = (key: string, stoppedAt: number, rebootedAt: number) =>
      act(key, { policy: 'p-boot', state: 'confirmed', decidedAt: stoppedAt, sentAt: stoppedAt, stoppedAt, rebootedAt, rate: 1.59, retainRate: 0.01 });
    t.gdb.db.insert(actions).values(release('old', now - 10 * 24 * H, now - 10 * 24 * H + H)).run(); // settled (past the 7-day cap)
    t.gdb.db.insert(actions).values(release('recent', now - 3 * H, now - 2 * H)).run(); // ended, not settled yet
    const expected = 2 * (1.59 - 0.01); // one hour each
    const series = 'xgc_guard_saved_yuan_total{policy="p-boot"}';
    expect(value(await scrape(t), series)).toBeCloseTo(expected, 9);
    t.clock.advance(H);
    expect(value(await scrape(t), series)).toBeCloseTo(expected, 9);
    const second = await buildApp({ gdb: t.gdb, config: parseConfig({}), clock: t.clock, log: pino({ level: 'silent' }), runtime: { dbOpen: true, leader: true, jobsRunning: false, demo: false }, metrics: createMetrics() });
    try {
      await second.ready();
      expect(value((await second.inject({ url: '/metrics' })).body, series)).toBeCloseTo(expected, 9);
    } finally {
      await second.close();
    }
  });

  it('spend keeps growing with the clock, never goes back, and follows a renamed instance', async () => {
    t = await makeApp();
    seedWorld(t.gdb);
    const a1 = value(await scrape(t), 'xgc_guard_estimated_spend_yuan_total{instance="inst-a",name="sd-a"}')!;
    t.clock.advance(30 * 60_000);
    // the open interval is closed at a tick before the scrape's "now": the counter must not go back
    t.gdb.db.update(intervals).set({ to: T0 + 10 * 60_000 }).where(eq(intervals.instanceId, 'inst-a')).run();
    const a2 = value(await scrape(t), 'xgc_guard_estimated_spend_yuan_total{instance="inst-a",name="sd-a"}')!;
    expect(a2).toBeGreaterThanOrEqual(a1);
    t.gdb.db.update(instances).set({ name: 'sd-renamed' }).where(eq(instances.id, 'inst-a')).run();
    const b = await scrape(t);
    expect(value(b, 'xgc_guard_estimated_spend_yuan_total{instance="inst-a",name="sd-a"}')).toBeUndefined();
    expect(value(b, 'xgc_guard_estimated_spend_yuan_total{instance="inst-a",name="sd-renamed"}')).toBeCloseTo(a2, 9);
  });

  it("ends an instance's spend series a day after it is gone, and continues it if the instance is listed again", async () => {
    t = await makeApp();
    seedWorld(t.gdb);
    const series = (id: string, name: string) => `xgc_guard_estimated_spend_yuan_total{instance="${id}",name="${name}"}`;
    const old = { gpuModel: 'RTX 4090', gpuCount: 1, pricePerHour: 2, retainPrice: 0.01, firstSeen: T0 - 30 * H, lastSeen: T0 - 25 * H };
    // gone 25 h ago (before the first scrape) and gone 23 h ago: the first is never shown, the second is
    t.gdb.db.insert(instances).values([{ id: 'inst-old', name: 'sd-old', status: 'running', ...old, goneAt: T0 - 25 * H }, { id: 'inst-late', name: 'sd-late', status: 'running', ...old, goneAt: T0 - 23 * H }]).run();
    t.gdb.db.insert(intervals).values([
      { instanceId: 'inst-old', status: 'running', gpuKept: true, gpuCount: 1, rate: 2, from: T0 - 30 * H, to: T0 - 25 * H },
      { instanceId: 'inst-late', status: 'running', gpuKept: true, gpuCount: 1, rate: 2, from: T0 - 30 * H, to: T0 - 23 * H },
    ]).run();
    const a = await scrape(t);
    expect(value(a, series('inst-old', 'sd-old'))).toBeUndefined();
    expect(value(a, series('inst-late', 'sd-late'))).toBeCloseTo(14, 9);
    expect(value(a, series('inst-a', 'sd-a'))).toBeCloseTo(10, 9); // listed: kept
    // two hours later the second is gone for more than a day too
    t.clock.advance(2 * H);
    const b = await scrape(t);
    expect(value(b, series('inst-late', 'sd-late'))).toBeUndefined();
    expect(value(b, series('inst-a', 'sd-a'))).toBeCloseTo(14, 9);
    if (hasPromtool) expect(promtool(b).status).toBe(0);
    // listed again: the series continues with everything it spent
    t.gdb.db.update(instances).set({ goneAt: null }).where(eq(instances.id, 'inst-old')).run();
    expect(value(await scrape(t), series('inst-old', 'sd-old'))).toBeCloseTo(10, 9);
  });

  it('says +Inf runway when nothing burns and NaN balance before the first observation', async () => {
    t = await makeApp();
    const b = await scrape(t);
    expect(b).toMatch(/^xgc_guard_balance_yuan nan$/im);
    expect(b).toMatch(/^xgc_guard_runway_seconds nan$/im);
    expect(value(b, 'xgc_guard_burn_rate_yuan_per_hour')).toBe(0);
    expect(value(b, 'xgc_guard_last_success_timestamp_seconds')).toBe(0);
  });

  it('uses the metrics passed in (the tick job instruments them) on a per-app registry', async () => {
    const metrics = createMetrics();
    metrics.tickDuration.observe({ outcome: 'ok' }, 0.3);
    metrics.apiRequests.inc({ endpoint: '/open/instances', result: 'ok' });
    metrics.apiErrors.inc({ class: 'timeout' });
    t = await makeApp({ metrics });
    const b = await scrape(t);
    expect(value(b, 'xgc_guard_tick_duration_seconds_count{outcome="ok"}')).toBe(1);
    expect(value(b, 'xgc_guard_cloud_api_requests_total{endpoint="/open/instances",result="ok"}')).toBe(1);
    expect(value(b, 'xgc_guard_cloud_api_errors_total{class="timeout"}')).toBe(1);
    // a second app does not share the registry
    const other = await makeApp();
    try {
      expect(await scrape(other)).not.toMatch(/xgc_guard_cloud_api_errors_total\{class="timeout"\}/);
    } finally {
      await other.close();
    }
  });

  it('needs the API or read token when listening beyond loopback, unless http.metrics_auth is false', async () => {
    t = await makeApp({ http: { host: '0.0.0.0', api_token: API_TOKEN, read_token: READ_TOKEN } });
    expect((await t.app.inject({ url: '/metrics' })).statusCode).toBe(401);
    expect((await t.app.inject({ url: '/metrics', headers: bearer('wrong-token-0123456789') })).statusCode).toBe(401);
    expect((await t.app.inject({ url: '/metrics', headers: bearer(API_TOKEN) })).statusCode).toBe(200);
    expect((await t.app.inject({ url: '/metrics', headers: bearer(READ_TOKEN) })).statusCode).toBe(200);
    const off = await makeApp({ http: { host: '0.0.0.0', api_token: API_TOKEN, metrics_auth: false } });
    const loop = await makeApp({ http: { host: '127.0.0.1', api_token: API_TOKEN } });
    try {
      expect((await off.app.inject({ url: '/metrics' })).statusCode).toBe(200);
      expect((await loop.app.inject({ url: '/metrics' })).statusCode).toBe(200);
    } finally {
      await off.close();
      await loop.close();
    }
  });

  it.skipIf(!hasPromtool)('passes `promtool check metrics` with no finding at all on a live scrape over a real socket', async () => {
    t = await makeApp();
    seedWorld(t.gdb);
    t.gdb.db.insert(ticks).values({ at: T0, outcome: 'ok' }).run();
    const url = await t.app.listen({ host: '127.0.0.1', port: 0 });
    const body = await (await fetch(`${url}/metrics`)).text();
    for (const family of ['xgc_guard_balance_yuan', 'xgc_guard_runway_seconds', 'xgc_guard_saved_yuan_total', 'xgc_guard_actions_total', 'xgc_guard_estimated_spend_yuan_total', 'xgc_guard_last_success_timestamp_seconds'])
      expect(body).toContain(`# TYPE ${family} `);
    expect(promtool(body)).toEqual({ status: 0, findings: [] });
  });

  it.skipIf(!hasPromtool)('the daemon (built CLI, against the simulator) serves a /metrics that promtool passes clean', async () => {
    const sim = await startSimulator({ token: 'tok-metrics', instances: 3, speed: 1, seed: 4 });
    const dir = tempDir();
    const cfg = join(dir, 'guard.yaml');
    writeFileSync(cfg, 'snapshot: { every: "*/1 * * * * *" }\n');
    const p = spawnCli(['run', '--config', cfg], { XGC_API_TOKEN: 'tok-metrics', XGC_API_BASE_URL: sim.url, GUARD_DB: join(dir, 'g.db'), GUARD_HTTP_PORT: '0' });
    try {
      const [, url] = await p.waitFor(/"url":"(http:\/\/127\.0\.0\.1:\d+)"/, 60_000);
      await p.waitFor(/"msg":"tick: /, 60_000);
      const body = await (await fetch(`${url}/metrics`)).text();
      expect(value(body, 'xgc_guard_last_success_timestamp_seconds')).toBeGreaterThan(Date.now() / 1000 - 120);
      expect(value(body, 'xgc_guard_cloud_api_requests_total{endpoint="/open/instances",result="ok"}')).toBeGreaterThanOrEqual(1);
      expect(body).toMatch(/^xgc_guard_estimated_spend_yuan_total\{instance="[a-z0-9-]+",name="[^"]+"\} /m);
      expect(promtool(body)).toEqual({ status: 0, findings: [] });
    } finally {
      p.child.kill('SIGTERM');
      await p.exited;
      await sim.close();
    }
  }, 150_000);
});
