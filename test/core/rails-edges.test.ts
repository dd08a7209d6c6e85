/**
 * Safety rails at their edges (issue #19): each test is named for the rule it protects and fails when that rule
 * is broken. Pure rules go through the policy engine on an injected clock; the others through the simulator.
 */
import { afterEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import { buildApp, type App } from '../../src/http/app.js';
import { instanceStates } from '../../src/jobs/assess.js';
import { evaluatePolicies, type EngineInput } from '../../src/policies/engine.js';
import type { Decision, InstanceState, ProbeView } from '../../src/policies/types.js';
import { startHarness, type Harness } from '../helpers/guard.js';
import { engineInputAt, instanceAt } from '../helpers/policy-input.js';

const MIN = 60_000;
const H = 60 * MIN;
const NOW = Date.UTC(2026, 10, 26, 10, 0, 0);

const inst = (over: Partial<InstanceState> = {}) => instanceAt(NOW, over);
const input = (policies: unknown[], over: Partial<EngineInput> = {}) => engineInputAt(NOW, policies, over);

const idleFor = (ms: number): ProbeView => ({ verdict: 'idle', since: NOW - ms, detail: 'no activity' });
/** The GPU seen idle for hours: the app's idle start decides. */
const gpuIdle: ProbeView = { verdict: 'idle', since: NOW - 6 * H, detail: 'GPU at most 1%' };
const acts = (ds: Decision[]) => ds.filter((d) => d.kind === 'act').map((d) => `${d.policy}:${(d as { instance: InstanceState }).instance.name}`);

describe('rails at their edges (pure)', () => {
  it('idle for exactly idle_for acts (the comparison is >=, not >)', () => {
    const p = { name: 'idle', type: 'idle', idle_for: '45m', min_uptime: '0s' };
    const probes = new Map([['aaaaaaaaaaaaaaaa', { gpu: gpuIdle, jupyter: idleFor(45 * MIN) }]]);
    expect(acts(evaluatePolicies(input([p], { probes })).decisions)).toEqual(['idle:sd-one']);
    const oneMsShort = new Map([['aaaaaaaaaaaaaaaa', { gpu: gpuIdle, jupyter: idleFor(45 * MIN - 1) }]]);
    expect(acts(evaluatePolicies(input([p], { probes: oneMsShort })).decisions)).toEqual([]);
  });

  it('min_uptime longer than idle_for holds the release until the instance has run min_uptime', () => {
    const p = { name: 'idle', type: 'idle', idle_for: '10m', min_uptime: '30m' };
    // booted 20 minutes ago and idle ever since: idle_for is met, min_uptime is not
    const booted = inst({ runningSince: NOW - 20 * MIN, billedSince: NOW - 20 * MIN });
    const probes = new Map([[booted.id, { gpu: gpuIdle, jupyter: idleFor(20 * MIN) }]]);
    expect(acts(evaluatePolicies(input([p], { instances: [booted], probes })).decisions)).toEqual([]);
    // ten minutes later it has run min_uptime: the release goes ahead
    const later = input([p], { now: NOW + 10 * MIN, instances: [booted], probes });
    expect(acts(evaluatePolicies(later).decisions)).toEqual(['idle:sd-one']);
  });

  it('runway counts the burn of instances its selector excludes', () => {
    const p = { name: 'runway', type: 'runway', warn_hours: 12, act_hours: 2, exclude: { name: 'train-*' } };
    const small = inst({ id: 'aaaaaaaaaaaaaaab', name: 'sd-small' });
    const train = inst({ id: 'aaaaaaaaaaaaaaac', name: 'train-big', pricePerHour: 10, rate: 10 });
    // ¥20 at ¥11.59/h is 1.7 h of runway: below act_hours, so the one releasable instance goes
    const ds = evaluatePolicies(input([p], { instances: [small, train], balance: 20 })).decisions;
    expect(acts(ds)).toEqual(['runway:sd-small']);
    expect(ds.find((d) => d.kind === 'alert')).toMatchObject({ event: { type: 'runway_warn', data: { burn_per_hour: 11.59 } } });
  });
});

let h: Harness | undefined;
let app: App | undefined;
afterEach(async () => {
  await app?.close();
  await h?.close();
  app = undefined;
  h = undefined;
});

describe('rails at their edges (through the simulator)', () => {
  it('renaming an instance to #keep between the decision and the act aborts the action', async () => {
    h = await startHarness({ policies: [] });
    const id = await h.add({ name: 'sd-render', image: 'WebUI', status: 'running' });
    await h.step(MIN);
    const [state] = instanceStates(h.gdb.db, h.core.ticker.lastObservation!.list);
    h.sim.world.instance(id)!.name = 'sd-render #keep'; // the user protects it right after the decision
    const r = await h.core.executor.execute({ key: 'k', policy: 'idle', action: 'release_gpu', instance: state, reason: 'test', requireIdle: false, dryRun: false, who: 'policy' });
    expect(r.state).toBe('aborted');
    expect(r.reason).toMatch(/#keep/);
    expect(h.sim.world.instance(id)!.status).toBe('running');
  });

  it('act-now on a #keep instance is refused with 409 and sends nothing', async () => {
    h = await startHarness({ policies: [] });
    const id = await h.add({ name: 'train #keep', image: 'Jupyter', status: 'running' });
    await h.step(MIN);
    app = await buildApp({ gdb: h.gdb, config: h.config, clock: h.clock, log: pino({ level: 'silent' }), runtime: { dbOpen: true, leader: true, jobsRunning: true, demo: false }, guard: h.core.service });
    await app.ready();
    const res = await app.inject({ method: 'POST', url: '/api/v1/actions', payload: { instance_id: id, action: 'release_gpu' } });
    expect(res.statusCode).toBe(409);
    expect(res.json()).toMatchObject({ error: { code: 'keep_marker', message: expect.stringContaining('#keep') } });
    expect(h.sim.world.instance(id)!.status).toBe('running');
    expect(h.gdb.sqlite.prepare('select count(*) n from actions').get()).toEqual({ n: 0 });
  });

  it("the budget's day is the configured time zone's day, through real ticks", async () => {
    // Local midnight in Asia/Shanghai is 16:00 UTC. One ¥1.59/h instance from then on: by 08:48 local the
    // local day holds ¥14 — while the UTC day, begun at 08:00 local, holds under ¥1.30.
    const start = Date.UTC(2026, 10, 22, 16, 0, 0);
    h = await startHarness({ timezone: 'Asia/Shanghai', policies: [{ name: 'cap', type: 'budget', per: 'day', limit: 14, action: 'notify' }] }, { start });
    await h.add({ name: 'sd-day', image: 'WebUI', status: 'running', busy: true });
    await h.step(0);
    const fired = () => h!.gdb.sqlite.prepare("select payload from outbox_events where type = 'budget_exceeded'").all() as { payload: string }[];
    for (let t = 10 * MIN; t <= 8 * H + 30 * MIN; t += 10 * MIN) await h.step(10 * MIN);
    expect(fired()).toEqual([]); // 08:30 local: ¥13.5 so far today
    for (let i = 0; i < 6; i++) await h.step(10 * MIN); // to 09:30 local (01:30 UTC)
    const events = fired().map((r) => JSON.parse(r.payload));
    expect(events).toHaveLength(1);
    expect(events[0].data).toMatchObject({ period: 'day', limit: 14 });
    expect(events[0].data.spent).toBeGreaterThan(14);
    expect(events[0].dedupKey).toBe(`budget:cap:${start}`);
  });
});
