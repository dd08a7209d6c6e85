import { afterEach, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { ManualClock } from '../../src/clock.js';
import { openDb, type GuardDb } from '../../src/db/open.js';
import { alertState, outboxDeliveries, outboxEvents } from '../../src/db/schema.js';
import { decide, raise, readEvent, render, resolve, enqueue, enqueueDigest, type AlertState } from '../../src/notify/index.js';
import { sample } from './samples.js';

const H = 3_600_000;
const T0 = Date.UTC(2026, 10, 25, 16, 0);
const firing = (fingerprint: string, firstAt = T0, lastSentAt = T0): AlertState => ({ type: 'balance_low', status: 'firing', fingerprint, firstAt, lastSentAt });
const resolvedState: AlertState = { type: 'balance_low', status: 'resolved', fingerprint: '30', firstAt: T0, lastSentAt: T0 };

describe('decide (pure dedup)', () => {
  const cases: Array<{ name: string; prev: AlertState | undefined; status: 'firing' | 'resolved'; fp: string; now: number; repeat: number; send: boolean; reason?: string }> = [
    { name: 'first firing sends "first"', prev: undefined, status: 'firing', fp: '100', now: T0, repeat: 6 * H, send: true, reason: 'first' },
    { name: 'same fingerprint within repeat interval stays quiet', prev: firing('100'), status: 'firing', fp: '100', now: T0 + 5 * H, repeat: 6 * H, send: false },
    { name: 'repeat interval elapsed sends "repeat"', prev: firing('100'), status: 'firing', fp: '100', now: T0 + 6 * H, repeat: 6 * H, send: true, reason: 'repeat' },
    { name: 'a higher threshold crossed sends "changed" at once', prev: firing('100'), status: 'firing', fp: '30', now: T0 + 60_000, repeat: 6 * H, send: true, reason: 'changed' },
    { name: 'a new planned time sends "changed"', prev: firing('2026-11-26T02:00'), status: 'firing', fp: '2026-11-27T02:00', now: T0 + H, repeat: Infinity, send: true, reason: 'changed' },
    { name: 'one-shot events never repeat', prev: firing('x'), status: 'firing', fp: 'x', now: T0 + 1000 * H, repeat: Infinity, send: false },
    { name: 'firing after a resolved notice starts over with "first"', prev: resolvedState, status: 'firing', fp: '30', now: T0 + H, repeat: 6 * H, send: true, reason: 'first' },
    { name: 'clearing a firing alert sends "resolved"', prev: firing('30'), status: 'resolved', fp: '30', now: T0 + H, repeat: 6 * H, send: true, reason: 'resolved' },
    { name: 'clearing an alert never notified stays quiet', prev: undefined, status: 'resolved', fp: '', now: T0, repeat: 6 * H, send: false },
    { name: 'clearing twice sends one resolved notice only', prev: resolvedState, status: 'resolved', fp: '30', now: T0 + H, repeat: 6 * H, send: false },
  ];
  it.each(cases)('$name', (c) => {
    const d = decide(c.prev, { type: 'balance_low', status: c.status, fingerprint: c.fp }, c.now, c.repeat);
    expect(d.send).toBe(c.send);
    expect(d.reason).toBe(c.reason);
    if (c.send) expect(d.nextState?.lastSentAt).toBe(c.now);
    if (c.reason === 'repeat' || c.reason === 'changed') expect(d.nextState?.firstAt).toBe(T0);
    if (c.reason === 'resolved') expect(d.nextState?.status).toBe('resolved');
  });
});

describe('raise / resolve over SQLite', () => {
  let g: GuardDb;
  afterEach(() => g?.close());

  it('a balance low for a whole day with repeat 6h sends 1 first + 3 repeats, then one resolved notice after a recharge', () => {
    g = openDb(':memory:');
    const clock = new ManualClock(T0);
    const channels = ['email', 'wecom'];
    const results: string[] = [];
    for (let minute = 0; minute < 24 * 60; minute++) {
      const r = raise(
        g.db,
        { type: 'balance_low', dedupKey: 'balance_low:low-balance', fingerprint: '30', data: { balance: 25 - minute / 1000, threshold: 30, policy: 'low-balance' } },
        { now: clock.now(), repeatMs: 6 * H, channels },
      );
      if (r.sent) results.push(`${minute}:${r.reason}`);
      clock.advance(60_000);
    }
    expect(results).toEqual(['0:first', '360:repeat', '720:repeat', '1080:repeat']);
    // recharge: resolved once, a second resolve is quiet
    expect(resolve(g.db, 'balance_low:low-balance', { now: clock.now(), channels, data: { balance: 500 } })).toBe(true);
    expect(resolve(g.db, 'balance_low:low-balance', { now: clock.advance(60_000), channels })).toBe(false);
    const events = g.db.select().from(outboxEvents).all();
    expect(events.map((e) => e.reason)).toEqual(['first', 'repeat', 'repeat', 'repeat', 'resolved']);
    const last = JSON.parse(events[4]!.payload);
    expect(last.status).toBe('resolved');
    expect(last.data).toMatchObject({ balance: 500, threshold: 30, policy: 'low-balance' });
    expect(g.db.select().from(outboxDeliveries).all()).toHaveLength(10); // 5 events x 2 channels
  });

  it('raising an event with status resolved clears it like resolve()', () => {
    g = openDb(':memory:');
    raise(g.db, { type: 'balance_low', dedupKey: 'bl', fingerprint: '30', data: { balance: 20, threshold: 30 } }, { now: T0, channels: ['email'] });
    expect(raise(g.db, { type: 'balance_low', dedupKey: 'bl', status: 'resolved', data: { balance: 500, threshold: 30 } }, { now: T0 + H, channels: ['email'] })).toEqual({ sent: true, reason: 'resolved' });
    expect(g.db.select().from(outboxEvents).all().map((e) => e.reason)).toEqual(['first', 'resolved']);
  });

  it('a resolve without a firing notice sends nothing', () => {
    g = openDb(':memory:');
    expect(resolve(g.db, 'balance_low:never', { now: T0, channels: ['email'] })).toBe(false);
    expect(g.db.select().from(outboxEvents).all()).toHaveLength(0);
  });

  it('guard_blind clears as a guard_recovered notice', () => {
    g = openDb(':memory:');
    raise(g.db, { type: 'guard_blind', dedupKey: 'guard_blind', data: { ticks: 5 } }, { now: T0, channels: ['email'] });
    expect(resolve(g.db, 'guard_blind', { now: T0 + H, channels: ['email'] })).toBe(true);
    expect(g.db.select().from(outboxEvents).all().map((e) => e.type)).toEqual(['guard_blind', 'guard_recovered']);
  });

  it('enqueue writes nothing when the caller transaction rolls back', () => {
    g = openDb(':memory:');
    expect(() =>
      g.db.transaction((tx) => {
        raise(tx, { type: 'balance_low', dedupKey: 'b', fingerprint: '30', data: { balance: 20, threshold: 30 } }, { now: T0, channels: ['email'] });
        throw new Error('decision failed');
      }),
    ).toThrow('decision failed');
    expect(g.db.select().from(outboxEvents).all()).toHaveLength(0);
    expect(g.db.select().from(alertState).all()).toHaveLength(0);
  });

  it('enqueue routes to the event channels when given, else to all, and drops secret-named keys', () => {
    g = openDb(':memory:');
    const leaky = { id: 'i', name: 'n', password: 'hunter2' }; // a raiser bug: a secret in the facts
    const a = enqueue(g.db, { type: 'action_taken', dedupKey: 'a1', reason: 'first', data: { ...sample.action_taken, instance: leaky } }, { now: T0, channels: ['email', 'slack'] });
    const b = enqueue(g.db, { type: 'action_taken', dedupKey: 'a2', reason: 'first', channels: ['slack'], data: sample.action_taken }, { now: T0, channels: ['email', 'slack'] });
    const chans = (id: number) => g.db.select().from(outboxDeliveries).where(eq(outboxDeliveries.eventId, id)).all().map((d) => d.channel).sort();
    expect(chans(a)).toEqual(['email', 'slack']);
    expect(chans(b)).toEqual(['slack']);
    expect(g.db.select().from(outboxEvents).where(eq(outboxEvents.id, a)).get()!.payload).not.toContain('hunter2');
  });

  it('enqueue cuts tokens and user info out of URLs before they reach SQLite', () => {
    g = openDb(':memory:');
    const web_url = 'https://root:pw123@ins-8888.container.x-gpu.com/lab/tree?token=jt0ken#x';
    enqueue(g.db, { type: 'wake_done', dedupKey: 'w', reason: 'first', data: { ...sample.wake_done, web_url } }, { now: T0, channels: ['email'] });
    const payload = g.db.select().from(outboxEvents).get()!.payload;
    expect(payload).toContain('https://ins-8888.container.x-gpu.com/lab/tree');
    for (const secret of ['jt0ken', 'pw123', 'root:']) expect(payload).not.toContain(secret);
  });

  it('a runway resolved because nothing burns any more (Infinity hours) is stored and read back', () => {
    g = openDb(':memory:');
    raise(g.db, { type: 'runway_warn', dedupKey: 'runway_warn:r', fingerprint: 'warn', data: sample.runway_warn }, { now: T0, channels: ['email'] });
    expect(resolve(g.db, 'runway_warn:r', { now: T0 + H, channels: ['email'], data: { policy: 'r', balance: 40, hours_left: Infinity } })).toBe(true);
    const rows = g.db.select().from(outboxEvents).all();
    const back = readEvent(rows[1]!.payload, rows[1]!);
    expect(back).toMatchObject({ type: 'runway_warn', status: 'resolved', data: { hours_left: null, firing_since: T0 } });
    expect(render(back, { locale: 'en', timezone: 'UTC' }).subject).toBe('[xgc-guard] Runway restored');
  });

  it('the daily digest is enqueued once per day', () => {
    g = openDb(':memory:');
    const data = { day: '2026-11-25', estimated: 40.5, observed: 38.16, saved: 12, balance: 300, runway_hours: 80, top_instances: [] };
    expect(enqueueDigest(g.db, data, { now: T0, channels: ['email'] }).sent).toBe(true);
    expect(enqueueDigest(g.db, data, { now: T0 + 60_000, channels: ['email'] }).sent).toBe(false);
    expect(enqueueDigest(g.db, { ...data, day: '2026-11-26' }, { now: T0 + 24 * H, channels: ['email'] }).sent).toBe(true);
    expect(g.db.select().from(outboxEvents).all().map((e) => e.type)).toEqual(['daily_digest', 'daily_digest']);
  });
});
