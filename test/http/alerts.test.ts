/**
 * `GET /api/v1/alerts` (firing first, then resolved, messages per locale) and `/readyz`'s blind spell, over a real
 * app and SQLite file, with alerts raised and resolved through the notification pipeline itself.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { actions, ticks } from '../../src/db/schema.js';
import { markFailed } from '../../src/notify/outbox.js';
import { raise, resolve } from '../../src/notify/index.js';
import { listDeliveries } from '../../src/notify/index.js';
import { API_TOKEN, bearer, H, makeApp, T0, type TestApp } from './helpers.js';

const MIN = 60_000;
let t: TestApp | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

interface AlertJson {
  key: string;
  type: string;
  severity: string;
  state: string;
  since: string;
  resolved_at: string | null;
  message: string;
  reason_code?: { code: string };
}

async function alerts(app: TestApp, query = ''): Promise<AlertJson[]> {
  const r = await app.app.inject({ url: `/api/v1/alerts${query}`, headers: bearer(API_TOKEN) });
  expect(r.statusCode, r.body).toBe(200);
  return r.json<{ alerts: AlertJson[] }>().alerts;
}

describe('GET /api/v1/alerts', () => {
  it('lists firing alerts first (critical before warning), then resolved ones, with messages in the requested locale', async () => {
    t = await makeApp();
    const db = t.gdb.db;
    const ch = { channels: ['email'] };
    raise(db, { type: 'balance_low', dedupKey: 'balance_low:low-balance', fingerprint: '100', data: { policy: 'low-balance', balance: 42.5, threshold: 100, reason_code: { code: 'balance.below', params: { balance_yuan: 42.5, threshold_yuan: 100 } } } }, { now: T0 - 2 * H, ...ch });
    raise(db, { type: 'runway_critical', dedupKey: 'runway_critical:runway', data: { policy: 'runway', balance: 3, burn_per_hour: 3.18, hours_left: 0.94, empty_at: T0 + 56 * MIN, instances: [{ id: 'i1', name: 'train #keep' }], top_up: 80 } }, { now: T0 - H, ...ch });
    raise(db, { type: 'guard_blind', dedupKey: 'guard_blind', data: { ticks: 5, since: T0 - 3 * H, error: 'network' } }, { now: T0 - 3 * H, ...ch });
    resolve(db, 'guard_blind', { now: T0 - 150 * MIN, ...ch });
    // one-off reports are not alerts
    raise(db, { type: 'action_planned', dedupKey: 'action_planned:x', data: { instance: { id: 'i2', name: 'sd' }, policy: 'idle', action: 'release_gpu', planned_at: T0 + H } }, { now: T0, ...ch });
    db.insert(actions).values({ decisionKey: 'k1', decidedAt: T0 - 10 * MIN, instanceId: 'i2', instanceName: 'sd-a', policy: 'idle', action: 'release_gpu', mode: 'enforce', state: 'failed', detail: 'cloud said no' }).run();
    db.insert(actions).values({ decisionKey: 'k2', decidedAt: T0 - 3 * 24 * H, instanceId: 'i2', instanceName: 'sd-a', policy: 'idle', action: 'release_gpu', mode: 'enforce', state: 'failed' }).run();
    const dead = listDeliveries(db, { state: 'pending' }).find((d) => d.type === 'balance_low')!;
    markFailed(db, dead.id, { attempts: 8, error: 'smtp down', nextAttemptAt: T0, dead: true });

    const en = await alerts(t, '?locale=en');
    expect(en.map((a) => [a.type, a.state, a.severity])).toEqual([
      ['runway_critical', 'firing', 'critical'],
      ['action_failed', 'firing', 'warning'],
      ['balance_low', 'firing', 'warning'],
      ['notify_dead', 'firing', 'warning'],
      ['guard_blind', 'resolved', 'warning'],
    ]);
    const low = en.find((a) => a.type === 'balance_low')!;
    expect(low).toMatchObject({ key: 'balance_low:low-balance', since: '2026-01-10T10:00:00+08:00', resolved_at: null, reason_code: { code: 'balance.below' } });
    expect(low.message).toContain('¥42.50');
    expect(en.find((a) => a.type === 'action_failed')!.message).toContain('sd-a');
    expect(en.find((a) => a.type === 'notify_dead')!.message).toBe('1 notification to email could not be delivered (given up after retries)');
    expect(en.find((a) => a.type === 'guard_blind')!.resolved_at).toBe('2026-01-10T09:30:00+08:00');
    expect(JSON.stringify(en)).not.toContain('smtp down');

    const zh = await alerts(t, '?locale=zh-CN');
    expect(zh.find((a) => a.type === 'balance_low')!.message).toMatch(/^余额不足/);
    expect(zh.find((a) => a.type === 'notify_dead')!.message).toContain('条发往 email 的通知发送失败');
    // without ?locale: the configured one (the default config says zh-CN)
    expect((await alerts(t)).map((a) => a.message)).toEqual(zh.map((a) => a.message));

    const bad = await t.app.inject({ url: '/api/v1/alerts?locale=fr', headers: bearer(API_TOKEN) });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.message).toContain('locale');
  });

  it('calls a low balance at or below ¥0 critical, and shows a resolved balance alert as resolved', async () => {
    t = await makeApp();
    const db = t.gdb.db;
    raise(db, { type: 'balance_low', dedupKey: 'balance_low:low', fingerprint: '30', data: { balance: -0.23, threshold: 30 } }, { now: T0 - H, channels: [] });
    expect((await alerts(t, '?locale=en')).map((a) => [a.type, a.state, a.severity])).toEqual([['balance_low', 'firing', 'critical']]);
    resolve(db, 'balance_low:low', { now: T0, channels: [], data: { balance: 150 } });
    const after = await alerts(t, '?locale=en');
    expect(after.map((a) => [a.state, a.resolved_at])).toEqual([['resolved', '2026-01-10T12:00:00+08:00']]);
  });
});

describe('/readyz blind spell', () => {
  it('reports the spell from its first blind tick, the error class and the last time the account was seen; null once a tick sees it', async () => {
    t = await makeApp({ raw: { blind_alert_after: 3 } });
    const db = t.gdb.db;
    const ready = async () => (await t!.app.inject({ url: '/readyz' })).json();
    db.insert(ticks).values({ at: T0 - 10 * MIN, outcome: 'ok' }).run();
    expect((await ready()).blind).toBeNull();
    db.insert(ticks).values({ at: T0 - 9 * MIN, outcome: 'blind', errorClass: 'timeout' }).run();
    db.insert(ticks).values({ at: T0 - 8 * MIN, outcome: 'skipped', errorClass: 'overlap' }).run();
    db.insert(ticks).values({ at: T0 - 7 * MIN, outcome: 'blind', errorClass: 'network' }).run();
    const r = await ready();
    expect(r.status).toBe('ready');
    expect(r.blind).toEqual({ since: new Date(T0 - 9 * MIN).toISOString(), reason: 'network', ticks: 2, last_ok_at: new Date(T0 - 10 * MIN).toISOString() });
    db.insert(ticks).values({ at: T0 - 6 * MIN, outcome: 'blind', errorClass: 'network' }).run();
    expect((await t.app.inject({ url: '/readyz' })).statusCode).toBe(503);
    db.insert(ticks).values({ at: T0 - 5 * MIN, outcome: 'ok' }).run();
    expect((await ready()).blind).toBeNull();
  });
});

describe('GET /api/v1/balance at or below ¥0', () => {
  it('says runway 0, never "infinite", even when nothing burns any more', async () => {
    t = await makeApp();
    const { balancePoints } = await import('../../src/db/schema.js');
    t.gdb.db.insert(balancePoints).values({ at: T0 - MIN, balance: -0.23 }).run();
    const r = await t.app.inject({ url: '/api/v1/balance', headers: bearer(API_TOKEN) });
    expect(r.json()).toMatchObject({ balance: -0.23, burn_rate: 0, runway_hours: 0 });
  });
});
