import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { currentInstances, listedInstances, openRates, todayEstimated } from '../../src/db/instances.js';
import { openDb, type GuardDb } from '../../src/db/open.js';
import { billedIntervals, billedTotal } from '../../src/db/billed-intervals.js';
import { estimatedByInstance, spendReport } from '../../src/db/spend.js';
import { accrued, round4 } from '../../src/money.js';
import { writeHistory } from '../helpers/history.js';

const H = 3_600_000;
const D = 24 * H;
const END = Date.UTC(2026, 10, 20, 12, 34); // 20:34 in Shanghai, 13:34 in Berlin
let dir: string;
let g: GuardDb;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'xgc-instlist-'));
  g = openDb(join(dir, 'guard.db'));
  writeHistory(g, { start: END - 60 * D, end: END, slots: 12, seed: 7 });
});
afterAll(() => {
  g.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('instance list queries', () => {
  it('the total and the per-instance sums accrued over a range, summed by SQLite, are what each interval accrues (recent and old ranges)', () => {
    for (const [from, now] of [
      [END - 20 * H, END], // today-like: through the recent path
      [END - 30 * D, END], // a month: through the per-instance seek path
      [END - 45 * D, END - 40 * D + 3 * H], // a closed range in the past
    ]) {
      const byInterval = new Map<string, number>();
      for (const iv of billedIntervals(g.db, from, now, now)) {
        const a = accrued(iv.rate, iv.from, iv.to, from, now);
        if (a > 0) byInterval.set(iv.instanceId, (byInterval.get(iv.instanceId) ?? 0) + a);
      }
      const byInstance = estimatedByInstance(g.db, from, now);
      expect([...byInstance.keys()].sort()).toEqual([...byInterval.keys()].sort());
      for (const [id, v] of byInterval) expect(byInstance.get(id), id).toBeCloseTo(v, 9);
      const perInstance = [...byInstance.values()].reduce((a, b) => a + b, 0);
      expect(perInstance).toBeGreaterThan(1);
      expect(billedTotal(g.db, from, now, now)).toBeCloseTo(perInstance, 9);
    }
    // inside a transaction too (the tick computes it there)
    g.db.transaction((tx) => expect(billedTotal(tx as never, END - 20 * H, END, END)).toBeCloseTo([...estimatedByInstance(g.db, END - 20 * H, END).values()].reduce((a, b) => a + b, 0), 9));
  });
  it('current instances are those not gone, by name', () => {
    const want = (g.sqlite.prepare('select id from instances where gone_at is null order by name').all() as Array<{ id: string }>).map((r) => r.id);
    expect(want.length).toBeGreaterThan(5);
    expect(want.length).toBeLessThan((g.sqlite.prepare('select count(*) n from instances').get() as { n: number }).n);
    expect(currentInstances(g.db).map((r) => r.id)).toEqual(want);
    // the list's narrow read: the same rows, with the columns it shows
    expect(listedInstances(g.db)).toEqual(currentInstances(g.db).map(({ id, name, status, gpuModel, gpuCount, pricePerHour, lastSeen }) => ({ id, name, status, gpuModel, gpuCount, pricePerHour, lastSeen })));
  });

  it('billed rates now are the rates of the open intervals', () => {
    const rates = openRates(g.db);
    const open = g.sqlite.prepare('select instance_id, rate from intervals where to_ts is null').all() as Array<{ instance_id: string; rate: number }>;
    expect(open.length).toBeGreaterThan(5);
    expect(rates).toEqual(new Map(open.map((r) => [r.instance_id, r.rate])));
  });

  it.each(['Asia/Shanghai', 'Europe/Berlin', 'UTC'])("today's estimate per instance counts from local midnight in %s (instances running across it included)", (tz) => {
    const today = todayEstimated(g.db, END, tz);
    const midnight = { 'Asia/Shanghai': Date.UTC(2026, 10, 19, 16), 'Europe/Berlin': Date.UTC(2026, 10, 19, 23), UTC: Date.UTC(2026, 10, 20) }[tz]!;
    const live = spendReport(g.db, { from: midnight, to: END, by: 'instance', tz, now: END, rollup: false });
    expect(live.rows.length).toBeGreaterThan(5);
    expect(new Map([...today].map(([k, v]): [string, number] => [k, round4(v)]).filter(([, v]) => v !== 0))).toEqual(new Map(live.rows.map((r) => [r.key, r.estimated])));
  });
});
