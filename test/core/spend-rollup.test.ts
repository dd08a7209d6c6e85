import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededRandom } from '../../src/bench/stats.js';
import { openDb, type GuardDb } from '../../src/db/open.js';
import { spendReport, type SpendBy } from '../../src/db/spend.js';
import { runRollup } from '../../src/jobs/rollup.js';
import { accrued } from '../../src/money.js';
import { writeHistory } from '../helpers/history.js';

const MIN = 60_000;
const H = 60 * MIN;
const D = 24 * H;
/** Synthetic history from 2026-10-08 to 2026-11-20 12:34 UTC: across a month end, Berlin's (Oct 25) and New York's (Nov 1) DST ends. */
const START = Date.UTC(2026, 9, 8, 5, 17);
const END = Date.UTC(2026, 10, 20, 12, 34);
const ZONES = ['Asia/Shanghai', 'Europe/Berlin', 'America/New_York'];

let dir: string;
let g: GuardDb;

/** Estimated yuan over [a, b) straight from every interval row (no index, no rollup). */
function bruteEstimated(a: number, b: number): number {
  let s = 0;
  for (const iv of g.sqlite.prepare('select rate, from_ts, to_ts from intervals').all() as Array<{ rate: number; from_ts: number; to_ts: number | null }>) {
    s += accrued(iv.rate, iv.from_ts, iv.to_ts ?? Math.max(END, iv.from_ts), a, b);
  }
  return s;
}

const rows = (x: ReturnType<typeof spendReport>) => x.rows.map((r) => [r.key, r.estimated, r.observed, r.saved]);
const count = (table: string) => (g.sqlite.prepare(`select count(*) n from ${table}`).get() as { n: number }).n;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'xgc-rollup-'));
  g = openDb(join(dir, 'guard.db'));
  writeHistory(g, { start: START, end: END, slots: 8, seed: 42 });
});
afterAll(() => {
  g.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('spend rollup', () => {
  it('no query writes a rollup: before the job runs, reports are computed live and the rollup stays empty', () => {
    const r = spendReport(g.db, { from: START - D, to: END, by: 'instance', tz: 'Asia/Shanghai', now: END });
    expect(r.total.estimated).toBeGreaterThan(1000);
    for (const t of ['spend_days', 'spend_day_cells', 'spend_months', 'spend_month_cells', 'spend_lives']) expect(count(t)).toBe(0);
  });

  it('the live sums equal a brute-force sum over every interval, for ranges starting inside long intervals', () => {
    const r = seededRandom(5);
    for (let k = 0; k < 12; k++) {
      const a = START - D + Math.floor(r() * 44 * D);
      const b = Math.min(END + D, a + Math.floor(r() * 10 * D) + 1);
      const live = spendReport(g.db, { from: a, to: b, by: 'instance', tz: 'UTC', now: END, rollup: false });
      expect(live.total.estimated).toBeCloseTo(bruteEstimated(a, b), 3);
    }
  });

  it('the job stores every whole day that ended before the last ok tick, then month sums; a second run stores nothing', async () => {
    let steps = 0;
    for (const tz of ZONES) {
      const res = await runRollup(g.db, { tz, now: END, pause: async () => void steps++ });
      expect(res.complete).toBe(true);
      expect(res.days).toBeGreaterThanOrEqual(43);
      expect(res.months).toBe(2); // October whole, November through the last closed day
      const again = await runRollup(g.db, { tz, now: END });
      expect(again).toMatchObject({ days: 0, months: 0, complete: true });
    }
    expect(steps).toBeGreaterThan(3 * 45); // one pause per day and per month (the event loop runs between them)
    const lastDay = g.sqlite.prepare("select max(day_start) d from spend_days where tz = 'Asia/Shanghai'").get() as { d: number };
    expect(lastDay.d).toBe(Date.UTC(2026, 10, 18, 16)); // Nov 19 (Shanghai); Nov 20 had not ended at the last tick
    const nov = g.sqlite.prepare("select through from spend_months where tz = 'Europe/Berlin' and month_start = ?").get(Date.UTC(2026, 9, 31, 23)) as { through: number };
    expect(nov.through).toBe(Date.UTC(2026, 10, 19, 23)); // Berlin midnight of Nov 20
    // every month sum is the sum of its days
    const diff = g.sqlite
      .prepare(
        `select m.instance_id, m.estimated - sum(d.estimated) de, m.saved - sum(d.saved) ds from spend_month_cells m join spend_months k on k.tz = m.tz and k.month_start = m.month_start
         join spend_day_cells d on d.tz = m.tz and d.instance_id = m.instance_id and d.day_start >= m.month_start and d.day_start < k.through group by m.tz, m.month_start, m.instance_id`,
      )
      .all() as Array<{ de: number; ds: number }>;
    expect(diff.length).toBeGreaterThan(20);
    for (const x of diff) expect(Math.abs(x.de) + Math.abs(x.ds)).toBeLessThan(1e-9);
  });

  it.each(ZONES)('rollup answers equal the live sums in %s: partial first/last days, whole months, DST days, instances across boundaries', (tz) => {
    const r = seededRandom(tz.length);
    const ranges: Array<[number, number]> = [
      [START - 2 * D, END], // the whole history, to now
      [START + 3 * D + 7 * MIN, END - 5 * H], // partial days at both ends
      [Date.UTC(2026, 9, 3), Date.UTC(2026, 10, 18, 9)], // October nearly whole: month sum minus outside days
      [Date.UTC(2026, 9, 24), Date.UTC(2026, 9, 27)], // around Berlin's 25-hour day
      [Date.UTC(2026, 9, 31), Date.UTC(2026, 10, 3)], // around New York's 25-hour day and the month end
    ];
    for (let k = 0; k < 10; k++) {
      const a = START + Math.floor(r() * 40 * D);
      ranges.push([a, Math.min(END, a + Math.floor(r() * 30 * D) + H)]);
    }
    for (const [from, to] of ranges) {
      for (const by of ['day', 'instance'] as SpendBy[]) {
        const q = { from, to, by, tz, now: END };
        const rolled = spendReport(g.db, q);
        const live = spendReport(g.db, { ...q, rollup: false });
        expect(rolled.total).toEqual(live.total);
        expect(rows(rolled)).toEqual(rows(live));
      }
      const split = spendReport(g.db, { from, to, by: 'day', tz, now: END, split: true });
      const splitLive = spendReport(g.db, { from, to, by: 'day', tz, now: END, split: true, rollup: false });
      expect(split.rows.map((x) => x.instances)).toEqual(splitLive.rows.map((x) => x.instances));
      // With a top, the rolled-up days' totals are summed in SQLite and only the shown instances' cells are read:
      // the same instances, with the same figures, as the live sums.
      for (const top of [1, 3]) {
        const topRolled = spendReport(g.db, { from, to, by: 'day', tz, now: END, split: true, splitTop: top });
        const topLive = spendReport(g.db, { from, to, by: 'day', tz, now: END, split: true, splitTop: top, rollup: false });
        expect(topRolled.rows.map((x) => x.instances)).toEqual(topLive.rows.map((x) => x.instances));
        const shown = new Set(topRolled.rows.flatMap((x) => Object.keys(x.instances!)));
        expect(shown.size).toBe(Math.min(top, new Set(split.rows.flatMap((x) => Object.keys(x.instances!))).size));
      }
    }
  });

  it('by instance, a long report reads the lives, a mid-length one the month sums, a short one the days (a corrupted sum shows only where it is read)', () => {
    const tz = 'Asia/Shanghai';
    const oct = Date.UTC(2026, 8, 30, 16); // Oct 1, Shanghai
    const long = { from: oct, to: END, by: 'instance' as const, tz, now: END }; // every rolled-up day
    const mid = { ...long, from: Date.UTC(2026, 9, 9, 16), to: Date.UTC(2026, 9, 30, 16) }; // Oct 10-30: 21 of 50 days
    const short = { ...long, from: Date.UTC(2026, 9, 10, 16), to: Date.UTC(2026, 9, 13, 16) };
    const total = (q: typeof long) => spendReport(g.db, q).total.estimated;
    const before = [long, mid, short].map(total);
    const corrupt = (table: string, key: string, at: number | null, by: number) =>
      g.sqlite
        .prepare(`update ${table} set estimated = estimated + ? where tz = ? ${at === null ? '' : `and ${key} = ${at}`} and instance_id = (select min(instance_id) from spend_month_cells where tz = ? and month_start = ?)`)
        .run(by, tz, tz, oct);
    for (const [table, key, at] of [
      ['spend_lives', '', null],
      ['spend_month_cells', 'month_start', oct],
    ] as const) {
      corrupt(table, key, at, 1000);
      try {
        const shows = [long, mid, short].map((q, i) => Math.round(total(q) - before[i]));
        expect(shows).toEqual(table === 'spend_lives' ? [1000, 0, 0] : [0, 1000, 0]);
      } finally {
        corrupt(table, key, at, -1000);
      }
    }
    expect(spendReport(g.db, short).total).toEqual(spendReport(g.db, { ...short, rollup: false }).total);
  });

  it('every life sums its day cells, with its first and last day', () => {
    const diff = g.sqlite
      .prepare(
        `select l.estimated - sum(d.estimated) de, l.saved - sum(d.saved) ds, l.first_day - min(d.day_start) df, l.last_day - max(d.day_start) dl
         from spend_lives l join spend_day_cells d on d.tz = l.tz and d.instance_id = l.instance_id group by l.tz, l.instance_id`,
      )
      .all() as Array<{ de: number; ds: number; df: number; dl: number }>;
    expect(diff.length).toBe((g.sqlite.prepare('select count(*) n from (select distinct tz, instance_id from spend_day_cells)').get() as { n: number }).n);
    for (const x of diff) expect([Math.abs(x.de) + Math.abs(x.ds) < 1e-9, x.df, x.dl]).toEqual([true, 0, 0]);
  });

  it('a report as of an earlier `now` ignores stored days that had not ended by then', () => {
    const now = Date.UTC(2026, 10, 10, 7, 3);
    const q = { from: START, to: now, by: 'day' as const, tz: 'UTC', now };
    // the rollup was computed as of END; days up to `now` are identical whenever computed (they had closed)
    expect(rows(spendReport(g.db, q))).toEqual(rows(spendReport(g.db, { ...q, rollup: false })));
  });

  it('the job stops between steps when its signal fires, and resumes where it stopped', async () => {
    const ctl = new AbortController();
    const tz = 'Asia/Tokyo';
    let n = 0;
    const res = await runRollup(g.db, {
      tz,
      now: END,
      signal: ctl.signal,
      pause: async () => {
        if (++n === 5) ctl.abort();
      },
    });
    expect(res).toMatchObject({ complete: false, days: 4 });
    const rest = await runRollup(g.db, { tz, now: END });
    expect(rest.complete).toBe(true);
    expect(res.days + rest.days).toBe((g.sqlite.prepare('select count(*) n from spend_days where tz = ?').get(tz) as { n: number }).n);
  });
});

describe('the daemon keeps the rollup', () => {
  it('back-fills at start in the background: HTTP answers and the first tick completes while past days are still being stored', async () => {
    const { ManualClock } = await import('../../src/clock.js');
    const { parseConfig } = await import('../../src/config/load.js');
    const { startDaemon } = await import('../../src/main.js');
    const { startSimulator } = await import('../../src/sim/index.js');
    const pino = (await import('pino')).default;
    const d = mkdtempSync(join(tmpdir(), 'xgc-backfill-'));
    const path = join(d, 'guard.db');
    const end = Date.UTC(2026, 10, 20, 12, 34);
    const pre = openDb(path);
    writeHistory(pre, { start: end - 120 * D, end, slots: 4, seed: 9 });
    pre.close();
    const clock = new ManualClock(end + MIN);
    const sim = await startSimulator({ token: 'T', instances: 2, clock, seed: 1 });
    const config = parseConfig({ xgc: { token: 'T', base_url: sim.url, retries: 0 }, db: { path }, snapshot: { every: '0 0 1 1 *' }, timezone: 'Asia/Shanghai' });
    const daemon = await startDaemon({ config, clock, log: pino({ level: 'silent' }), listen: false });
    try {
      const stored = () => (daemon.gdb.sqlite.prepare('select count(*) n from spend_days').get() as { n: number }).n;
      const health = await daemon.app.inject({ url: '/healthz' });
      expect(health.statusCode).toBe(200);
      const atHealth = stored();
      const ticked = () => (daemon.gdb.sqlite.prepare("select count(*) n from ticks where outcome = 'ok' and at > ?").get(end) as { n: number }).n;
      let tickedDuringBackfill = false;
      while (daemon.jobs.isRunning('tick') || daemon.jobs.isRunning('rollup')) {
        if (daemon.jobs.isRunning('rollup') && ticked() > 0) tickedDuringBackfill = true;
        await new Promise((r) => setImmediate(r));
      }
      const days = stored();
      expect(days).toBeGreaterThanOrEqual(120);
      expect(atHealth).toBeLessThan(days); // HTTP answered before the back-fill was done
      expect(ticked()).toBe(1);
      expect(tickedDuringBackfill).toBe(true); // the start tick finished while the back-fill was still going
      const q = { from: end - 100 * D, to: end, by: 'instance' as const, tz: 'Asia/Shanghai', now: clock.now() };
      expect(spendReport(daemon.gdb.db, q).total).toEqual(spendReport(daemon.gdb.db, { ...q, rollup: false }).total);
    } finally {
      await daemon.close();
      await sim.close();
      rmSync(d, { recursive: true, force: true });
    }
  });
});
