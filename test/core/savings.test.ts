import { afterEach, describe, expect, it } from 'vitest';
import { savingsReport } from '../../src/db/savings.js';
import { billedTotal } from '../../src/db/billed-intervals.js';
import { XgcClient } from '../../src/xgc/index.js';
import { startHarness, T0, type Harness } from '../helpers/guard.js';

const S = 1_000;
const MIN = 60 * S;
const idle = { name: 'idle', type: 'idle', idle_for: '30m', min_uptime: '5m' };

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const simInst = async (h: Harness, id: string) => (await h.state()).instances.find((i: any) => i.id === id);
const saved = (h: Harness) => savingsReport(h.gdb.db, { from: T0, to: h.clock.now(), now: h.clock.now(), tz: 'UTC' }).total;
const row = (h: Harness) => h.gdb.sqlite.prepare('select state, sent_at, stopped_at, rebooted_at from actions').get() as any;

/** Tick every minute until the idle policy releases `id`; returns the release tick's time and the ledger then. */
async function untilReleased(h: Harness, id: string): Promise<{ at: number; billed: number; price: number }> {
  for (let i = 0; i < 60; i++) {
    await h.step(MIN);
    const s = await simInst(h, id);
    if (s.status === 'shutting_down') return { at: h.clock.now(), billed: s.billed, price: s.price_per_hour };
  }
  throw new Error('never released');
}

/** The released disk's rate: the 老白 WebUI image's 18 GB of USED system disk at ¥0.00003/GB/h. */
const WEBUI_DISK = 18 * 0.00003;

/** One second of the 4090's price: how far apart two figures may be when one rests on the API's whole seconds. */
const GPU_SECOND = 1.59 / 3600;

/** The guard's estimated spend since the harness started (30 s before T0). */
const estimated = (h: Harness) => billedTotal(h.gdb.db, T0 - 30 * S, h.clock.now(), h.clock.now());

/** A schedule that releases every running instance at each minute. */
const everyMinute = { name: 'minutely', type: 'schedule', cron: '* * * * *', action: 'release_gpu' };

/** Run a tick at `t`; returns the instance as the simulator has it then, with the time (for `ledgerSaved`). */
async function tickAt(h: Harness, id: string, t: number): Promise<{ at: number; billed: number; price: number; status: string }> {
  h.clock.set(t);
  await h.step(0);
  const s = await simInst(h, id);
  return { at: t, billed: s.billed, price: s.price_per_hour, status: s.status };
}

/** What the simulator's ledger says the release saved: the GPU price over [from, now) minus what was billed. */
async function ledgerSaved(h: Harness, id: string, from: { at: number; billed: number; price: number }): Promise<number> {
  const s = await simInst(h, id);
  return (from.price * (h.clock.now() - from.at)) / 3_600_000 - (s.billed - from.billed);
}

describe('savings match the ledger', () => {
  it('a release whose user boots again 70 s later is credited from when billing stopped until the boot, as the ledger shows', async () => {
    h = await startHarness({ policies: [idle] });
    const id = await h.add({ name: 'sd', image: 'WebUI', status: 'running', busy: false });
    const rel = await untilReleased(h, id);
    await h.step(MIN); // sees it released (the 15 s shutting-down phase still billed at the GPU price)
    expect(row(h)).toMatchObject({ state: 'confirmed', sent_at: rel.at, stopped_at: rel.at + 15 * S, rebooted_at: null });
    expect(saved(h)).toBeCloseTo(await ledgerSaved(h, id, rel), 4); // open: until now
    h.clock.advance(10 * S);
    h.sim.world.boot(id); // 70 s after the release request
    await h.step(50 * S); // this tick sees it running again
    for (let i = 0; i < 5; i++) await h.step(MIN);
    expect(row(h).rebooted_at).toBe(rel.at + 70 * S);
    const truth = await ledgerSaved(h, id, rel);
    expect(truth).toBeCloseTo((55 / 3600) * (1.59 - WEBUI_DISK), 6);
    expect(saved(h)).toBeCloseTo(truth, 4); // 0.0243, not the 70 s or 120 s from request to a tick
  });

  it('stops counting seven days after the GPU stopped billing (the cap), however long the instance stays released', async () => {
    h = await startHarness({ policies: [idle] });
    const id = await h.add({ name: 'sd', image: 'WebUI', status: 'running', busy: false });
    const rel = await untilReleased(h, id);
    await h.step(MIN);
    const stopped = row(h).stopped_at as number;
    h.clock.advance(8 * 24 * 60 * MIN); // eight days on, still shut down
    const r = savingsReport(h.gdb.db, { from: T0, to: h.clock.now(), now: h.clock.now(), tz: 'UTC' });
    expect(r.actions).toMatchObject([{ released_at: stopped, until: stopped + 7 * 24 * 60 * MIN, ended_by: 'cap' }]);
    expect(r.total).toBeCloseTo(7 * 24 * (rel.price - WEBUI_DISK), 4);
    // By day (Shanghai's days, not UTC's): each day's figure is what a report over that day alone says, also in a
    // report that starts in the middle of the stretch.
    for (const from of [T0, stopped + 2.5 * 24 * 60 * MIN]) {
      const q = { from, to: h.clock.now(), now: h.clock.now(), tz: 'Asia/Shanghai' };
      const days = savingsReport(h.gdb.db, q).by_day;
      expect(days.filter((d) => d.saved > 0).length).toBeGreaterThanOrEqual(from === T0 ? 7 : 4);
      days.forEach((d, k) => {
        const to = k + 1 < days.length ? days[k + 1].key : q.to;
        expect(d.saved).toBeCloseTo(savingsReport(h!.gdb.db, { ...q, from: Math.max(d.key, from), to }).total, 4);
      });
    }
  });

  it('a release the ticks never saw (booted again within the same minute) is credited from the API stop time to its start time', async () => {
    h = await startHarness({ policies: [idle] });
    const id = await h.add({ name: 'sd', image: 'WebUI', status: 'running', busy: false });
    const rel = await untilReleased(h, id);
    h.clock.advance(30 * S); // released at +15 s; the user boots at +30 s
    h.sim.world.boot(id);
    await h.step(30 * S);
    for (let i = 0; i < 3; i++) await h.step(MIN);
    expect(row(h)).toMatchObject({ state: 'confirmed', stopped_at: rel.at + 15 * S, rebooted_at: rel.at + 30 * S });
    const truth = await ledgerSaved(h, id, rel);
    expect(truth).toBeCloseTo((15 / 3600) * (1.59 - WEBUI_DISK), 6);
    expect(saved(h)).toBeCloseTo(truth, 4);
  });

  it('a release / 72 s re-boot / release cycle whose stop times fall in the second of the last tick that saw the GPU: reported savings and the estimate within 1% of the ledger', async () => {
    h = await startHarness({ policies: [everyMinute], limits: { cooldown_after_boot: '30s' } }, { start: T0 - 30 * S });
    const user = new XgcClient({ baseUrl: h.sim.url, token: 'T' });
    const id = await h.add({ name: 'sd', image: 'WebUI', status: 'running', busy: true });
    await h.step(0);
    const rel1 = await tickAt(h, id, T0 + 700); // the release request; billing stops 15 s later, at T0 + 15.7 s
    await tickAt(h, id, T0 + 15_200); // still shutting down: the API will stamp the stop T0 + 15 s, before this tick
    await tickAt(h, id, T0 + 30_700);
    h.clock.set(T0 + 87_700); // the user boots 72 s after the stop
    await user.boot(id);
    const truth1 = await ledgerSaved(h, id, rel1);
    for (const t of [90_700, 110_700]) await tickAt(h, id, T0 + t);
    const rel2 = await tickAt(h, id, T0 + 120_700); // the next occurrence releases it again
    expect(rel2.status).toBe('shutting_down');
    for (const t of [135_200, 150_700, 180_700, 210_700]) await tickAt(h, id, T0 + t);
    const truth2 = await ledgerSaved(h, id, rel2);
    expect(truth1).toBeCloseTo((72 / 3600) * (1.59 - WEBUI_DISK), 6);
    expect(Math.abs(saved(h) / (truth1 + truth2) - 1)).toBeLessThanOrEqual(0.01);
    // the estimate bills the GPU until each stop and from the boot, to the second the API stamps
    expect(Math.abs(estimated(h) - (await simInst(h, id)).billed)).toBeLessThanOrEqual(GPU_SECOND);
  });

  it('a release whose instance the user destroys an hour later saves until the tick that first sees it destroying, within 1% of the ledger (the API stamps no destroy: one tick at most)', async () => {
    h = await startHarness({ policies: [{ ...everyMinute, cron: '0 * * * *' }] }, { start: T0 - 30 * S });
    const user = new XgcClient({ baseUrl: h.sim.url, token: 'T' });
    const id = await h.add({ name: 'sd', image: 'WebUI', status: 'running', busy: true });
    await h.step(0);
    const rel = await tickAt(h, id, T0 + 700);
    for (let m = 1; m <= 60; m++) await tickAt(h, id, T0 + m * MIN + 700);
    h.clock.set(T0 + 60 * MIN + 30_700); // half a tick before the next one
    await user.destroy(id);
    const truth = await ledgerSaved(h, id, rel);
    for (let m = 61; m <= 65; m++) await tickAt(h, id, T0 + m * MIN + 700); // destroying, destroyed, then gone from the list
    expect(h.gdb.sqlite.prepare('select gone_at from instances where id = ?').get(id)).not.toMatchObject({ gone_at: null });
    expect(Math.abs(saved(h) / truth - 1)).toBeLessThanOrEqual(0.01);
    // nothing billed after the destroy: the estimate agrees with the ledger to the second the API stamps the stop
    expect(Math.abs(estimated(h) - h.sim.world.billedOf(h.sim.world.instance(id)!))).toBeLessThanOrEqual(GPU_SECOND);
  });

  it('a destroy the guard requests stops billing and starts saving at the request, though the API stamps no stop for it', async () => {
    const held = { name: 'held', type: 'stopped_with_gpu', after: '10m', warn_before: '5m', action: 'destroy', confirm_destroy: true };
    h = await startHarness({ allow_destroy: true, policies: [held] }, { start: T0 - 30 * S });
    const id = await h.add({ name: 'sd', image: 'WebUI', status: 'shutdown', gpu_kept: true });
    await h.step(0);
    let req: Awaited<ReturnType<typeof tickAt>> | undefined;
    for (let m = 0; !req; m++) {
      const s = await tickAt(h, id, T0 + m * MIN + 700);
      if (s.status === 'destroying') req = s;
      if (m > 30) throw new Error('never destroyed');
    }
    const billed = h.sim.world.billedOf(h.sim.world.instance(id)!);
    for (let m = 1; m <= 30; m++) await h.step(MIN);
    // saved: the GPU price from the request on, as the ledger (nothing billed after it) shows
    expect(saved(h)).toBeCloseTo((req.price * (h.clock.now() - req.at)) / 3_600_000, 4);
    expect(estimated(h)).toBeCloseTo(billed, 6);
  });
});
