import { afterEach, describe, expect, it } from 'vitest';
import { actions } from '../../src/db/schema.js';
import { XgcClient } from '../../src/xgc/index.js';
import { startHarness, T0, type Harness } from '../helpers/guard.js';

const MIN = 60_000;
const H = 60 * MIN;
const idle = { name: 'idle', type: 'idle', idle_for: '30m', min_uptime: '5m' };

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const journal = (h: Harness) => h.gdb.sqlite.prepare('select id, decision_key, instance_id, policy, action, mode, state, reason, detail from actions order by id').all() as any[];
const simInst = async (h: Harness, id: string) => (await h.state()).instances.find((i: any) => i.id === id);
async function run(h: Harness, minutes: number) {
  for (let i = 0; i < minutes; i++) await h.step(MIN);
}

describe('enforcement through the simulator', () => {
  it('releases an idle instance after idle_for; the simulator shows it shut down with the GPU released; the journal confirms', async () => {
    h = await startHarness({ policies: [idle] });
    const id = await h.add({ name: 'sd-forgotten', image: 'WebUI', status: 'running', busy: false });
    await run(h, 25);
    expect((await simInst(h, id)).status).toBe('running');
    await run(h, 10);
    const s = await simInst(h, id);
    expect(s.status).toBe('shutdown');
    expect(s.gpu_used).toBe(0);
    const j = journal(h);
    expect(j).toHaveLength(1);
    expect(j[0]).toMatchObject({ instance_id: id, policy: 'idle', action: 'release_gpu', mode: 'enforce', state: 'confirmed' });
    expect(j[0].reason).toMatch(/^idle 3\dm >= 30m/);
    // billing now at the disk rate
    expect(s.price_per_hour).toBeGreaterThan(1);
    await run(h, 60);
    const s2 = await simInst(h, id);
    expect(s2.billed - s.billed).toBeLessThan(0.01);
  });

  it('never releases a busy instance, and never touches a #keep one', async () => {
    h = await startHarness({ policies: [idle, { name: 'runaway', type: 'max_runtime', max: '2h' }] });
    const busy = await h.add({ name: 'comfy-busy', image: 'ComfyUI', status: 'running', busy: true });
    const keep = await h.add({ name: 'train #keep', image: 'Jupyter', status: 'running', busy: false });
    await run(h, 90);
    expect((await simInst(h, busy)).status).toBe('running');
    expect((await simInst(h, keep)).status).toBe('running');
    await run(h, 60); // past max_runtime: the busy one is released by runaway, #keep still never
    expect((await simInst(h, keep)).status).toBe('running');
    expect(journal(h).every((j) => j.instance_id !== keep)).toBe(true);
    expect(journal(h).filter((j) => j.instance_id === busy).map((j) => j.policy)).toEqual(['runaway']);
  });

  it('dry-run journals the decision and sends nothing', async () => {
    h = await startHarness({ policies: [idle], dry_run: true });
    const id = await h.add({ name: 'sd-idle', image: 'WebUI', status: 'running' });
    await run(h, 40);
    expect((await simInst(h, id)).status).toBe('running');
    const j = journal(h);
    expect(j).toHaveLength(1);
    expect(j[0]).toMatchObject({ mode: 'dry_run', state: 'decided', detail: 'dry run: nothing sent' });
    // a policy may override the global mode
    h.core.executor.beginTick();
  });

  it('a policy dry_run overrides the global enforce', async () => {
    h = await startHarness({ policies: [{ ...idle, dry_run: true }], dry_run: false });
    const id = await h.add({ name: 'sd-idle', image: 'WebUI', status: 'running' });
    await run(h, 40);
    expect((await simInst(h, id)).status).toBe('running');
    expect(journal(h)[0].mode).toBe('dry_run');
  });

  it('with max_actions_per_tick 1, three idle instances are released over three ticks (the rest deferred, not dropped)', async () => {
    h = await startHarness({ policies: [idle], limits: { max_actions_per_tick: 1 } });
    const ids = [await h.add({ name: 'a', image: 'WebUI', status: 'running' }), await h.add({ name: 'b', image: 'WebUI', status: 'running' }), await h.add({ name: 'c', image: 'WebUI', status: 'running' })];
    let first = -1;
    for (let t = 0; t < 40; t++) {
      const r = await h.step(MIN);
      if (r.acted.some((a) => a.state === 'sent')) {
        first = t;
        expect(r.acted.filter((a) => a.state === 'sent')).toHaveLength(1);
        expect(r.acted.filter((a) => a.state === 'deferred')).toHaveLength(2);
        break;
      }
    }
    expect(first).toBeGreaterThan(0);
    const r2 = await h.step(MIN);
    expect(r2.acted.map((a) => a.state).sort()).toEqual(['deferred', 'sent']);
    const r3 = await h.step(MIN);
    expect(r3.acted.map((a) => a.state)).toEqual(['sent']);
    await run(h, 2);
    const st = await h.state();
    expect(ids.map((id) => st.instances.find((i: any) => i.id === id).status)).toEqual(['shutdown', 'shutdown', 'shutdown']);
    expect(h.gdb.db.select().from(actions).all().every((a) => a.state === 'confirmed')).toBe(true);
  });

  it('max_actions_per_hour holds the excess for later ticks', async () => {
    h = await startHarness({ policies: [idle], limits: { max_actions_per_hour: 1 } });
    await h.add({ name: 'a', image: 'WebUI', status: 'running' });
    await h.add({ name: 'b', image: 'WebUI', status: 'running' });
    await run(h, 40);
    expect(journal(h).map((j) => j.state).sort()).toEqual(['confirmed', 'deferred']);
    await run(h, 60);
    expect(journal(h).map((j) => j.state).sort()).toEqual(['confirmed', 'confirmed']);
  });

  it('a runway scenario releases GPUs before the balance reaches zero; no container is auto-destroyed', async () => {
    h = await startHarness({ policies: [{ name: 'runway', type: 'runway', warn_hours: 6, act_hours: 2 }] }, { balance: 30 });
    await h.add({ name: 'big', image: 'Jupyter', status: 'running', busy: true, gpu_count: 4 });
    await h.add({ name: 'small', image: 'WebUI', status: 'running', busy: true });
    await h.add({ name: 'train', image: 'Jupyter', status: 'running', busy: true });
    for (let i = 0; i < 48 * 12; i++) await h.step(5 * MIN);
    const st = await h.state();
    expect(st.balance).toBeGreaterThan(0);
    expect(st.instances.some((i: any) => i.auto_destroyed)).toBe(false);
    expect(st.instances.find((i: any) => i.name === 'big').gpu_used).toBe(0);
    // the biggest burner went first
    const order = h.gdb.sqlite.prepare("select instance_name from actions where policy = 'runway' order by id").all().map((r: any) => r.instance_name);
    expect(order[0]).toBe('big');
    const types = h.gdb.sqlite.prepare("select distinct type from outbox_events").all().map((r: any) => r.type);
    expect(types).toEqual(expect.arrayContaining(['runway_warn', 'runway_act', 'action_taken']));
  }, 240_000);

  it('aborts (journaled) when the instance changed between the decision and the act', async () => {
    h = await startHarness({ policies: [] });
    const id = await h.add({ name: 'x', image: 'WebUI', status: 'running' });
    await h.step(MIN);
    const [state] = (await import('../../src/jobs/assess.js')).instanceStates(h.gdb.db, h.core.ticker.lastObservation!.list);
    h.sim.world.shutdown(id); // the user shuts it down right after the decision
    const r = await h.core.executor.execute({ key: 'k1', policy: 'idle', action: 'release_gpu', instance: state, reason: 'test', requireIdle: false, dryRun: false, who: 'policy' });
    expect(r.state).toBe('aborted');
    expect(r.reason).toMatch(/state changed since the decision: running -> (shutting_down|shutdown)/);
    expect(journal(h)[0]).toMatchObject({ state: 'aborted' });
  });

  it('aborts when the instance is busy again right before an idle release', async () => {
    h = await startHarness({ policies: [idle] });
    const id = await h.add({ name: 'sd', image: 'WebUI', status: 'running' });
    await run(h, 20);
    const [state] = (await import('../../src/jobs/assess.js')).instanceStates(h.gdb.db, h.core.ticker.lastObservation!.list);
    await h.ctl(`/sim/instances/${id}/activity`, { busy: true });
    const r = await h.core.executor.execute({ key: 'k2', policy: 'idle', action: 'release_gpu', instance: state, reason: 'test', requireIdle: true, dryRun: false, who: 'policy' });
    expect(r.state).toBe('aborted');
    expect(r.reason).toMatch(/^busy now:/);
    expect((await simInst(h, id)).status).toBe('running');
  });

  it('a failed request is not retried blindly: journaled failed, re-evaluated with a growing backoff, released once the cloud heals', async () => {
    h = await startHarness({ policies: [idle] });
    const id = await h.add({ name: 'sd', image: 'WebUI', status: 'running' });
    await h.ctl('/sim/faults', { error_rate: 1, endpoints: ['/open/instance/shutdown_release_gpu'] });
    await run(h, 50);
    const failed = h.gdb.sqlite.prepare("select decision_key, decided_at from actions where state = 'failed' order by id").all() as any[];
    // first attempt at ~31m, then after 1, 2, 4, 8 minutes: 31, 32, 34, 38, 46
    expect(failed.length).toBe(5);
    expect(new Set(failed.map((f) => f.decision_key)).size).toBe(5);
    const gaps = failed.slice(1).map((f, i) => (f.decided_at - failed[i].decided_at) / MIN);
    expect(gaps).toEqual([1, 2, 4, 8]);
    expect((await simInst(h, id)).status).toBe('running');
    await h.ctl('/sim/faults', { error_rate: 0 });
    await run(h, 20);
    expect((await simInst(h, id)).status).toBe('shutdown');
    expect(journal(h).filter((j) => j.state === 'confirmed')).toHaveLength(1);
  });

  it('after a release, a user boot starts a cooldown and ends the savings', async () => {
    h = await startHarness({ policies: [idle], limits: { cooldown_after_boot: '2h' } });
    const id = await h.add({ name: 'sd', image: 'WebUI', status: 'running' });
    await run(h, 40);
    expect((await simInst(h, id)).status).toBe('shutdown');
    await run(h, 60);
    h.sim.world.boot(id);
    await run(h, 100); // idle again for > 30m, but within the 2h cooldown
    expect((await simInst(h, id)).status).toBe('running');
    const row = h.gdb.sqlite.prepare('select rebooted_at, stopped_at, sent_at from actions where instance_id = ?').get(id) as any;
    expect(row.rebooted_at).not.toBeNull();
    expect(row.stopped_at).toBe(row.sent_at + 15_000); // after the shutting-down phase
    const { savingsReport } = await import('../../src/db/savings.js');
    const rep = savingsReport(h.gdb.db, { from: T0, to: h.clock.now(), now: h.clock.now(), tz: 'UTC' });
    const hours = (row.rebooted_at - row.stopped_at) / H;
    expect(rep.total).toBeCloseTo(hours * (1.59 - 18 * 0.00003), 2); // the WebUI image's 18 GB used disk stays billed
    await run(h, 60); // cooldown over: released again
    expect((await simInst(h, id)).status).toBe('shutdown');
  }, 120_000);

  it('a release and a boot the user made through the API start the cooldown too: not released inside cooldown_after_boot, released after it once idle', async () => {
    h = await startHarness({ policies: [{ name: 'idle', type: 'idle', idle_for: '1m', min_uptime: '1m' }], limits: { cooldown_after_boot: '3m' } });
    const user = new XgcClient({ baseUrl: h.sim.url, token: 'T' });
    const id = await h.add({ name: 'sd', image: 'WebUI', status: 'running', busy: true });
    await run(h, 3);
    await user.shutdownReleaseGpu(id);
    await run(h, 2);
    expect((await simInst(h, id)).status).toBe('shutdown');
    await user.boot(id);
    const bootedAt = h.clock.now();
    await h.ctl(`/sim/instances/${id}/activity`, { busy: false });
    // idle (and up) for more than idle_for and min_uptime, but inside the cooldown
    while (h.clock.now() < bootedAt + 3 * MIN - 10_000) {
      await h.step(10_000);
      expect(['booting', 'running']).toContain((await simInst(h, id)).status);
    }
    expect(journal(h)).toEqual([]);
    await h.step(20_000); // the first tick after the cooldown
    expect((await simInst(h, id)).status).toBe('shutting_down');
    expect(journal(h)).toMatchObject([{ instance_id: id, policy: 'idle', action: 'release_gpu', state: 'sent' }]);
  });

  it('a user who boots again before the next tick: the release is confirmed from the API start time, savings end, the billed stretch restarts (no re-release an hour later)', async () => {
    h = await startHarness({ policies: [{ name: 'runaway', type: 'max_runtime', max: '2h' }], limits: { cooldown_after_boot: '30m' } });
    const id = await h.add({ name: 'train', image: 'Jupyter', status: 'running', busy: true });
    let released = 0;
    for (let i = 0; i < 6 * 60; i++) {
      await h.step(MIN);
      const s = await simInst(h, id);
      if (s.status === 'shutting_down') {
        released++;
        h.clock.advance(30_000); // shutdown completes, the user boots within the same minute
        h.sim.world.boot(id);
      }
    }
    const rows = h.gdb.sqlite.prepare('select state, rebooted_at, detail from actions order by id').all() as any[];
    // one release per 2 h of continuous billing, each confirmed, none failed or repeated within an hour
    expect(released).toBe(2);
    expect(rows.map((r) => r.state)).toEqual(['confirmed', 'confirmed']);
    expect(rows.every((r) => r.rebooted_at !== null)).toBe(true);
    expect(rows[0].detail).toMatch(/booted again by the user/);
  }, 240_000);

  it('a schedule releases at its occurrence; a manual boot afterwards is left alone until the next occurrence', async () => {
    const start = Date.UTC(2026, 10, 26, 17, 30, 0); // 01:30 Asia/Shanghai
    h = await startHarness({ policies: [{ name: 'nightly', type: 'schedule', cron: '0 2 * * *' }] }, { start });
    const id = await h.add({ name: 'sd', image: 'WebUI', status: 'running', busy: true });
    await run(h, 35); // past 02:00
    expect((await simInst(h, id)).status).toBe('shutdown');
    h.sim.world.boot(id);
    await run(h, 40); // still within catch_up of 02:00
    expect((await simInst(h, id)).status).toBe('running');
    expect(journal(h)).toHaveLength(1);
  });

  it('recovers a journal row left in "decided" by a crash, from a fresh read', async () => {
    h = await startHarness({ policies: [] });
    const a = await h.add({ name: 'a', image: 'WebUI', status: 'running' });
    const b = await h.add({ name: 'b', image: 'WebUI', status: 'running' });
    await h.step(MIN);
    h.sim.world.releaseGpu(a); // the request went out before the crash
    const base = { decidedAt: T0, instanceName: 'x', policy: 'idle', action: 'release_gpu', mode: 'enforce', state: 'decided' };
    h.gdb.db.insert(actions).values([{ ...base, decisionKey: 'ka', instanceId: a }, { ...base, decisionKey: 'kb', instanceId: b }]).run();
    await h.step(MIN);
    const rows = journal(h);
    expect(rows.find((r) => r.instance_id === a)).toMatchObject({ state: expect.stringMatching(/sent|confirmed/) });
    expect(rows.find((r) => r.instance_id === b)).toMatchObject({ state: 'aborted' });
  });
});
