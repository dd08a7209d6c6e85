/**
 * Rails of the policies, the waker and the config, each test named for the rule it protects and placed at its
 * boundary: pure policies on an injected clock, the executor and the waker through the simulator, the config
 * through parseConfig and its start refusals.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig, startRefusals } from '../../src/config/load.js';
import { createOverride } from '../../src/db/overrides.js';
import { instanceStates } from '../../src/jobs/assess.js';
import { evaluatePolicies, type EngineInput } from '../../src/policies/engine.js';
import type { Decision, InstanceState } from '../../src/policies/types.js';
import { checkWakeMoney } from '../../src/wake/money-check.js';
import { startHarness, type Harness } from '../helpers/guard.js';
import { engineInputAt, instanceAt } from '../helpers/policy-input.js';

const MIN = 60_000;
const H = 60 * MIN;
const NOW = Date.UTC(2026, 10, 26, 10, 0, 0);

const inst = (over: Partial<InstanceState> = {}) => instanceAt(NOW, over);
const input = (policies: unknown[], over: Partial<EngineInput> = {}) => engineInputAt(NOW, policies, over);

const decide = (policies: unknown[], over: Partial<EngineInput> = {}) => evaluatePolicies(input(policies, over)).decisions;
const kinds = (ds: Decision[]) => ds.map((d) => `${d.kind}:${d.policy}${'instance' in d ? `:${d.instance.name}` : ''}`);

describe('policy rails at their boundaries', () => {
  it('max_runtime acts at exactly max and only warns 1 ms before', () => {
    const p = { name: 'runaway', type: 'max_runtime', max: '12h', warn_before: '30m' };
    expect(kinds(decide([p], { instances: [inst({ billedSince: NOW - 12 * H })] }))).toEqual(['act:runaway:sd-one']);
    expect(kinds(decide([p], { instances: [inst({ billedSince: NOW - 12 * H + 1 })] }))).toEqual(['warn:runaway:sd-one']);
  });

  it('runway_critical stays unresolved while the balance does not cover the unbilled hour; resolved once it does', () => {
    const p = { name: 'runway', type: 'runway', warn_hours: 12, act_hours: 2 };
    const resolvesCritical = (unbilled: number) => decide([p], { balance: 3, unbilled }).some((d) => d.kind === 'resolve' && d.dedupKey === 'runway_critical:runway');
    // ¥3 on the account but ¥3.20 already owed: the platform's next debit takes it below ¥0
    expect(resolvesCritical(3.2)).toBe(false);
    expect(resolvesCritical(3)).toBe(false);
    expect(resolvesCritical(2.99)).toBe(true);
    const warn = decide([p], { balance: 3, unbilled: 3.2 }).find((d) => d.kind === 'alert');
    expect(warn).toMatchObject({ event: { type: 'runway_warn', data: { balance: 3, estimate: -0.2, hours_left: 0 } } });
  });

  it('the last resort releases a protected instance at exactly last_resort of runway, after runway_critical', () => {
    const p = { name: 'runway', type: 'runway', warn_hours: 12, act_hours: 2, last_resort: '30m' };
    const keep = inst({ name: 'train #keep', rate: 3.78, pricePerHour: 3.78, gpuUsed: 2 });
    // ¥1.89 at ¥3.78/h is 30 m to ¥0
    expect(kinds(decide([p], { instances: [keep], balance: 1.89 }))).toEqual(['alert:runway', 'alert:runway', 'act:last-resort:train #keep']);
    expect(kinds(decide([p], { instances: [keep], balance: 1.9 }))).toEqual(['alert:runway', 'alert:runway']);
  });

  it('a wake is refused only under act_hours: exactly act_hours of runway passes, a fen less is refused with that fen to top up', () => {
    const check = (balance: number) => checkWakeMoney({ balance, burn: 0, currentRate: 0, rate: 1.59, actHours: 2, policy: 'runway', what: 'RTX 4090 D × 1' });
    expect(check(3.18)).toEqual({ ok: true, hours: 2 });
    expect(check(3.17)).toMatchObject({ ok: false, topUp: 0.01 });
  });
});

describe('config rails', () => {
  const destroyer = (over: Record<string, unknown>) => ({ name: 'd', type: 'max_runtime', max: '1h', action: 'destroy', ...over });
  const refusals = (raw: Record<string, unknown>) => startRefusals(parseConfig({ xgc: { token: 't' }, ...raw }), { needToken: true }).map((r) => r.message);

  it('destroy needs both the top-level allow_destroy and the policy confirm_destroy; each refusal names policies[i]', () => {
    const idle = { name: 'idle', type: 'idle', idle_for: '45m' };
    expect(refusals({ allow_destroy: true, policies: [idle, destroyer({})] })).toEqual([expect.stringMatching(/^policies\[1\] "d" .*confirm_destroy/)]);
    expect(refusals({ policies: [idle, destroyer({ confirm_destroy: true })] })).toEqual([expect.stringMatching(/^policies\[1\] "d" .*allow_destroy/)]);
    expect(refusals({ policies: [idle, destroyer({})] })).toEqual([expect.stringMatching(/^policies\[1\] "d" .*allow_destroy/)]);
    expect(refusals({ allow_destroy: true, policies: [idle, destroyer({ confirm_destroy: true })] })).toEqual([]);
  });

  it("a policy may not take the names of the guard's own journal rows (act-now's exemption from overrides, the last resort's from #keep)", () => {
    for (const name of ['api', 'last-resort']) expect(() => parseConfig({ policies: [{ name, type: 'idle', idle_for: '45m' }] })).toThrow(new RegExp(`policies\\[0\\]\\.name.*"${name}" is reserved`));
    expect(() => parseConfig({ policies: [{ name: 'api-idle', type: 'idle', idle_for: '45m' }] })).not.toThrow();
  });
});

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const journal = (h: Harness) => h.gdb.sqlite.prepare('select instance_id, policy, action, mode, state from actions order by id').all();
const simInst = async (h: Harness, id: string) => (await h.state()).instances.find((i: any) => i.id === id);
const tries = (h: Harness) => h.gdb.sqlite.prepare('select gpu_model, outcome from wake_tries order by id').all() as { gpu_model: string; outcome: string }[];
const wakeState = (h: Harness) => (h.gdb.sqlite.prepare('select state from wakes').get() as { state: string }).state;

describe('executor rails (through the simulator)', () => {
  it('a schedule acts once per occurrence: ticks through catch_up journal one decision, the next occurrence another', async () => {
    const start = Date.UTC(2026, 10, 26, 17, 55, 0); // 01:55 Asia/Shanghai
    h = await startHarness({ dry_run: true, policies: [{ name: 'nightly', type: 'schedule', cron: '0 2 * * *' }] }, { start });
    const id = await h.add({ name: 'sd-night', image: 'WebUI', status: 'running', busy: true });
    await h.step(MIN);
    await h.step(4 * MIN); // 02:00
    for (let i = 0; i < 5; i++) await h.step(10 * MIN);
    expect(journal(h)).toEqual([{ instance_id: id, policy: 'nightly', action: 'release_gpu', mode: 'dry_run', state: 'decided' }]);
    await h.step(23 * H + 10 * MIN); // 02:00 the next night
    expect(journal(h)).toHaveLength(2);
  });

  it('an override that appears between the decision and the act aborts the action', async () => {
    h = await startHarness({ policies: [] });
    const id = await h.add({ name: 'sd-render', image: 'WebUI', status: 'running' });
    await h.step(MIN);
    const [state] = instanceStates(h.gdb.db, h.core.ticker.lastObservation!.list);
    createOverride(h.gdb.db, { target: { instance_id: id }, kind: 'snooze', policies: ['idle'], for: H, reason: 'rendering', who: 'test' }, h.clock.now());
    const r = await h.core.executor.execute({ key: 'k', policy: 'idle', action: 'release_gpu', instance: state, reason: 'test', requireIdle: false, dryRun: false, who: 'policy' });
    expect(r).toMatchObject({ state: 'aborted', reason: expect.stringMatching(/override #\d+ \(snooze\)/) });
    expect((await simInst(h, id)).status).toBe('running');
  });
});

describe('waker rails (through the simulator)', () => {
  it("a wake walks only the given gpu_models, in order, never the instance's own model", async () => {
    h = await startHarness({});
    const id = await h.add({ name: 'sd-walk', image: 'WebUI', gpu_model: 'RTX 4090 D', status: 'shutdown' });
    await h.step(MIN);
    // its own RTX 4090 D stays free throughout: only a fallback to it could boot there
    await h.ctl('/sim/gpu-pool', { 'RTX 4090': 0, 'RTX 4090 48G': 0 });
    await h.core.waker.wakeNow(id, { gpuModels: ['RTX 4090', 'RTX 4090 48G'] }, 'test');
    await h.core.waker.idle();
    expect(tries(h)).toEqual([
      { gpu_model: 'NVIDIA GeForce RTX 4090', outcome: 'shortage' },
      { gpu_model: 'NVIDIA GeForce RTX 4090 48G', outcome: 'shortage' },
    ]);
    await h.ctl('/sim/gpu-pool', { 'RTX 4090 48G': 1 });
    await h.step(MIN);
    expect(tries(h).slice(2)).toEqual([
      { gpu_model: 'NVIDIA GeForce RTX 4090', outcome: 'shortage' },
      { gpu_model: 'NVIDIA GeForce RTX 4090 48G', outcome: 'sent' },
    ]);
    await h.step(MIN);
    expect(wakeState(h)).toBe('done');
    expect(await simInst(h, id)).toMatchObject({ status: 'running', gpu_model: 'RTX 4090 48G' });
  });

  it('a scheduled wake skips #keep and snoozed instances', async () => {
    h = await startHarness({ policies: [{ name: 'morning', type: 'schedule', cron: '50 8 * * *', action: 'boot' }] }); // 00:50Z in Asia/Shanghai
    const plain = await h.add({ name: 'sd-plain', image: 'WebUI', status: 'shutdown' });
    const keep = await h.add({ name: 'sd-kept #keep', image: 'WebUI', status: 'shutdown' });
    const snoozed = await h.add({ name: 'sd-snoozed', image: 'WebUI', status: 'shutdown' });
    await h.step(MIN);
    createOverride(h.gdb.db, { target: { instance_id: snoozed }, kind: 'snooze', for: 2 * H, reason: 'later', who: 'test' }, h.clock.now());
    await h.step(49 * MIN);
    expect((await simInst(h, plain)).status).toBe('booting');
    expect((await simInst(h, keep)).status).toBe('shutdown');
    expect((await simInst(h, snoozed)).status).toBe('shutdown');
    expect(h.gdb.sqlite.prepare('select instance_id from actions').all()).toEqual([{ instance_id: plain }]);
  });

  it('a wake boot counts against max_actions_per_hour: the next wake waits an hour from it', async () => {
    h = await startHarness({ limits: { max_actions_per_tick: 5, max_actions_per_hour: 1 }, policies: [{ name: 'morning', type: 'schedule', cron: '50 8 * * *', action: 'boot' }] });
    const a = await h.add({ name: 'a', image: 'WebUI', status: 'shutdown' });
    const b = await h.add({ name: 'b', image: 'WebUI', status: 'shutdown' });
    const up = async () => [(await simInst(h!, a)).status, (await simInst(h!, b)).status].filter((s) => s !== 'shutdown').length;
    await h.step(MIN);
    await h.step(49 * MIN); // 08:50: the first boot goes out
    expect(await up()).toBe(1);
    await h.step(60 * MIN); // exactly an hour after it: still counted
    expect(await up()).toBe(1);
    await h.step(MIN);
    expect(await up()).toBe(2);
  });
});
