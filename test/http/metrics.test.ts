import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { actions, ticks, outboxEvents, outboxDeliveries } from '../../src/db/schema.js';
import { createMetrics } from '../../src/http/metrics.js';
import { H, T0, makeApp, seedWorld, type TestApp } from './helpers.js';

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

describe('/metrics', () => {
  it('reports the DB-derived gauges and counters', async () => {
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
    expect(value(b, 'xgc_guard_runway_hours')).toBeCloseTo(94 / 2.01, 6);
    expect(value(b, 'xgc_guard_instances{status="running"}')).toBe(1);
    expect(value(b, 'xgc_guard_instances{status="shutdown"}')).toBe(1);
    expect(value(b, 'xgc_guard_estimated_spend_yuan_total{instance="inst-a"}')).toBeCloseTo(10, 6);
    expect(value(b, 'xgc_guard_estimated_spend_yuan_total{instance="inst-b"}')).toBeCloseTo(4.02, 6);
    expect(value(b, 'xgc_guard_actions_total{policy="idle-release",action="release_gpu",state="decided"}')).toBe(2);
    expect(value(b, 'xgc_guard_actions_total{policy="nightly",action="release_gpu",state="failed"}')).toBe(1);
    expect(value(b, 'xgc_guard_blind')).toBe(1);
    expect(value(b, 'xgc_guard_outbox_depth{state="pending"}')).toBe(1);
    expect(value(b, 'xgc_guard_outbox_depth{state="dead"}')).toBe(1);
    expect(b).toMatch(/^process_cpu_user_seconds_total /m);

    // a later scrape follows the DB (journal changes, clock moves, the next tick is fine)
    t.gdb.db.insert(ticks).values({ at: T0 + 60_000, outcome: 'ok' }).run();
    t.gdb.db.insert(actions).values({ decisionKey: 'k9', decidedAt: T0, instanceId: 'inst-a', policy: 'nightly', action: 'release_gpu', mode: 'dry_run', state: 'failed' }).run();
    t.clock.advance(H);
    const b2 = (await t.app.inject({ url: '/metrics' })).body;
    expect(value(b2, 'xgc_guard_blind')).toBe(0);
    expect(value(b2, 'xgc_guard_actions_total{policy="nightly",action="release_gpu",state="failed"}')).toBe(2);
    expect(value(b2, 'xgc_guard_estimated_spend_yuan_total{instance="inst-a"}')).toBeCloseTo(12, 6);
  });

  it('says +Inf runway when nothing burns and NaN balance before the first observation', async () => {
    t = await makeApp();
    const b = (await t.app.inject({ url: '/metrics' })).body;
    expect(b).toMatch(/^xgc_guard_balance_yuan nan$/im);
    expect(b).toMatch(/^xgc_guard_runway_hours nan$/im);
    expect(value(b, 'xgc_guard_burn_rate_yuan_per_hour')).toBe(0);
  });

  it('uses the metrics passed in (the tick job instruments them) on a per-app registry', async () => {
    const metrics = createMetrics();
    metrics.tickDuration.observe({ outcome: 'ok' }, 0.3);
    metrics.apiRequests.inc({ endpoint: '/open/instances', result: 'ok' });
    metrics.apiErrors.inc({ class: 'timeout' });
    t = await makeApp({ metrics });
    const b = (await t.app.inject({ url: '/metrics' })).body;
    expect(value(b, 'xgc_guard_tick_duration_seconds_count{outcome="ok"}')).toBe(1);
    expect(value(b, 'xgc_guard_cloud_api_requests_total{endpoint="/open/instances",result="ok"}')).toBe(1);
    expect(value(b, 'xgc_guard_cloud_api_errors_total{class="timeout"}')).toBe(1);
    // a second app does not share the registry
    const other = await makeApp();
    try {
      const b2 = (await other.app.inject({ url: '/metrics' })).body;
      expect(b2).not.toMatch(/xgc_guard_cloud_api_errors_total\{class="timeout"\}/);
    } finally {
      await other.close();
    }
  });

  it.skipIf(!hasPromtool)('passes `promtool check metrics` on a live scrape over a real socket', async () => {
    t = await makeApp();
    seedWorld(t.gdb);
    t.gdb.db.insert(ticks).values({ at: T0, outcome: 'ok' }).run();
    const url = await t.app.listen({ host: '127.0.0.1', port: 0 });
    const body = await (await fetch(`${url}/metrics`)).text();
    expect(body).toContain('xgc_guard_balance_yuan');
    const r = spawnSync(PROMTOOL, ['check', 'metrics'], { input: body, encoding: 'utf8' });
    // exit 1 = the text does not parse; exit 3 = lint findings only. The findings allowed are prom-client's own
    // default gauges and the documented name xgc_guard_runway_hours (hours, not the base unit seconds).
    expect(r.status, r.stderr).not.toBe(1);
    const allowed = [
      /^nodejs_active_(handles|requests|resources)_total non-counter metrics should not have "_total" suffix$/,
      /^xgc_guard_runway_hours use base unit "seconds" instead of "hours"$/,
    ];
    const findings = (r.stdout + r.stderr).split('\n').filter(Boolean);
    expect(findings.filter((f) => !allowed.some((re) => re.test(f)))).toEqual([]);
    expect([0, 3]).toContain(r.status);
  });
});
