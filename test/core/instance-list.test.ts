import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { currentInstances, openRates, todayEstimated } from '../../src/db/instances.js';
import { openDb, type GuardDb } from '../../src/db/open.js';
import { spendReport } from '../../src/db/spend.js';
import { round4 } from '../../src/money.js';
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
  it('current instances are those not gone, by name', () => {
    const want = (g.sqlite.prepare('select id from instances where gone_at is null order by name').all() as Array<{ id: string }>).map((r) => r.id);
    expect(want.length).toBeGreaterThan(5);
    expect(want.length).toBeLessThan((g.sqlite.prepare('select count(*) n from instances').get() as { n: number }).n);
    expect(currentInstances(g.db).map((r) => r.id)).toEqual(want);
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
