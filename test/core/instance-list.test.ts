import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { currentInstances, instanceStretches, openRates, todayEstimated } from '../../src/db/instances.js';
import { openDb, type GuardDb } from '../../src/db/open.js';
import { billedByInstance, billedIntervals, billedTotal } from '../../src/db/billed-intervals.js';
import { estimatedByInstance, spendReport } from '../../src/db/spend.js';
import { accrued, round4 } from '../../src/money.js';
import { writeHistory } from '../helpers/history.js';
import { engineInput } from '../../src/jobs/assess.js';
import { parseConfig } from '../../src/config/load.js';
import type { Instance } from '../../src/xgc/types.js';

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
  });

  it('stretches of a whole list are those read one id at a time (gone instances, unknown ids and a part of the list too)', () => {
    const all = (g.sqlite.prepare('select id, gone_at from instances order by id').all() as Array<{ id: string; gone_at: number | null }>);
    expect(all.filter((r) => r.gone_at !== null).length).toBeGreaterThan(0);
    // one instance shut down with its GPU kept (stopped but billed)
    g.sqlite.prepare("update intervals set status = 'shutdown', gpu_kept = 1 where id = (select id from intervals where to_ts is null order by id limit 1)").run();
    const one = (ids: string[]) => new Map(ids.flatMap((id) => [...instanceStretches(g.db, [id])]));
    // ids never recorded make the list long enough to be read whole (a real list has hundreds of instances)
    const ids = [...all.map((r) => r.id), ...Array.from({ length: 40 }, (_, k) => `never-seen-${k}`)];
    const whole = instanceStretches(g.db, ids);
    expect(whole.size).toBe(all.length);
    expect(whole).toEqual(one(ids));
    expect([...whole.values()].some((s) => s.stoppedSince !== null)).toBe(true);
    const part = ids.filter((_, k) => k % 3 !== 0); // read whole, then filtered
    expect(instanceStretches(g.db, part)).toEqual(one(part));
  });

  it("the instance list's rows and the states the core judges follow every change of `instances`", () => {
    type Row = { id: string; name: string; status: string; gpu_model: string; gpu_count: number; price_per_hour: number; retain_price: number; image: string };
    const rows = g.sqlite.prepare('select * from instances where gone_at is null order by id').all() as Row[];
    expect(rows.length).toBeGreaterThan(5);
    // an observation's list: the same array object from one view to the next until the next tick
    const list = rows.map((r): Instance => ({
      id: r.id, name: r.name, status: r.status, statusKnown: true, gpuModel: r.gpu_model, gpuUsed: r.gpu_count, pricePerHour: r.price_per_hour, basePrice: null,
      retainPrice: r.retain_price, retain: true, image: r.image, imageId: '', dataCenter: '', webUrl: '', jupyterUrl: '', sshDomain: '', sshPort: null, createdAt: null, startedAt: null, stoppedAt: null, progress: null, autoShutdown: null, autoShutdownAction: null,
    }));
    // one the cloud lists as shut down with its GPU kept: since when is its open interval's business
    const b = list.find((i) => (g.sqlite.prepare('select count(*) n from intervals where to_ts is null and instance_id = ?').get(i.id) as { n: number }).n === 1)!;
    Object.assign(b, { status: 'shutdown', gpuUsed: 1 });
    const config = parseConfig({ xgc: { token: 'T' } });
    const states = () => engineInput(g.db, config, { now: END, list, balance: null }).instances;
    const listed = (id: string) => currentInstances(g.db).find((r) => r.id === id)!;
    const state = (id: string) => states().find((s) => s.id === id)!;
    const a = list[0].id;
    // the next observation (a new list, nothing written yet) is joined anew, not answered with the last list's states
    const next = list.map((i) => (i.id === list[1].id ? { ...i, name: 'next-list' } : i));
    expect(engineInput(g.db, config, { now: END, list: next, balance: null }).instances.find((s) => s.id === list[1].id)!.name).toBe('next-list');
    const was = { name: listed(a).name, lastSeen: listed(a).lastSeen, billedSince: state(a).billedSince };
    try {
      // this connection (as a tick bumps every row's last_seen)
      g.sqlite.prepare('update instances set name = ?, last_seen = last_seen + 1 where id = ?').run('renamed', a);
      expect(listed(a)).toMatchObject({ name: 'renamed', lastSeen: was.lastSeen + 1 });
      // another connection's commit
      const other = openDb(join(dir, 'guard.db'));
      try {
        other.sqlite.prepare('update instances set billed_since = ? where id = ?').run(END - H, a);
      } finally {
        other.close();
      }
      expect(state(a).billedSince).toBe(END - H);
      // a change of `intervals` alone: its open interval says since when it is stopped with the GPU kept
      const open = g.sqlite.prepare('select id, status, gpu_kept, from_ts from intervals where to_ts is null and instance_id = ?').get(b.id) as { id: number; status: string; gpu_kept: number; from_ts: number };
      expect(state(b.id).stoppedSince).toBe(open.status === 'shutdown' && open.gpu_kept === 1 ? open.from_ts : null);
      const flip = open.status === 'shutdown' && open.gpu_kept === 1 ? ['running', 0] : ['shutdown', 1];
      g.sqlite.prepare('update intervals set status = ?, gpu_kept = ? where id = ?').run(...flip, open.id);
      expect(state(b.id).stoppedSince).toBe(flip[0] === 'shutdown' ? open.from_ts : null);
      g.sqlite.prepare('update intervals set status = ?, gpu_kept = ? where id = ?').run(open.status, open.gpu_kept, open.id);
      // a transaction reads its own writes, and once rolled back they are gone
      expect(() =>
        g.db.transaction(() => {
          g.sqlite.prepare('update instances set name = ?, billed_since = ? where id = ?').run('in-tx', END - 2 * H, a);
          expect(listed(a).name).toBe('in-tx');
          expect(state(a).billedSince).toBe(END - 2 * H);
          throw new Error('roll back');
        }),
      ).toThrow('roll back');
      expect(listed(a).name).toBe('renamed');
      expect(state(a).billedSince).toBe(END - H);
      // gone: no longer listed
      g.sqlite.prepare('update instances set gone_at = ? where id = ?').run(END, a);
      expect(currentInstances(g.db).some((r) => r.id === a)).toBe(false);
    } finally {
      g.sqlite.prepare('update instances set name = ?, last_seen = ?, billed_since = ?, gone_at = null where id = ?').run(was.name, was.lastSeen, was.billedSince, a);
    }
    expect(listed(a).name).toBe(was.name);
  });

  it('billed rates now are the rates of the open intervals', () => {
    const rates = openRates(g.db);
    const open = g.sqlite.prepare('select instance_id, rate from intervals where to_ts is null').all() as Array<{ instance_id: string; rate: number }>;
    expect(open.length).toBeGreaterThan(5);
    expect(rates).toEqual(new Map(open.map((r) => [r.instance_id, r.rate])));
  });

  it('the open intervals (billed rates, stopped with the GPU kept) follow every change: this connection, another, a transaction', () => {
    const direct = () => new Map((g.sqlite.prepare('select instance_id, rate from intervals where to_ts is null').all() as Array<{ instance_id: string; rate: number }>).map((r) => [r.instance_id, r.rate]));
    const ids = [...(g.sqlite.prepare('select id from instances').all() as Array<{ id: string }>).map((r) => r.id), ...Array.from({ length: 40 }, (_, k) => `never-seen-${k}`)];
    const stoppedSince = (id: string) => instanceStretches(g.db, ids).get(id)?.stoppedSince;
    const row = g.sqlite.prepare("select * from intervals where to_ts is null and status = 'running' and rate > 0 order by id limit 1").get() as { id: number; instance_id: string; rate: number; from_ts: number; status: string; gpu_kept: number };
    const set = (conn: typeof g.sqlite, rate: number, status = 'running') => conn.prepare('update intervals set rate = ?, status = ?, gpu_kept = 1 where id = ?').run(rate, status, row.id);
    expect(openRates(g.db)).toEqual(direct());
    expect(stoppedSince(row.instance_id)).toBeNull();
    // this connection
    set(g.sqlite, row.rate + 1);
    expect(openRates(g.db).get(row.instance_id)).toBe(row.rate + 1);
    // another connection: shut down, the GPU kept
    const other = openDb(join(dir, 'guard.db'));
    try {
      set(other.sqlite, 0.5, 'shutdown');
      expect(openRates(g.db).get(row.instance_id)).toBe(0.5);
      expect(stoppedSince(row.instance_id)).toBe(row.from_ts);
      // a transaction reads its own writes, and once rolled back they are gone: the next commit elsewhere is read
      expect(() =>
        g.db.transaction(() => {
          set(g.sqlite, 9);
          expect(openRates(g.db).get(row.instance_id)).toBe(9);
          expect(stoppedSince(row.instance_id)).toBeNull();
          throw new Error('roll back');
        }),
      ).toThrow('roll back');
      set(other.sqlite, 7);
      expect(openRates(g.db).get(row.instance_id)).toBe(7);
      expect(stoppedSince(row.instance_id)).toBeNull();
      expect(openRates(g.db)).toEqual(direct());
    } finally {
      other.close();
      g.sqlite.prepare('update intervals set rate = ?, status = ?, gpu_kept = ? where id = ?').run(row.rate, row.status, row.gpu_kept, row.id);
    }
  });

  it("today's estimate and the last hour's total follow every change of the database and of the clock", () => {
    const tz = 'Asia/Shanghai';
    const direct = (now: number) => estimatedByInstance(g.db, Date.UTC(2026, 10, 19, 16), now);
    const hour = (now: number) => [...billedByInstance(g.db, now - H, now, now).values()].reduce((a, b) => a + b, 0);
    const same = (now: number) => {
      const got = todayEstimated(g.db, now, tz);
      const want = direct(now);
      expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
      for (const [id, v] of want) expect(got.get(id), id).toBeCloseTo(v, 9);
      expect(hour(now)).toBeCloseTo(billedTotal(g.db, now - H, now, now), 9);
      const earlier = [...billedByInstance(g.db, now - 3 * H, now, now).values()].reduce((a, b) => a + b, 0);
      expect(earlier).toBeCloseTo(billedTotal(g.db, now - 3 * H, now, now), 9);
      expect(hour(now)).toBeGreaterThan(0);
    };
    const open = g.sqlite.prepare('select id, instance_id, rate from intervals where to_ts is null and rate > 0 order by id limit 1').get() as { id: number; instance_id: string; rate: number };
    same(END);
    same(END + 10 * 60_000); // open intervals accrue on
    // this connection closes an interval and opens one at another rate: the next answer reads them
    const t = END + 20 * 60_000;
    g.sqlite.prepare('update intervals set to_ts = ? where id = ?').run(t, open.id);
    const row = g.sqlite.prepare('select * from intervals where id = ?').get(open.id) as Record<string, unknown>;
    g.sqlite.prepare(`insert into intervals (${Object.keys(row).filter((k) => k !== 'id').join(', ')}) values (${Object.keys(row).filter((k) => k !== 'id').map(() => '?').join(', ')})`).run(...Object.entries(row).filter(([k]) => k !== 'id').map(([k, v]) => (k === 'from_ts' ? t : k === 'to_ts' ? null : k === 'rate' ? open.rate * 3 : v)));
    same(t + 5 * 60_000);
    expect(todayEstimated(g.db, t + 5 * 60_000, tz).get(open.instance_id)).toBeGreaterThan(0);
    // another connection's commit
    const other = openDb(join(dir, 'guard.db'));
    try {
      other.sqlite.prepare('update intervals set rate = rate * 2 where to_ts is not null and to_ts > ? and instance_id = ?').run(END - 2 * H, open.instance_id);
    } finally {
      other.close();
    }
    same(t + 6 * 60_000);
    // a clock behind the latest closed interval: clipped at now, as SQLite clips it
    same(t - 60_000);
  });

  it.each(['Asia/Shanghai', 'Europe/Berlin', 'UTC'])("today's estimate per instance counts from local midnight in %s (instances running across it included)", (tz) => {
    const today = todayEstimated(g.db, END, tz);
    const midnight = { 'Asia/Shanghai': Date.UTC(2026, 10, 19, 16), 'Europe/Berlin': Date.UTC(2026, 10, 19, 23), UTC: Date.UTC(2026, 10, 20) }[tz]!;
    const live = spendReport(g.db, { from: midnight, to: END, by: 'instance', tz, now: END, rollup: false });
    expect(live.rows.length).toBeGreaterThan(5);
    expect(new Map([...today].map(([k, v]): [string, number] => [k, round4(v)]).filter(([, v]) => v !== 0))).toEqual(new Map(live.rows.map((r) => [r.key, r.estimated])));
  });
});
