import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { outboxDeliveries, outboxEvents } from '../../src/db/schema.js';
import { openDb, type GuardDb } from '../../src/db/open.js';
import { backoffMs, enqueue, listDeliveries, Notifier, outboxDepth, pruneOutbox, raise, type NotifyConfig } from '../../src/notify/index.js';
import { freePort, sampleInstance, silentLog, startSmtp, startReceiver, type TestSmtp } from './helpers.js';

const NOW = Date.UTC(2026, 10, 25, 17, 0);
const retry = { baseMs: 1000, capMs: 60_000, maxAttempts: 10 };

describe('outbox delivery', () => {
  const cleanup: Array<() => unknown> = [];
  afterEach(async () => {
    for (const f of cleanup.reverse()) await f();
    cleanup.length = 0;
  });

  it('backoff doubles per attempt with jitter and a cap', () => {
    expect(backoffMs(1, retry, () => 1)).toBe(2000);
    expect(backoffMs(3, retry, () => 1)).toBe(8000);
    expect(backoffMs(3, retry, () => 0)).toBe(4000);
    expect(backoffMs(20, retry, () => 1)).toBe(60_000);
  });

  it('queues while SMTP is down and delivers each event exactly once after it returns, across a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'notify-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const dbPath = join(dir, 'guard.db');
    const port = await freePort(); // nothing listens: SMTP is down
    const config: NotifyConfig = { email: { smtp_url: `smtp://127.0.0.1:${port}`, from: 'guard@example.com', to: ['me@example.com'] } };
    const clock = new ManualClock(NOW);
    const mk = (g: GuardDb) => new Notifier({ db: g.db, clock, log: silentLog, config, locale: 'en', timezone: 'Asia/Shanghai', retry, random: () => 1, timeoutMs: 2000 });

    let g = openDb(dbPath);
    let n = mk(g);
    for (const [i, t] of [30, 10].entries()) {
      raise(g.db, { type: 'balance_low', dedupKey: 'balance_low:low', fingerprint: String(t), data: { balance: t - 1, threshold: t } }, { now: clock.advance(1000 * i), channels: n.channelNames() });
    }
    raise(g.db, { type: 'action_taken', dedupKey: 'act:1', data: { instance: sampleInstance, policy: 'idle-release', action: 'release_gpu', mode: 'enforce', at: NOW } }, { now: clock.now(), channels: n.channelNames() });

    expect(await n.drain()).toEqual({ sent: 0, failed: 3 });
    expect(outboxDepth(g.db)).toEqual({ pending: 3, dead: 0 });
    clock.advance(2000); // attempt 1 waits base*2^1
    expect(await n.drain()).toEqual({ sent: 0, failed: 3 });
    expect(listDeliveries(g.db).map((d) => d.attempts)).toEqual([2, 2, 2]);
    expect(listDeliveries(g.db)[0]!.lastError).toMatch(/ECONNREFUSED/);
    clock.advance(1000); // not yet due (attempt 2 waits 4 s)
    expect(await n.drain()).toEqual({ sent: 0, failed: 0 });

    // restart: a new Notifier on the same DB file, and SMTP comes back on the same port
    await n.stop();
    g.close();
    const smtp: TestSmtp = await startSmtp(port);
    cleanup.push(() => smtp.close());
    g = openDb(dbPath);
    cleanup.push(() => g.close());
    n = mk(g);
    cleanup.push(() => n.stop());
    expect(outboxDepth(g.db)).toEqual({ pending: 3, dead: 0 });
    clock.advance(4000);
    expect(await n.drain()).toEqual({ sent: 3, failed: 0 });
    clock.advance(24 * 3_600_000);
    expect(await n.drain()).toEqual({ sent: 0, failed: 0 });
    // the three due deliveries go out as one message: announcements first, then the action
    expect(smtp.messages).toHaveLength(1);
    const [m] = smtp.messages;
    expect(m.subject).toBe('[xgc-guard] Low balance: ¥29.00 is below ¥30.00 (+2 more)');
    expect(m.headers.get('x-guard-events')).toBe('balance_low,balance_low,action_taken');
    const at = ['Low balance: ¥29.00 is below ¥30.00', 'Low balance: ¥9.00 is below ¥10.00', 'Released the GPU of sd-main'].map((t) => m.text!.indexOf(t));
    expect(at.every((k) => k >= 0) && at[0] < at[1] && at[1] < at[2], at.join(',')).toBe(true);
    expect(outboxDepth(g.db)).toEqual({ pending: 0, dead: 0 });
    expect(listDeliveries(g.db).map((d) => d.state)).toEqual(['sent', 'sent', 'sent']);
  });

  it('gives up after max_attempts: the delivery is dead, logged and counted', async () => {
    const rx = await startReceiver('/hook', { status: 503, body: 'down' });
    cleanup.push(() => rx.close());
    const g = openDb(':memory:');
    cleanup.push(() => g.close());
    const logged: Array<{ level: string; obj: Record<string, unknown> }> = [];
    const log = {
      info: (obj: object) => logged.push({ level: 'info', obj: obj as Record<string, unknown> }),
      warn: (obj: object) => logged.push({ level: 'warn', obj: obj as Record<string, unknown> }),
      error: (obj: object) => logged.push({ level: 'error', obj: obj as Record<string, unknown> }),
    };
    const clock = new ManualClock(NOW);
    const n = new Notifier({ db: g.db, clock, log, config: { webhooks: [{ kind: 'webhook', url: rx.url }] }, locale: 'en', timezone: 'UTC', retry: { ...retry, maxAttempts: 3 }, random: () => 1 });
    raise(g.db, { type: 'guard_blind', dedupKey: 'blind', data: { ticks: 5 } }, { now: NOW, channels: n.channelNames() });
    for (let i = 0; i < 5; i++) {
      await n.drain();
      clock.advance(60_000);
    }
    expect(rx.requests).toHaveLength(3);
    expect(outboxDepth(g.db)).toEqual({ pending: 0, dead: 1 });
    expect(listDeliveries(g.db, { state: 'dead' })[0]).toMatchObject({ attempts: 3, lastError: 'webhook: HTTP 503 down' });
    expect(logged.filter((l) => l.level === 'error')).toHaveLength(1);
    expect(logged.filter((l) => l.level === 'warn')).toHaveLength(2);
  });

  it('a delivery routed to a channel that is not configured dies visibly', async () => {
    const g = openDb(':memory:');
    cleanup.push(() => g.close());
    const n = new Notifier({ db: g.db, clock: new ManualClock(NOW), log: silentLog, config: {}, locale: 'en', timezone: 'UTC' });
    raise(g.db, { type: 'guard_blind', dedupKey: 'blind', channels: ['pager'], data: { ticks: 5 } }, { now: NOW, channels: n.channelNames() });
    await n.drain();
    expect(listDeliveries(g.db)[0]).toMatchObject({ channel: 'pager', state: 'dead', lastError: 'channel "pager" is not configured' });
  });

  it('start() keeps draining on its own until stop()', async () => {
    const rx = await startReceiver('/hook', { status: 200, body: 'ok' });
    cleanup.push(() => rx.close());
    const g = openDb(':memory:');
    cleanup.push(() => g.close());
    const clock = new ManualClock(NOW);
    const n = new Notifier({ db: g.db, clock, log: silentLog, config: { webhooks: [{ kind: 'slack', url: rx.url }] }, locale: 'en', timezone: 'UTC' });
    n.start(20);
    raise(g.db, { type: 'runway_warn', dedupKey: 'runway', data: { balance: 40, hours_left: 10, burn_per_hour: 4 } }, { now: NOW, channels: n.channelNames() });
    const t0 = Date.now();
    while (rx.requests.length === 0 && Date.now() - t0 < 30_000) await new Promise((r) => setTimeout(r, 20));
    // positive control: how long a running notifier took to deliver on this machine, right now
    const deliveredIn = Date.now() - t0;
    await n.stop();
    expect(rx.requests).toHaveLength(1);
    raise(g.db, { type: 'budget_exceeded', dedupKey: 'budget', data: { period: 'day', spent: 90, limit: 80 } }, { now: NOW, channels: n.channelNames() });
    // a notifier still running would have delivered within that time; wait well past it
    await new Promise((r) => setTimeout(r, Math.max(100, 3 * deliveredIn)));
    expect(rx.requests).toHaveLength(1);
  });

  it('rows of an older or unknown shape are still delivered, as a generic message, next to current ones', async () => {
    const smtp = await startSmtp();
    cleanup.push(() => smtp.close());
    const g = openDb(':memory:');
    cleanup.push(() => g.close());
    const clock = new ManualClock(NOW);
    const n = new Notifier({ db: g.db, clock, log: silentLog, config: { email: { smtp_url: `smtp://127.0.0.1:${smtp.port}`, from: 'g@example.com', to: ['me@example.com'] } }, locale: 'zh-CN', timezone: 'UTC' });
    cleanup.push(() => n.stop());
    const old = (type: string, payload: string) => {
      const e = g.db.insert(outboxEvents).values({ type, dedupKey: `old:${type}`, reason: 'first', payload, createdAt: NOW }).returning().get();
      g.db.insert(outboxDeliveries).values({ eventId: e.id, channel: 'email', state: 'pending', attempts: 0, nextAttemptAt: NOW }).run();
    };
    old('low_balance', '{}'); // a type this version does not know
    old('balance_low', '{"type":"balance_low","data":{"balance":"lots"}}'); // a shape it cannot read
    old('guard_blind', 'not json');
    // the previous version's action_planned (amount instead of saving_per_hour) still reads as typed
    old('action_planned', JSON.stringify({ type: 'action_planned', dedupKey: 'p', data: { instance: sampleInstance, policy: 'nightly', action: 'release_gpu', planned_at: NOW + 1_800_000, amount: 1.59, who: 'policy' } }));
    raise(g.db, { type: 'guard_blind', dedupKey: 'blind', data: { ticks: 5 } }, { now: NOW, channels: n.channelNames() });
    expect(await n.drain()).toEqual({ sent: 5, failed: 0 });
    // one message holding all five, the most severe first
    expect(smtp.messages).toHaveLength(1);
    expect(smtp.messages[0].subject).toBe('[xgc-guard] 实例 sd-main 将于 2026-11-25 17:30 (UTC) 释放 GPU（策略 nightly）（另有 4 条）');
    for (const title of ['守护无法读取云端：API 连续 5 次失败', '实例 sd-main 将于 2026-11-25 17:30 (UTC) 释放 GPU（策略 nightly）', '通知：balance_low', '通知：guard_blind', '通知：low_balance']) {
      expect(smtp.messages[0].text).toContain(title);
    }
    expect(outboxDepth(g.db)).toEqual({ pending: 0, dead: 0 });
  });

  it('retention prunes old finished events and keeps pending ones', async () => {
    const rx = await startReceiver('/hook', { status: 200, body: 'ok' });
    cleanup.push(() => rx.close());
    const g = openDb(':memory:');
    cleanup.push(() => g.close());
    const n = new Notifier({ db: g.db, clock: new ManualClock(NOW), log: silentLog, config: { webhooks: [{ kind: 'slack', url: rx.url }] }, locale: 'en', timezone: 'UTC' });
    enqueue(g.db, { type: 'guard_blind', dedupKey: 'a', reason: 'first', data: { ticks: 5 } }, { now: NOW - 1000, channels: ['slack'] });
    await n.drain();
    enqueue(g.db, { type: 'guard_blind', dedupKey: 'b', reason: 'first', data: { ticks: 5 } }, { now: NOW - 1000, channels: ['slack'] });
    expect(pruneOutbox(g.db, NOW)).toBe(1);
    expect(listDeliveries(g.db).map((d) => d.state)).toEqual(['pending']);
  });
});
