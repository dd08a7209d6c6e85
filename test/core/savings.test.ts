import { afterEach, describe, expect, it } from 'vitest';
import { savingsReport } from '../../src/db/savings.js';
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
    expect(truth).toBeCloseTo((55 / 3600) * (1.59 - 0.0009), 6);
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
    expect(r.total).toBeCloseTo(7 * 24 * (rel.price - 0.0009), 4);
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
    expect(truth).toBeCloseTo((15 / 3600) * (1.59 - 0.0009), 6);
    expect(saved(h)).toBeCloseTo(truth, 4);
  });

  it('a release whose instance is destroyed is credited until the tick that no longer lists it', async () => {
    h = await startHarness({ policies: [idle] });
    const id = await h.add({ name: 'sd', image: 'WebUI', status: 'running', busy: false });
    const rel = await untilReleased(h, id);
    for (let i = 0; i < 10; i++) await h.step(MIN);
    h.sim.world.destroy(id);
    for (let i = 0; i < 5; i++) await h.step(MIN); // destroying, destroyed, then gone from the list
    const gone = h.gdb.sqlite.prepare('select gone_at from instances where id = ?').get(id) as { gone_at: number };
    expect(gone.gone_at).not.toBeNull();
    expect(saved(h)).toBeCloseTo(((gone.gone_at - (rel.at + 15 * S)) / 3_600_000) * (1.59 - 0.0009), 4);
  });
});
