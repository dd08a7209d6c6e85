/**
 * The executor's rails between a decision and its request, each test named for the rule it protects. The cloud is
 * the simulator over HTTP; where the cloud must change at an exact moment (between two reads, or as a request
 * arrives), the test steps in at the simulator's answer.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import pino from 'pino';
import { Executor, type ActRequest } from '../../src/actions/executor.js';
import { actions } from '../../src/db/schema.js';
import { buildApp, type App } from '../../src/http/app.js';
import { instanceStates } from '../../src/jobs/assess.js';
import type { InstanceState } from '../../src/policies/types.js';
import { startHarness, type Harness } from '../helpers/guard.js';

const MIN = 60_000;

/** Run `fn` as the simulated cloud serves `method` for instance `id`, before it answers (n counts those calls from 1). */
function atCloud(h: Harness, method: 'get' | 'releaseGpu', id: string, fn: (n: number) => void) {
  const world = h.sim.world;
  const real = world[method].bind(world) as (x: unknown) => never;
  let n = 0;
  vi.spyOn(world, method).mockImplementation((x: unknown) => {
    if (x === id) fn(++n);
    return real(x);
  });
}

function stateOf(h: Harness, id: string): InstanceState {
  return instanceStates(h.gdb.db, h.core.ticker.lastObservation!.list).find((s) => s.id === id)!;
}

const release = (key: string, instance: InstanceState, over: Partial<ActRequest> = {}): ActRequest => ({
  key,
  policy: 'idle',
  action: 'release_gpu',
  instance,
  reason: 'test',
  requireIdle: false,
  dryRun: false,
  who: 'policy',
  ...over,
});

const rowsOf = (h: Harness, id: string) =>
  h.gdb.sqlite.prepare('select decision_key, policy, who, mode, state, detail from actions where instance_id = ? order by id').all(id) as Array<Record<string, unknown>>;

describe('executor rails between the decision and the act', () => {
  let h: Harness;
  let app: App;
  beforeAll(async () => {
    h = await startHarness({ probes: { heartbeat: { enabled: false }, gpu: { enabled: false } }, limits: { max_actions_per_tick: 100, max_actions_per_hour: 1000 } });
    app = await buildApp({ gdb: h.gdb, config: h.config, clock: h.clock, log: pino({ level: 'silent' }), runtime: { dbOpen: true, leader: true, jobsRunning: true, demo: false }, guard: h.core.service });
    await app.ready();
  });
  afterAll(async () => {
    await app?.close();
    await h?.close();
  });
  afterEach(async () => {
    vi.restoreAllMocks();
    await h.ctl('/sim/faults', {});
  });

  it('act-now aborts when the instance is renamed to #keep after its own read, before the executor re-reads it', async () => {
    const id = await h.add({ name: 'sd-late-keep', image: 'WebUI', status: 'running' });
    await h.step(MIN);
    atCloud(h, 'get', id, (n) => {
      if (n === 2) h.sim.world.peek(id)!.name = 'sd-late-keep #keep'; // act-now's read was the first
    });
    const res = await app.inject({ method: 'POST', url: '/api/v1/actions', headers: { 'x-guard-who': 'alice' }, payload: { instance_id: id, action: 'release_gpu' } });
    expect(res.json()).toMatchObject({ state: 'aborted', reason: expect.stringContaining('#keep') });
    expect(h.sim.world.instance(id)).toMatchObject({ status: 'running', pending: null });
    expect(rowsOf(h, id)).toMatchObject([{ policy: 'api', who: 'api:alice', state: 'aborted' }]);
  });

  it('a GPU released since the decision aborts the action even though the status is the same', async () => {
    const released = await h.add({ name: 'held-released', status: 'shutdown', gpu_kept: true });
    const still = await h.add({ name: 'held-still', status: 'shutdown', gpu_kept: true });
    await h.step(MIN);
    const [a, b] = [stateOf(h, released), stateOf(h, still)];
    expect([a, b].map((s) => [s.status, s.holdsGpu])).toEqual([['shutdown', true], ['shutdown', true]]);
    h.sim.world.releaseGpu(released); // the user releases it: shutdown again after the release step, GPU given back
    h.clock.advance(20_000);
    expect(h.sim.world.instance(released)).toMatchObject({ status: 'shutdown', gpuUsed: 0 });
    const r = await h.core.executor.execute(release('held:released', a, { policy: 'held-gpu' }));
    expect(r).toMatchObject({ state: 'aborted', reason: expect.stringMatching(/^state changed since the decision: shutdown -> shutdown \(GPU released\)/) });
    expect((await h.core.executor.execute(release('held:still', b, { policy: 'held-gpu' }))).state).toBe('sent');
  });

  it("an override added between the decision and the act aborts a policy's release", async () => {
    const id = await h.add({ name: 'sd-snoozed-late', image: 'WebUI', status: 'running' });
    await h.step(MIN);
    const decided = stateOf(h, id);
    const o = await app.inject({ method: 'POST', url: '/api/v1/overrides', payload: { target: { instance_id: id }, kind: 'snooze', for: '2h', reason: 'rendering' } });
    expect(o.statusCode).toBe(201);
    const r = await h.core.executor.execute(release('idle:snoozed-late', decided));
    expect(r).toMatchObject({ state: 'aborted', reason: `override #${o.json().override.id} (snooze) appeared since the decision` });
    expect(h.sim.world.instance(id)).toMatchObject({ status: 'running', pending: null });
  });

  it('act-now on a snoozed instance is sent: overrides pause the policies, not a person', async () => {
    const id = await h.add({ name: 'sd-snoozed', image: 'WebUI', status: 'running' });
    await h.step(MIN);
    const o = await app.inject({ method: 'POST', url: '/api/v1/overrides', payload: { target: { instance_id: id }, kind: 'snooze', for: '2h', reason: 'rendering' } });
    expect(o.statusCode).toBe(201);
    const res = await app.inject({ method: 'POST', url: '/api/v1/actions', headers: { 'x-guard-who': 'alice' }, payload: { instance_id: id, action: 'release_gpu' } });
    expect(res.json()).toMatchObject({ state: 'sent' });
    expect(h.sim.world.instance(id)!.status).toBe('shutting_down');
    expect(rowsOf(h, id)).toMatchObject([{ policy: 'api', who: 'api:alice', state: 'sent' }]);
  });

  it('a failed re-read right before acting aborts the action; nothing is sent on the decision alone', async () => {
    const id = await h.add({ name: 'sd-unreadable', image: 'WebUI', status: 'running' });
    await h.step(MIN);
    await h.ctl('/sim/faults', { error_rate: 1, endpoints: [`/open/instance/${id}`] });
    const r = await h.core.executor.execute(release('idle:unreadable', stateOf(h, id)));
    expect(r).toMatchObject({ state: 'aborted', reason: expect.stringMatching(/^could not re-read the instance/) });
    expect(h.sim.world.instance(id)).toMatchObject({ status: 'running', pending: null });
  });

  it('the decision is journaled (decided) before its request reaches the cloud', async () => {
    const id = await h.add({ name: 'sd-journal-first', image: 'WebUI', status: 'running' });
    await h.step(MIN);
    const atRequest: unknown[] = [];
    atCloud(h, 'releaseGpu', id, () => atRequest.push(rowsOf(h, id)));
    expect((await h.core.executor.execute(release('idle:journal-first', stateOf(h, id)))).state).toBe('sent');
    expect(atRequest).toEqual([[{ decision_key: 'idle:journal-first', policy: 'idle', who: 'policy', mode: 'enforce', state: 'decided', detail: null }]]);
  });

  it('crash recovery counts an action still under way (mid-release) as sent, not aborted, and sends nothing again', async () => {
    const id = await h.add({ name: 'sd-mid-release', image: 'WebUI', status: 'running' });
    await h.step(MIN);
    const decided = stateOf(h, id);
    h.sim.world.releaseGpu(id); // the request went out just before the crash
    h.gdb.db
      .insert(actions)
      .values({ decisionKey: 'idle:mid-release', decidedAt: h.clock.now(), instanceId: id, instanceName: decided.name, policy: 'idle', action: 'release_gpu', mode: 'enforce', state: 'decided', rate: decided.rate })
      .run();
    expect(h.sim.world.instance(id)!.status).toBe('shutting_down');
    let requests = 0;
    atCloud(h, 'releaseGpu', id, () => requests++);
    expect(await h.core.executor.recoverInterrupted()).toBe(1);
    expect(rowsOf(h, id)).toMatchObject([{ state: 'sent', detail: 'sent before a restart; confirmed by re-read' }]);
    await h.step(MIN);
    expect(requests).toBe(0);
    expect(h.sim.world.instance(id)).toMatchObject({ status: 'shutdown', gpuUsed: 0 });
    expect(rowsOf(h, id)).toMatchObject([{ state: 'confirmed' }]);
  });

  it('crash recovery leaves alone a journal row whose action is still in flight', async () => {
    const id = await h.add({ name: 'sd-in-flight', image: 'WebUI', status: 'running' });
    await h.step(MIN);
    let checking!: () => void;
    let proceed!: () => void;
    const atCheck = new Promise<void>((r) => (checking = r));
    const go = new Promise<void>((r) => (proceed = r));
    const executor = new Executor({
      db: h.gdb.db,
      client: h.core.client,
      clock: h.clock,
      log: pino({ level: 'silent' }),
      config: h.config,
      channels: () => [],
      busyCheck: async () => {
        checking();
        await go;
        return { busy: false, detail: '', gpuFresh: true };
      },
    });
    const acting = executor.execute(release('idle:in-flight', stateOf(h, id), { requireIdle: true }));
    await atCheck; // re-read done, the request about to go out
    expect(await executor.recoverInterrupted()).toBe(0);
    expect(rowsOf(h, id)).toMatchObject([{ state: 'decided' }]);
    proceed();
    expect((await acting).state).toBe('sent');
    expect(rowsOf(h, id)).toMatchObject([{ state: 'sent', detail: null }]);
  });
});

describe('a fresh GPU sample right before an idle release', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ probes: { heartbeat: { enabled: false } } });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('an idle release decided on the GPU goes ahead with a fresh GPU sample and aborts without one', async () => {
    const seen = await h.add({ name: 'sd-seen', image: 'WebUI', status: 'running' });
    await h.step(MIN);
    await h.step(MIN);
    await h.ctl('/sim/faults', { ssh_refuse_rate: 1 }); // from now on no new SSH connection: the next GPU is never seen
    const unseen = await h.add({ name: 'sd-unseen', image: 'WebUI', status: 'running' });
    await h.step(MIN);
    await h.step(MIN);
    const gpu = (id: string) => h.gdb.sqlite.prepare("select verdict from probe_state where instance_id = ? and probe = 'gpu'").get(id);
    expect([gpu(seen), gpu(unseen)]).toEqual([{ verdict: 'idle' }, { verdict: 'unknown' }]);
    const idle = { requireIdle: true, requireGpu: true };
    const r = await h.core.executor.execute(release('idle:unseen', stateOf(h, unseen), idle));
    expect(r).toMatchObject({ state: 'aborted', reason: expect.stringMatching(/^no fresh GPU sample right before acting/) });
    expect(h.sim.world.instance(unseen)!.status).toBe('running');
    expect((await h.core.executor.execute(release('idle:seen', stateOf(h, seen), idle))).state).toBe('sent');
  });
});
