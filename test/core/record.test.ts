import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openDb } from '../../src/db/open.js';
import { recordObservation } from '../../src/db/record.js';
import type { Instance } from '../../src/xgc/types.js';
import { spendReport } from '../../src/db/spend.js';
import { savingsReport } from '../../src/db/savings.js';
import { runRollup } from '../../src/jobs/rollup.js';
import { startHarness, T0, type Harness } from '../helpers/guard.js';

const H = 3_600_000;
const D = 24 * H;
const MIN = 60_000;
const noProbes = { jupyter: { enabled: false }, comfyui: { enabled: false }, sdwebui: { enabled: false }, heartbeat: { enabled: false }, gpu: { enabled: false } };
const count = (h: Harness, table: string) => (h.gdb.sqlite.prepare(`select count(*) n from ${table}`).get() as { n: number }).n;

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('observe and record', () => {
  it('a scripted week: estimated spend matches the simulator ledger within 0.5%, observed matches its debits, recharges are reported', async () => {
    h = await startHarness({ probes: noProbes }, { balance: 2000 });
    const w = h.sim.world;
    const a = await h.add({ name: 'sd-a', image: 'WebUI', status: 'running', gpu_model: 'NVIDIA GeForce RTX 4090 D' });
    const b = await h.add({ name: 'comfy-b', image: 'ComfyUI', status: 'running', gpu_model: 'NVIDIA GeForce RTX 4090' });
    const c = await h.add({ name: 'train-c', image: 'Jupyter', status: 'shutdown', gpu_model: 'NVIDIA GeForce RTX 4090 D', gpu_count: 2 });
    // User actions at odd minutes, so they fall between ticks.
    const events: Array<[number, () => void]> = [];
    for (let d = 0; d < 7; d++) {
      if (d > 0) events.push([d * D + 10 * H + 7 * MIN, () => w.boot(a)]);
      events.push([d * D + 22 * H + 13 * MIN, () => w.releaseGpu(a)]);
    }
    events.push([2 * D + 9 * H + 3 * MIN, () => w.shutdown(b)]); // keeps the GPU: still billed
    events.push([3 * D + 8 * H + 11 * MIN, () => w.boot(b)]);
    events.push([5 * D + 12 * H + 5 * MIN, () => w.destroy(b)]);
    events.push([1 * D + 14 * H + 9 * MIN, () => w.boot(c)]);
    events.push([1 * D + 18 * H + 31 * MIN, () => w.releaseGpu(c)]);
    events.push([4 * D + 6 * H + 17 * MIN, () => w.boot(c)]);
    events.push([3 * D + 12 * H + 31 * MIN, () => w.setBalance(w.balance + 500)]);
    events.sort((x, y) => x[0] - y[0]);
    // Ten minutes between ticks: the intervals take their edges from the API's timestamps, not from the ticks.
    const tickEvery = 10 * MIN;
    await h.core.ticker.tick(h.clock.now());
    let next = 0;
    for (let t = T0 + tickEvery; t <= T0 + 7 * D; t += tickEvery) {
      while (next < events.length && T0 + events[next][0] <= t) {
        h.clock.set(T0 + events[next][0]);
        events[next][1]();
        next++;
      }
      h.clock.set(t);
      const r = await h.core.ticker.tick(t);
      expect(r.outcome).toBe('ok');
    }
    const truth = await h.state();
    const billed = truth.instances.reduce((s: number, i: any) => s + i.billed, 0);
    const end = T0 + 7 * D;
    const byDayUtc = spendReport(h.gdb.db, { from: T0, to: end, by: 'day', tz: 'UTC', now: end });
    expect(Math.abs(byDayUtc.total.estimated - billed) / billed).toBeLessThan(0.005);
    // Observed: the platform debits hourly in arrears; the debit seen at `end` itself belongs to [end, ...).
    const observed = spendReport(h.gdb.db, { from: T0, to: end + 1, by: 'instance', tz: 'UTC', now: end }).total;
    expect(observed.observed).toBeCloseTo(truth.debited_total, 2);
    expect(observed.recharged).toBeCloseTo(truth.recharged_total, 2);
    expect(byDayUtc.total.recharged).toBeCloseTo(500, 2);
    expect(byDayUtc.rows).toHaveLength(7);
    expect(byDayUtc.rows.reduce((s, r) => s + r.estimated, 0)).toBeCloseTo(byDayUtc.total.estimated, 2);

    // Per instance, each within 0.5% of its own ledger.
    const byInst = spendReport(h.gdb.db, { from: T0, to: end, by: 'instance', tz: 'UTC', now: end });
    for (const id of [a, b, c]) {
      const want = truth.instances.find((i: any) => i.id === id).billed;
      const got = byInst.rows.find((r) => r.key === id)!.estimated;
      expect(Math.abs(got - want) / want).toBeLessThan(0.005);
    }

    // Day buckets in Asia/Shanghai start at 16:00 UTC; the first local day holds A and B's first 16 hours.
    const sh = spendReport(h.gdb.db, { from: T0, to: end, by: 'day', tz: 'Asia/Shanghai', now: end });
    expect(sh.rows[0].key).toBe(T0 - 8 * H);
    expect(sh.rows).toHaveLength(8);
    const pa = truth.instances.find((i: any) => i.id === a).price_per_hour;
    const pb = truth.instances.find((i: any) => i.id === b).price_per_hour;
    expect(sh.rows[0].estimated).toBeCloseTo(16 * (pa + pb), 1);
    expect(byDayUtc.rows[0].estimated).toBeCloseTo((22 + 14 / 60) * pa + 24 * pb, 1);
    expect(sh.total.estimated).toBeCloseTo(byDayUtc.total.estimated, 2);

    // Hour buckets add up too.
    const byHour = spendReport(h.gdb.db, { from: T0, to: T0 + D, by: 'hour', tz: 'Asia/Shanghai', now: end });
    expect(byHour.rows).toHaveLength(24);
    expect(byHour.rows.reduce((s, r) => s + r.estimated, 0)).toBeCloseTo(byDayUtc.rows[0].estimated, 2);
    // The rollup job stores the whole days that ended before the last tick; reports then answer exactly as live sums.
    for (const tz of ['UTC', 'Asia/Shanghai']) await runRollup(h.gdb.db, { tz, now: end });
    const days = (h.gdb.sqlite.prepare("select count(*) n from spend_days where tz = 'UTC' and day_start >= ?").get(T0) as { n: number }).n;
    expect(days).toBe(7);
    for (const by of ['day', 'instance'] as const) {
      for (const tz of ['UTC', 'Asia/Shanghai']) {
        const q = { from: T0 + 5 * H, to: end - 3 * H, by, tz, now: end };
        const cached = spendReport(h.gdb.db, q);
        const live = spendReport(h.gdb.db, { ...q, rollup: false });
        expect(cached.total).toEqual(live.total);
        expect(cached.rows.map((r) => [r.key, r.estimated])).toEqual(live.rows.map((r) => [r.key, r.estimated]));
      }
    }
    // Nothing was released by the guard: no savings.
    expect(savingsReport(h.gdb.db, { from: T0, to: end, now: end, tz: 'UTC' }).total).toBe(0);
  }, 480_000);

  it('rolls up only whole days that ended before the last successful tick, so a later tick can still change today', async () => {
    h = await startHarness({ probes: noProbes }, { start: T0 });
    const a = await h.add({ name: 'a', status: 'running' });
    for (let i = 0; i < 30 * 6; i++) await h.step(10 * MIN); // until T0 + 30h
    const q = { from: T0, to: T0 + 2 * D, by: 'day' as const, tz: 'UTC', now: h.clock.now() };
    await runRollup(h.gdb.db, { tz: 'UTC', now: h.clock.now() });
    const first = spendReport(h.gdb.db, q);
    expect(h.gdb.sqlite.prepare('select day_start, estimated from spend_days where day_start >= ?').all(T0)).toEqual([{ day_start: T0, estimated: expect.closeTo((24 - 1 / 6) * 1.59, 6) }]);
    h.sim.world.releaseGpu(a);
    for (let i = 0; i < 6; i++) await h.step(10 * MIN);
    const second = spendReport(h.gdb.db, { ...q, now: h.clock.now() });
    expect(second.rows[0].estimated).toBe(first.rows[0].estimated); // the closed day did not move
    expect(second.rows[1].estimated).toBeGreaterThan(first.rows[1].estimated); // today kept counting until the release
    expect(second.total).toEqual(spendReport(h.gdb.db, { ...q, now: h.clock.now(), rollup: false }).total);
  });

  it.each([
    ['the list', ['/open/instances']],
    ['the balance', ['/open/balance']],
    ['both', ['/open/instances', '/open/balance']],
  ])('a blind tick (%s fails) leaves history unchanged and is recorded', async (_what, endpoints) => {
    h = await startHarness({ probes: noProbes });
    await h.add({ name: 'x', status: 'running' });
    await h.step(MIN);
    const before = h.gdb.sqlite.prepare('select * from intervals').all();
    const instBefore = h.gdb.sqlite.prepare('select id, status, last_seen from instances').all();
    const balBefore = count(h, 'balance_points');
    await h.ctl('/sim/faults', { http_500_rate: 1, endpoints });
    await h.ctl('/sim/balance', { balance: 1 }); // a change the guard must not see
    const r = await h.step(MIN);
    expect(r.outcome).toBe('blind');
    expect(r.errorClass).toBe('api');
    expect(h.gdb.sqlite.prepare('select * from intervals').all()).toEqual(before);
    expect(h.gdb.sqlite.prepare('select id, status, last_seen from instances').all()).toEqual(instBefore);
    expect(count(h, 'balance_points')).toBe(balBefore);
    const last = h.gdb.sqlite.prepare('select outcome, error_class, api_calls from ticks order by id desc limit 1').get() as any;
    expect(last).toMatchObject({ outcome: 'blind', error_class: 'api' });
    expect(last.api_calls).toBeGreaterThanOrEqual(2);
  });

  it('an instance is closed as gone only when a successful list no longer contains it', async () => {
    h = await startHarness({ probes: noProbes });
    const id = await h.add({ name: 'x', status: 'running' });
    await h.step(MIN);
    await h.ctl('/sim/faults', { malformed_rate: 1, endpoints: ['/open/instances'] });
    await h.step(MIN);
    expect(h.gdb.sqlite.prepare('select gone_at from instances where id = ?').get(id)).toEqual({ gone_at: null });
    await h.ctl('/sim/faults', { malformed_rate: 0 });
    h.sim.world.destroy(id);
    for (let i = 0; i < 5; i++) await h.step(MIN);
    const row = h.gdb.sqlite.prepare('select gone_at, status from instances where id = ?').get(id) as any;
    expect(row.gone_at).not.toBeNull();
    expect(h.gdb.sqlite.prepare('select count(*) n from intervals where instance_id = ? and to_ts is null').get(id)).toEqual({ n: 0 });
  });

  it('storage is change-only: a day of 5-minute ticks of an unchanging account adds no interval rows', async () => {
    h = await startHarness({ probes: noProbes }, { debit: 'hourly' });
    await h.add({ name: 'a', status: 'running' });
    await h.add({ name: 'b', status: 'shutdown' });
    await h.step(MIN);
    const intervals = count(h, 'intervals');
    for (let i = 0; i < 288; i++) await h.step(5 * MIN);
    expect(count(h, 'intervals')).toBe(intervals);
    expect(count(h, 'ticks')).toBe(289);
    // the balance is debited hourly: one point per change, not per tick
    expect(count(h, 'balance_points')).toBeLessThanOrEqual(26);
  }, 240_000);
});

describe('recording the facts of an instance', () => {
  it('stores each fact as listed (unknown status included), keeps first_seen, and clears gone_at when a gone instance is listed again', () => {
    const dir = mkdtempSync(join(tmpdir(), 'xgc-facts-'));
    const g = openDb(join(dir, 'guard.db'));
    try {
      const base: Instance = {
        id: 'abcdefgh12345678', name: 'sd-a', status: 'running', statusKnown: true, gpuModel: 'RTX 4090 D', gpuUsed: 1, pricePerHour: 1.59, basePrice: 1.59,
        retainPrice: 0.0009, retain: false, image: 'SD_WebUI', imageId: 'img', dataCenter: '浙江一区', webUrl: 'https://x', jupyterUrl: '', sshDomain: '', sshPort: null,
        createdAt: T0 - H, startedAt: T0 - 30 * MIN, stoppedAt: null, progress: null, autoShutdown: 1, autoShutdownAction: 2,
      };
      const row = () => g.sqlite.prepare('select * from instances where id = ?').get(base.id) as Record<string, unknown>;
      const open = () => g.sqlite.prepare('select status, gpu_kept, gpu_count, rate, from_ts from intervals where instance_id = ? and to_ts is null').all(base.id);
      recordObservation(g.db, T0, [base], 100);
      expect(row()).toEqual({
        id: base.id, name: 'sd-a', status: 'running', status_known: 1, gpu_model: 'RTX 4090 D', gpu_count: 1, price_per_hour: 1.59, retain_price: 0.0009, image: 'SD_WebUI',
        data_center: '浙江一区', web_url: 'https://x', created_ts: T0 - H, start_ts: T0 - 30 * MIN, stop_ts: null, first_seen: T0, last_seen: T0, gone_at: null,
        billed_since: T0, running_since: T0, auto_shutdown: 1, auto_shutdown_action: 2,
      });
      expect(open()).toEqual([{ status: 'running', gpu_kept: 1, gpu_count: 1, rate: 1.59, from_ts: T0 }]);
      // a status the guard does not know, then shut down with the GPU kept: facts follow, first_seen stays
      recordObservation(g.db, T0 + MIN, [{ ...base, status: 'migrating', statusKnown: false }], 100);
      expect(row()).toMatchObject({ status: 'migrating', status_known: 0, first_seen: T0, last_seen: T0 + MIN, running_since: null, billed_since: T0 });
      recordObservation(g.db, T0 + 2 * MIN, [{ ...base, status: 'shutdown', stoppedAt: T0 + 2 * MIN, autoShutdown: 0 }], 100);
      expect(row()).toMatchObject({ status: 'shutdown', status_known: 1, stop_ts: T0 + 2 * MIN, first_seen: T0, billed_since: T0, auto_shutdown: 0 });
      expect(open()).toEqual([{ status: 'shutdown', gpu_kept: 1, gpu_count: 1, rate: 1.59, from_ts: T0 + 2 * MIN }]);
      // gone from a successful list, then listed again
      recordObservation(g.db, T0 + 3 * MIN, [], 100);
      expect(row()).toMatchObject({ status: 'destroyed', gone_at: T0 + 3 * MIN });
      expect(open()).toEqual([]);
      recordObservation(g.db, T0 + 4 * MIN, [base], 100);
      expect(row()).toMatchObject({ status: 'running', gone_at: null, first_seen: T0, last_seen: T0 + 4 * MIN, running_since: T0 + 4 * MIN, billed_since: T0 + 4 * MIN });
      expect(g.sqlite.prepare('select count(*) n, sum(to_ts is null) open from intervals').get()).toEqual({ n: 4, open: 1 });
    } finally {
      g.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
