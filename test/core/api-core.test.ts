import { afterEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import { buildApp, type App } from '../../src/http/app.js';
import { instancesAnswer } from '../../src/http/instances.js';
import { isoInTz } from '../../src/money.js';
import { persistProbeResults } from '../../src/probes/runner.js';
import { startHarness, type Harness } from '../helpers/guard.js';

const MIN = 60_000;
let h: Harness | undefined;
let app: App | undefined;
afterEach(async () => {
  await app?.close();
  await h?.close();
  h = undefined;
  app = undefined;
});

async function setup(raw: Record<string, unknown> = {}) {
  h = await startHarness({
    policies: [
      { name: 'idle', type: 'idle', idle_for: '30m', min_uptime: '5m' },
      { name: 'nightly', type: 'schedule', cron: '0 2 * * *', match: { name: 'sd-*' } },
      { name: 'low', type: 'balance', below: [2000] },
    ],
    ...raw,
  });
  app = await buildApp({ gdb: h.gdb, config: h.config, clock: h.clock, log: pino({ level: 'silent' }), runtime: { dbOpen: true, leader: true, jobsRunning: true, demo: false }, guard: h.core.service });
  await app.ready();
  return { h, app };
}

describe('instances, policies, act-now and events over HTTP (the guard core behind the API)', () => {
  it('GET /api/v1/instances: state, cost today, idle verdict with since, next planned action — and no secret', async () => {
    const { h, app } = await setup();
    const idleId = await h.add({ name: 'sd-idle', image: 'WebUI', status: 'running' });
    const busyId = await h.add({ name: 'comfy-busy', image: 'ComfyUI', status: 'running', busy: true });
    // a name with what JSON escapes (the answer is written from pre-serialized parts)
    const oddId = await h.add({ name: 'sd-"odd"\\\u0001}]', image: 'WebUI', status: 'running' });
    for (let i = 0; i < 12; i++) await h.step(MIN);
    const res = await app.inject({ url: '/api/v1/instances' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    const body = res.json();
    // the route serializes without validating (speed): its answer must be exactly the documented schema's shape
    // (parsing strips what the schema does not name: nothing may be stripped)
    expect(instancesAnswer.parse(body)).toEqual(body);
    const idle = body.instances.find((i: any) => i.id === idleId);
    expect(idle).toMatchObject({ name: 'sd-idle', status: 'running', gpu_model: 'RTX 4090 D', gpu_count: 1, price_per_hour: 1.59, billed_rate: 1.59 });
    // history starts at the guard's first observation, one minute after the instance appeared
    expect(idle.today_estimated).toBeCloseTo((11 / 60) * 1.59, 3);
    expect(idle.idle.verdict).toBe('idle');
    expect(idle.idle.since).toMatch(/\+08:00$/);
    expect(idle.idle.probes.jupyter.verdict).toBe('idle');
    // the GPU is seen over the simulator's SSH: no warning lead, the release comes at idle_for
    expect(idle.idle.probes.gpu.verdict).toBe('idle');
    expect(idle.next_action).toMatchObject({ policy: 'idle', action: 'release_gpu', reason: expect.stringMatching(/^idle \d+m of 30m$/), held_by: null });
    expect(idle.next_action.in).toMatch(/^\d+m$/);
    const busy = body.instances.find((i: any) => i.id === busyId);
    expect(busy.idle.verdict).toBe('busy');
    expect(busy.idle.probes.comfyui).toMatchObject({ verdict: 'busy' });
    expect(body.instances.find((i: any) => i.id === oddId).name).toBe('sd-"odd"\\\u0001}]');
    expect(busy.next_action).toBeNull();
    // every time is the core's own (each one: several fall within the same minute), written in the configured zone
    const iso = (t: number | null | undefined) => (t == null ? null : isoInTz(t, h.config.timezone));
    const views = h.core.service.instanceViews(h.clock.now());
    const seen = new Map((h.gdb.sqlite.prepare('select id, last_seen from instances').all() as Array<{ id: string; last_seen: number }>).map((r) => [r.id, r.last_seen]));
    for (const inst of body.instances) {
      const v = views.idle.get(inst.id)!;
      expect(inst.last_seen).toBe(iso(seen.get(inst.id)));
      expect(inst.idle.since).toBe(iso(v.since));
      expect(Object.keys(inst.idle.probes).sort()).toEqual(Object.keys(v.probes).sort());
      for (const [k, p] of Object.entries(v.probes)) expect(inst.idle.probes[k], k).toMatchObject({ verdict: p.verdict, detail: p.detail, since: iso(p.since), checked_at: iso(p.checkedAt) });
      const n = views.next.get(inst.id);
      expect(inst.next_action?.at ?? null).toBe(iso(n?.at));
    }
    const truth = await h.state();
    for (const inst of truth.instances) for (const k of ['password', 'jupyter_token', 'xgcos_token']) if (inst[k]) expect(res.body).not.toContain(inst[k]);
  });

  it('GET /api/v1/instances follows every change of a stored answer between requests, and an answer going stale', async () => {
    const { h, app } = await setup({ probes: { stale_after: '5m', heartbeat: { enabled: false }, gpu: { enabled: false } } });
    const id = await h.add({ name: 'sd-idle', image: 'WebUI', status: 'running' });
    for (let i = 0; i < 3; i++) await h.step(MIN);
    const probes = async () => (await app.inject({ url: '/api/v1/instances' })).json().instances.find((i: any) => i.id === id).idle.probes;
    const first = await probes();
    expect(first.jupyter).toMatchObject({ verdict: 'idle', checked_at: isoInTz(h.clock.now(), h.config.timezone) });
    expect(await probes()).toEqual(first); // asked again, nothing changed
    // a new answer stored between two requests (the probe loop's write) is the next request's
    persistProbeResults(h.gdb.db, new Map([[id, { jupyter: { verdict: 'busy', detail: 'kernel busy' } }]]), h.clock.now());
    expect((await probes()).jupyter).toMatchObject({ verdict: 'busy', detail: 'kernel busy' });
    persistProbeResults(h.gdb.db, new Map([[id, { jupyter: { verdict: 'idle', detail: 'quiet again' } }]]), h.clock.now() + 1_000);
    expect((await probes()).jupyter).toMatchObject({ verdict: 'idle', detail: 'quiet again', checked_at: isoInTz(h.clock.now() + 1_000, h.config.timezone) });
    // no answer for longer than stale_after: the same stored answer now reads unknown
    h.clock.advance(6 * MIN);
    expect((await probes()).jupyter).toMatchObject({ verdict: 'unknown', detail: expect.stringMatching(/^stale: last answer 359s ago/) });
  });

  it("GET /api/v1/instances shows the platform's own auto-shutdown setting as the cloud reports it", async () => {
    const { h, app } = await setup();
    const on = await h.add({ name: 'sd-auto', image: 'WebUI', status: 'running' });
    const off = await h.add({ name: 'sd-manual', image: 'WebUI', status: 'running' });
    await h.ctl(`/sim/instances/${on}`, { auto_shutdown: 1, auto_shutdown_action: 2 });
    await h.step(MIN);
    const byId = async () => new Map((instancesAnswer.parse((await app.inject({ url: '/api/v1/instances' })).json()).instances).map((i) => [i.id, i]));
    let list = await byId();
    expect(list.get(on)!.platform_auto_shutdown).toEqual({ enabled: true, action: 2 });
    expect(list.get(off)!.platform_auto_shutdown).toEqual({ enabled: false, action: 0 });
    // the user turns it off in the console: the next tick follows
    await h.ctl(`/sim/instances/${on}`, { auto_shutdown: 0, auto_shutdown_action: 0 });
    await h.step(MIN);
    list = await byId();
    expect(list.get(on)!.platform_auto_shutdown).toEqual({ enabled: false, action: 0 });
  });

  it('shows overrides in force on the instance, and what follows once the snooze ends', async () => {
    const { h, app } = await setup();
    const id = await h.add({ name: 'sd-idle', image: 'WebUI', status: 'running' });
    await h.step(MIN);
    const o = await app.inject({ method: 'POST', url: '/api/v1/overrides', payload: { target: { instance_id: id }, kind: 'snooze', for: '2h', reason: 'rendering' } });
    expect(o.statusCode).toBe(201);
    const answer = (await app.inject({ url: '/api/v1/instances' })).json();
    expect(instancesAnswer.parse(answer)).toEqual(answer);
    const inst = answer.instances[0];
    expect(inst.overrides).toHaveLength(1);
    expect(inst.overrides[0]).toMatchObject({ kind: 'snooze', reason: 'rendering', state: 'active' });
    // not idle yet (one minute up): what follows the snooze is the nightly release at 02:00, still held by the snooze
    expect(inst.next_action).toMatchObject({ policy: 'nightly', action: 'release_gpu', in: '17h59m', held_by: { kind: 'snooze', override_id: o.json().override.id, until: inst.overrides[0].until } });
  });

  it('GET /api/v1/policies: loaded policies, mode, next fire time, last results', async () => {
    const { h, app } = await setup({ dry_run: true });
    await h.add({ name: 'sd-a', status: 'running' });
    await h.step(MIN);
    const body = (await app.inject({ url: '/api/v1/policies' })).json();
    expect(body.policies.map((p: any) => [p.name, p.type, p.mode])).toEqual([
      ['idle', 'idle', 'dry_run'],
      ['nightly', 'schedule', 'dry_run'],
      ['low', 'balance', 'dry_run'],
    ]);
    expect(body.policies[1].next_fire_at).toMatch(/T02:00:00\+08:00$/);
    expect(body.policies[0].config.idle_for).toBe(30 * MIN);
    expect(body.policies[2].last_result).toMatchObject({ decisions: 1, summary: '0 act, 0 warn, 1 alert' });
  });

  it('POST /api/v1/actions acts now through the executor (journaled who=api) and validates its input', async () => {
    const { h, app } = await setup();
    const id = await h.add({ name: 'x', image: 'WebUI', status: 'running', busy: true });
    await h.step(MIN);
    const r = await app.inject({ method: 'POST', url: '/api/v1/actions', headers: { 'x-guard-who': 'alice' }, payload: { instance_id: id, action: 'release_gpu', reason: 'done for today' } });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toMatchObject({ state: 'sent', reason: 'done for today' });
    await h.step(MIN); // the release is asynchronous on the platform
    expect((await h.state()).instances[0]).toMatchObject({ status: 'shutdown', gpu_used: 0 });
    const list = (await app.inject({ url: '/api/v1/actions' })).json().actions;
    expect(list[0]).toMatchObject({ instance_id: id, policy: 'api', action: 'release_gpu', who: 'api:alice', mode: 'enforce' });
    expect((await app.inject({ method: 'POST', url: '/api/v1/actions', payload: { instance_id: id, action: 'destroy' } })).statusCode).toBe(400);
    expect((await app.inject({ method: 'POST', url: '/api/v1/actions', payload: { instance_id: id, extra: 1 } })).json().error.message).toMatch(/^body\.extra/);
    expect((await app.inject({ method: 'POST', url: '/api/v1/actions', payload: { instance_id: 'NOT VALID' } })).json().error.message).toMatch(/^body\.instance_id/);
    const missing = await app.inject({ method: 'POST', url: '/api/v1/actions', payload: { instance_id: 'zzzzzzzzzzzzzzzz' } });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error.code).toBe('not_found');
  });

  it('GET /api/v1/events lists recent alerts with a localized summary', async () => {
    const { h, app } = await setup();
    await h.add({ name: 'x', status: 'running' });
    await h.step(MIN);
    const ev = (await app.inject({ url: '/api/v1/events?limit=5' })).json().events;
    expect(ev[0]).toMatchObject({ type: 'balance_low', reason: 'first' });
    expect(ev[0].summary).toContain('¥1000.00');
    expect((await app.inject({ url: '/api/v1/events?limit=0' })).statusCode).toBe(400);
  });
});
