import { eq } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { heartbeats, overrides, probeChanges } from '../../src/db/schema.js';
import { API_TOKEN, H, T0, bearer, makeApp, seedWorld, type TestApp } from './helpers.js';

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
const badRequest = (message: RegExp) => ({ error: { code: 'bad_request', message: expect.stringMatching(message) } });

describe('GET /api/v1/balance', () => {
  it('reports the last balance, burn rate of open intervals, runway and history in the configured time zone', async () => {
    const r = await get('/api/v1/balance');
    expect(r.statusCode).toBe(200);
    expect(r.json()).toEqual({
      balance: 94,
      at: '2026-01-10T11:00:00+08:00',
      // ≈ now: the hour at ¥2.01/h since the last debit is owed already; the runway reckons with it
      estimated_now: 91.99,
      currency: 'CNY',
      burn_rate: 2.01,
      runway_hours: 45.7662,
      history: [
        { at: '2026-01-03T12:00:00+08:00', balance: 150 },
        { at: '2026-01-10T09:00:00+08:00', balance: 100 },
        { at: '2026-01-10T10:00:00+08:00', balance: 96 },
        { at: '2026-01-10T11:00:00+08:00', balance: 94 },
      ],
    });
  });

  it('takes from/to as ISO 8601 or relative times', async () => {
    const rel = (await get('/api/v1/balance?from=-150m&to=now')).json();
    expect(rel.history).toEqual([
      { at: '2026-01-10T09:30:00+08:00', balance: 100 },
      { at: '2026-01-10T10:00:00+08:00', balance: 96 },
      { at: '2026-01-10T11:00:00+08:00', balance: 94 },
    ]);
    const iso = (await get('/api/v1/balance?from=2026-01-10T09:00:00%2B08:00&to=2026-01-10T02:30:00Z')).json();
    expect(iso.history.map((p: { balance: number }) => p.balance)).toEqual([100, 96]);
  });

  it.each([
    ['from after to', '?from=-1h&to=-2h', /^query\.from: must be before query\.to/],
    ['from equal to', '?from=now&to=now', /^query\.from: must be before/],
    ['a malformed time', '?from=yesterday', /^query\.from: expected ISO 8601/],
    ['an impossible date', '?to=2026-02-30', /^query\.to: /],
    ['an unknown parameter', '?by=day', /^query\.by: unknown field/],
  ])('answers 400 naming the field for %s', async (_what, qs, message) => {
    const r = await get(`/api/v1/balance${qs}`);
    expect(r.statusCode).toBe(400);
    expect(r.json()).toEqual(badRequest(message));
  });
});

describe('GET /api/v1/instances/:id/timeline', () => {
  it('returns the intervals, journal rows and probe changes of one instance', async () => {
    t.gdb.db.insert(probeChanges).values({ instanceId: 'inst-b', probe: 'jupyter', verdict: 'idle', at: T0 - 3 * H, detail: 'no kernel busy' }).run();
    const r = await get('/api/v1/instances/inst-b/timeline?from=-1d');
    expect(r.statusCode).toBe(200);
    const body = r.json();
    expect(body.instance_id).toBe('inst-b');
    expect(body.intervals).toEqual([
      { status: 'running', gpu_kept: true, rate: 2, from: '2026-01-10T08:00:00+08:00', to: '2026-01-10T10:00:00+08:00' },
      { status: 'shutdown', gpu_kept: false, rate: 0.01, from: '2026-01-10T10:00:00+08:00', to: null },
    ]);
    expect(body.actions).toHaveLength(1);
    expect(body.actions[0]).toMatchObject({ instance_id: 'inst-b', policy: 'idle-release', action: 'release_gpu', mode: 'enforce', state: 'confirmed', at: '2026-01-10T10:00:00+08:00' });
    expect(body.actions[0].saved).toBeCloseTo(3.98, 4);
    expect(body.probe_changes).toEqual([{ probe: 'jupyter', verdict: 'idle', at: '2026-01-10T09:00:00+08:00', detail: 'no kernel busy' }]);
  });

  it('only includes intervals overlapping the range', async () => {
    const body = (await get('/api/v1/instances/inst-b/timeline?from=-1h')).json();
    expect(body.intervals.map((i: { status: string }) => i.status)).toEqual(['shutdown']);
    expect(body.actions).toEqual([]);
  });

  it('answers 404 for an unknown id and 400 for a malformed one', async () => {
    const unknown = await get('/api/v1/instances/nope/timeline');
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().error.code).toBe('not_found');
    for (const id of ['Inst_A', 'a'.repeat(65), '%20']) {
      const r = await get(`/api/v1/instances/${id}/timeline`);
      expect(r.statusCode, id).toBe(400);
      expect(r.json()).toEqual(badRequest(/^params\.id: expected an instance id/));
    }
  });
});

describe('GET /api/v1/actions', () => {
  it('lists the journal newest first with what each action saved', async () => {
    const r = await get('/api/v1/actions');
    expect(r.statusCode).toBe(200);
    const { actions, next_cursor } = r.json();
    expect(next_cursor).toBeNull();
    expect(actions.map((a: { reason: string }) => a.reason)).toEqual(['reason 5', 'reason 4', 'reason 3', 'reason 2', 'reason 1']);
    expect(actions[0]).toEqual({
      id: expect.any(Number),
      at: '2026-01-10T10:00:00+08:00',
      instance_id: 'inst-b',
      instance_name: 'train-b',
      policy: 'idle-release',
      action: 'release_gpu',
      mode: 'enforce',
      state: 'confirmed',
      reason: 'reason 5',
      reason_code: null,
      saved: 3.98,
      who: 'policy',
      detail: null,
    });
    expect(actions[1].saved).toBe(0);
    expect(actions[2].detail).toBe('boom');
  });

  it('pages with an opaque cursor until next_cursor is null', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const r = await get(`/api/v1/actions?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(r.statusCode).toBe(200);
      const body = r.json();
      seen.push(...body.actions.map((a: { reason: string }) => a.reason));
      cursor = body.next_cursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual(['reason 5', 'reason 4', 'reason 3', 'reason 2', 'reason 1']);
  });

  it('filters by instance, policy and result (state)', async () => {
    const reasons = async (qs: string) => (await get(`/api/v1/actions?${qs}`)).json().actions.map((a: { reason: string }) => a.reason);
    expect(await reasons('instance=inst-b')).toEqual(['reason 5']);
    expect(await reasons('policy=nightly')).toEqual(['reason 3']);
    expect(await reasons('result=aborted')).toEqual(['reason 2']);
    expect(await reasons('result=decided&instance=inst-a')).toEqual(['reason 4', 'reason 1']);
  });

  it.each([
    ['limit=0', /^query\.limit: /],
    ['limit=abc', /^query\.limit: /],
    ['result=exploded', /^query\.result: /],
    ['instance=BAD!', /^query\.instance: expected an instance id/],
    ['cursor=bm9wZQ', /^query\.cursor: not a cursor/],
    ['cursor=a.b', /^query\.cursor: /],
  ])('answers 400 for %s', async (qs, message) => {
    const r = await get(`/api/v1/actions?${qs}`);
    expect(r.statusCode).toBe(400);
    expect(r.json()).toEqual(badRequest(message));
  });
});

describe('overrides API', () => {
  const post = (payload: unknown, headers: Record<string, string> = {}) => t.app.inject({ method: 'POST', url: '/api/v1/overrides', payload: payload as object, headers: { ...auth, ...headers } });

  it('creates a snooze for an instance for 2h (201 { override }) with who from X-Guard-Who, sanitized', async () => {
    const r = await post({ target: { instance_id: 'inst-a' }, kind: 'snooze', policies: ['nightly'], for: '2h', reason: 'rendering' }, { 'x-guard-who': 'alice<script>' });
    expect(r.statusCode).toBe(201);
    expect(r.json()).toEqual({
      override: {
        id: expect.any(Number),
        target: { instance_id: 'inst-a' },
        kind: 'snooze',
        policies: ['nightly'],
        until: '2026-01-10T14:00:00+08:00',
        forever: false,
        who: 'alicescript',
        reason: 'rendering',
        created_at: '2026-01-10T12:00:00+08:00',
        revoked_at: null,
        state: 'active',
      },
    });
    const row = t.gdb.db.select().from(overrides).get()!;
    expect(row).toMatchObject({ instanceId: 'inst-a', kind: 'snooze', until: T0 + 2 * H, who: 'alicescript', policies: '["nightly"]' });
  });

  it('creates a forever exemption for a name glob and a snooze until an ISO time; who defaults to api', async () => {
    const ex = await post({ target: { name: 'sd-*' }, kind: 'exempt', forever: true, reason: 'demo box' });
    expect(ex.statusCode).toBe(201);
    expect(ex.json().override).toMatchObject({ target: { name: 'sd-*' }, forever: true, until: null, policies: null, who: 'api' });
    const until = await post({ target: { instance_id: 'inst-b' }, kind: 'snooze', until: '2026-01-11T08:00:00+08:00', reason: 'overnight' });
    expect(until.statusCode).toBe(201);
    expect(until.json().override.until).toBe('2026-01-11T08:00:00+08:00');
  });

  it.each([
    ['an unknown field', { target: { instance_id: 'a' }, kind: 'snooze', for: '1h', reason: 'r', extra: 1 }, /^body\.extra: unknown field/],
    ['no end', { target: { instance_id: 'a' }, kind: 'snooze', reason: 'r' }, /^body\.until: give exactly one of until, for or forever/],
    ['two ends', { target: { instance_id: 'a' }, kind: 'exempt', for: '1h', forever: true, reason: 'r' }, /^body\.forever: give exactly one/],
    ['a forever snooze', { target: { instance_id: 'a' }, kind: 'snooze', forever: true, reason: 'r' }, /^body\.forever: a snooze needs until or for/],
    ['until in the past', { target: { instance_id: 'a' }, kind: 'snooze', until: '2026-01-10T11:00:00+08:00', reason: 'r' }, /^body\.until: must be in the future/],
    ['a malformed until', { target: { instance_id: 'a' }, kind: 'snooze', until: 'tomorrow', reason: 'r' }, /^body\.until: expected an ISO 8601 time/],
    ['a malformed for', { target: { instance_id: 'a' }, kind: 'snooze', for: '2 hours', reason: 'r' }, /^body\.for: expected a duration/],
    ['a bad target', { target: { id: 'a' }, kind: 'snooze', for: '1h', reason: 'r' }, /^body\.target: expected \{ instance_id \} or \{ name \}/],
    ['a malformed instance id', { target: { instance_id: 'A B' }, kind: 'snooze', for: '1h', reason: 'r' }, /^body\.target/],
    ['an unknown kind', { target: { instance_id: 'a' }, kind: 'pause', for: '1h', reason: 'r' }, /^body\.kind: /],
    ['an unknown policy', { target: { instance_id: 'a' }, kind: 'snooze', for: '1h', policies: ['idle-release', 'nope'], reason: 'r' }, /^body\.policies\[1\]: unknown policy "nope"/],
    ['no reason', { target: { instance_id: 'a' }, kind: 'snooze', for: '1h' }, /^body\.reason: /],
  ])('answers 400 naming the field for %s', async (_what, body, message) => {
    const r = await post(body);
    expect(r.statusCode).toBe(400);
    expect(r.json()).toEqual(badRequest(message));
    expect(t.gdb.db.select().from(overrides).all()).toEqual([]);
  });

  it('answers 400 for a body that is not JSON', async () => {
    const r = await t.app.inject({ method: 'POST', url: '/api/v1/overrides', payload: '{nope', headers: { ...auth, 'content-type': 'application/json' } });
    expect(r.statusCode).toBe(400);
    expect(r.json().error.code).toBe('bad_request');
  });

  it('lists active overrides by default and all of them with all=1; DELETE revokes and keeps the row', async () => {
    const a = (await post({ target: { instance_id: 'inst-a' }, kind: 'snooze', for: '1h', reason: 'short' })).json().override;
    const b = (await post({ target: { instance_id: 'inst-b' }, kind: 'snooze', for: '5h', reason: 'long' })).json().override;
    const c = (await post({ target: { name: 'train-*' }, kind: 'exempt', forever: true, reason: 'keep' })).json().override;
    t.clock.advance(2 * H); // a expires
    const del = await t.app.inject({ method: 'DELETE', url: `/api/v1/overrides/${c.id}`, headers: auth });
    expect(del.statusCode).toBe(200);
    expect(del.json().override).toMatchObject({ id: c.id, state: 'revoked', revoked_at: '2026-01-10T14:00:00+08:00' });
    const active = (await get('/api/v1/overrides')).json().overrides;
    expect(active.map((o: { id: number }) => o.id)).toEqual([b.id]);
    const all = (await get('/api/v1/overrides?all=1')).json().overrides;
    expect(all.map((o: { id: number; state: string }) => [o.id, o.state])).toEqual([
      [c.id, 'revoked'],
      [b.id, 'active'],
      [a.id, 'expired'],
    ]);
    expect(t.gdb.db.select().from(overrides).where(eq(overrides.id, c.id)).get()!.revokedAt).toBe(T0 + 2 * H);
  });

  it('answers 409 when revoking twice, 404 for an unknown id and 400 for a malformed one', async () => {
    const o = (await post({ target: { instance_id: 'inst-a' }, kind: 'snooze', for: '1h', reason: 'r' })).json().override;
    const del = () => t.app.inject({ method: 'DELETE', url: `/api/v1/overrides/${o.id}`, headers: auth });
    expect((await del()).statusCode).toBe(200);
    const again = await del();
    expect(again.statusCode).toBe(409);
    expect(again.json().error.code).toBe('conflict');
    const missing = await t.app.inject({ method: 'DELETE', url: '/api/v1/overrides/999', headers: auth });
    expect(missing.statusCode).toBe(404);
    const bad = await t.app.inject({ method: 'DELETE', url: '/api/v1/overrides/x1', headers: auth });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toEqual(badRequest(/^params\.id: /));
  });
});

describe('POST /api/v1/heartbeat', () => {
  it('stores the heartbeat and answers 202 { ok: true }', async () => {
    const r = await t.app.inject({ method: 'POST', url: '/api/v1/heartbeat', payload: { instance_id: 'inst-a', gpu_util: 87.5, busy: true }, headers: auth });
    expect(r.statusCode).toBe(202);
    expect(r.json()).toEqual({ ok: true });
    expect(t.gdb.db.select().from(heartbeats).all()).toEqual([{ instanceId: 'inst-a', at: T0, gpuUtil: 87.5, busy: true }]);
  });

  it.each([
    [{ instance_id: 'inst-a', gpu_util: 101 }, /^body\.gpu_util: /],
    [{ instance_id: 'inst-a', busy: 'yes' }, /^body\.busy: /],
    [{ gpu_util: 1 }, /^body\.instance_id: /],
    [{ instance_id: 'inst-a', token: 'x' }, /^body\.token: unknown field/],
  ])('answers 400 naming the field for %j', async (payload, message) => {
    const r = await t.app.inject({ method: 'POST', url: '/api/v1/heartbeat', payload, headers: auth });
    expect(r.statusCode).toBe(400);
    expect(r.json()).toEqual(badRequest(message));
    expect(t.gdb.db.select().from(heartbeats).all()).toEqual([]);
  });
});

describe('GET /api/v1/spend', () => {
  it('reports estimated, observed and saved by instance', async () => {
    const r = await get('/api/v1/spend?by=instance&from=-5h');
    expect(r.statusCode).toBe(200);
    const body = r.json();
    expect(body).toMatchObject({ from: '2026-01-10T07:00:00+08:00', to: '2026-01-10T12:00:00+08:00', by: 'instance', tz: 'Asia/Shanghai', currency: 'CNY' });
    // observed: 150 -> 100 (the drop lands in range), -> 96, -> 94
    expect(body.total).toMatchObject({ estimated: 14.02, observed: 56, recharged: 0, saved: 3.98 });
    expect(body.rows).toEqual([
      { key: 'inst-a', estimated: 10, observed: null, saved: 0 },
      { key: 'inst-b', estimated: 4.02, observed: null, saved: 3.98 },
    ]);
  });

  it('buckets by day in the requested time zone, keys as ISO bucket starts', async () => {
    const body = (await get('/api/v1/spend?by=day&from=2026-01-09&to=2026-01-11&tz=utc')).json();
    expect(body.tz).toBe('UTC'); // the zone's canonical name
    expect(body.from).toBe('2026-01-09T00:00:00+00:00');
    expect(body.rows.map((x: { key: string }) => x.key)).toEqual(['2026-01-09T00:00:00+00:00', '2026-01-10T00:00:00+00:00']);
    // inst-a ran 23:00Z-04:00Z (1 h on the 9th), inst-b all on the 10th
    expect(body.rows.map((x: { estimated: number }) => x.estimated)).toEqual([2, 12.02]);
    const hourly = (await get('/api/v1/spend?by=hour&from=-3h')).json();
    expect(hourly.rows.map((x: { key: string }) => x.key)).toEqual(['2026-01-10T09:00:00+08:00', '2026-01-10T10:00:00+08:00', '2026-01-10T11:00:00+08:00']);
    expect(hourly.rows.map((x: { estimated: number }) => x.estimated)).toEqual([4, 2.01, 2.01]);
  });

  it('splits day buckets per instance, all of them or only the top N by spend over the range (the rest stays in the total)', async () => {
    const all = (await get('/api/v1/spend?by=hour&from=-5h&split=instance')).json();
    // inst-a: ¥10 over the range, inst-b: ¥4.02
    expect(all.rows.map((x: { instances: Record<string, number> }) => x.instances)).toEqual([
      { 'inst-a': 2 },
      { 'inst-a': 2, 'inst-b': 2 },
      { 'inst-a': 2, 'inst-b': 2 },
      { 'inst-a': 2, 'inst-b': 0.01 },
      { 'inst-a': 2, 'inst-b': 0.01 },
    ]);
    const top = (await get('/api/v1/spend?by=hour&from=-5h&split=instance&split_top=1')).json();
    expect(top.rows.map((x: { instances: Record<string, number> }) => x.instances)).toEqual(all.rows.map(() => ({ 'inst-a': 2 })));
    expect(top.rows.map((x: { estimated: number }) => x.estimated)).toEqual(all.rows.map((x: { estimated: number }) => x.estimated));
    expect(top.total).toEqual(all.total);
    expect((await get('/api/v1/spend?by=hour&from=-5h&split=instance&split_top=2')).json()).toEqual(all);
  });

  it.each([
    ['split_top=3', /^query\.split_top: split_top needs split=instance/],
    ['split=instance&split_top=0', /^query\.split_top: /],
    ['by=week', /^query\.by: /],
    ['tz=Mars/Olympus', /^query\.tz: unknown time zone/],
    ['from=-1h&to=-2h', /^query\.from: must be before query\.to/],
    ['from=x', /^query\.from: /],
    ['by=hour&from=-3000d', /^query\.from: range too long for by=hour/],
    ['group=day', /^query\.group: unknown field/],
  ])('answers 400 naming the field for %s', async (qs, message) => {
    const r = await get(`/api/v1/spend?${qs}`);
    expect(r.statusCode).toBe(400);
    expect(r.json()).toEqual(badRequest(message));
  });
});

describe('GET /api/v1/savings', () => {
  it("reports what the guard's releases saved by policy, instance, day and action", async () => {
    const r = await get('/api/v1/savings?from=-1d');
    expect(r.statusCode).toBe(200);
    const body = r.json();
    expect(body.total).toBe(3.98);
    expect(body.by_policy).toEqual([{ policy: 'idle-release', saved: 3.98, actions: 1 }]);
    expect(body.by_instance).toEqual([{ instance_id: 'inst-b', instance_name: 'train-b', saved: 3.98, actions: 1 }]);
    expect(body.actions[0]).toMatchObject({ instance_id: 'inst-b', released_at: '2026-01-10T10:00:00+08:00', until: '2026-01-10T12:00:00+08:00', ended_by: 'now' });
    expect(body.by_day.at(-1)).toEqual({ key: '2026-01-10T00:00:00+08:00', saved: 3.98 });
    // sent as its JSON text (not through the schema's encoder): exactly the schema's fields, as JSON
    expect(r.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(Object.keys(body).sort()).toEqual(['actions', 'by_day', 'by_instance', 'by_policy', 'cap_days', 'currency', 'from', 'to', 'total', 'tz']);
    expect(Object.keys(body.actions[0]).sort()).toEqual(['action_id', 'ended_by', 'instance_id', 'instance_name', 'policy', 'rate_saved_per_hour', 'released_at', 'saved', 'until']);
    expect(body).toMatchObject({ currency: 'CNY', cap_days: 7, tz: 'Asia/Shanghai' });
  });

  it('answers 400 for a bad range', async () => {
    const r = await get('/api/v1/savings?from=now&to=-1d');
    expect(r.statusCode).toBe(400);
    expect(r.json()).toEqual(badRequest(/^query\.from: /));
  });
});
