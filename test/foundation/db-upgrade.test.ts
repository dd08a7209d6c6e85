// The upgrade that drops the change counters (migration 0011): a database as the release before it left it, with
// history, reads the same rows and the same figures after it.
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { currentInstances, openRates, todayEstimated } from '../../src/db/instances.js';
import { migrationsFolder, openDb } from '../../src/db/open.js';
import { savingsReport } from '../../src/db/savings.js';
import { spendReport } from '../../src/db/spend.js';
import { startHarness, T0, type Harness } from '../helpers/guard.js';
import { tempDir } from '../helpers/proc.js';

const MIN = 60_000;
let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** Every table's rows, but the migrations' own bookkeeping. */
function dump(sqlite: Database.Database): Record<string, unknown[]> {
  const tables = (sqlite.prepare("select name from sqlite_master where type = 'table' and name not in ('__drizzle_migrations', 'change_counters', 'sqlite_sequence') order by name").all() as { name: string }[]).map((t) => t.name);
  return Object.fromEntries(tables.map((t) => [t, sqlite.prepare(`select * from "${t}" order by rowid`).all()]));
}

describe('upgrade from the release with change counters (0008-0010)', () => {
  it('keeps every row and every figure, and leaves neither the counters nor their triggers', async () => {
    h = await startHarness({ policies: [{ name: 'idle', type: 'idle', idle_for: '30m', min_uptime: '5m' }] });
    await h.add({ name: 'sd-forgotten', image: 'WebUI', status: 'running', busy: false });
    await h.add({ name: 'comfy-busy', image: 'ComfyUI', status: 'running', busy: true });
    for (let i = 0; i < 50; i++) await h.step(MIN);
    const now = h.clock.now();
    const figures = (g: { db: ReturnType<typeof openDb>['db'] }) => ({
      spend: spendReport(g.db, { from: T0, to: now, by: 'day', tz: 'Asia/Shanghai', now }),
      byInstance: spendReport(g.db, { from: T0, to: now, by: 'instance', tz: 'UTC', now }),
      savings: savingsReport(g.db, { from: T0, to: now, now, tz: 'Asia/Shanghai' }),
      listed: currentInstances(g.db),
      rates: openRates(g.db),
      today: todayEstimated(g.db, now, 'Asia/Shanghai'),
    });
    const dir = tempDir();
    const path = join(dir, 'guard.db');
    // the release before 0011 stored no latest alert observation (0012 adds that column, empty)
    h.gdb.sqlite.prepare('update alert_state set latest = null').run();
    // nor the platform's auto-shutdown fields (0013 adds those columns, empty)
    h.gdb.sqlite.prepare('update instances set auto_shutdown = null, auto_shutdown_action = null').run();
    // nor an idle answer's start in the probe history (0014 adds that column, empty)
    h.gdb.sqlite.prepare('update probe_changes set since = null').run();
    h.gdb.sqlite.pragma('wal_checkpoint(TRUNCATE)');
    copyFileSync(h.gdb.path, path);
    const want = { rows: dump(h.gdb.sqlite), figures: figures(h.gdb) };
    expect(want.figures.savings.actions.length).toBeGreaterThan(0); // the idle one was released: savings to keep

    // the copy as the release before left it: the counters, their triggers, and 0011 not yet applied
    const old = new Database(path);
    for (const tag of ['0008_intervals_version', '0009_probe_state_version', '0010_instances_version']) {
      for (const stmt of readFileSync(join(migrationsFolder(), `${tag}.sql`), 'utf8').split('--> statement-breakpoint')) old.exec(stmt);
    }
    // undo what came after 0011, then forget 0011 and everything after it
    old.exec('alter table alert_state drop column latest');
    old.exec('alter table instances drop column auto_shutdown');
    old.exec('alter table instances drop column auto_shutdown_action');
    old.exec('alter table probe_changes drop column since');
    const journal = JSON.parse(readFileSync(join(migrationsFolder(), 'meta', '_journal.json'), 'utf8')) as { entries: { tag: string; when: number }[] };
    const since = journal.entries.find((e) => e.tag === '0011_drop_change_counters')!.when;
    old.prepare('delete from __drizzle_migrations where created_at >= ?').run(since);
    expect(old.prepare("select count(*) n from sqlite_master where type = 'trigger'").get()).toEqual({ n: 9 });
    old.close();

    const g = openDb(path);
    try {
      expect(g.sqlite.prepare("select name from sqlite_master where type = 'trigger' or name = 'change_counters'").all()).toEqual([]);
      expect(dump(g.sqlite)).toEqual(want.rows);
      expect(figures(g)).toEqual(want.figures);
    } finally {
      g.close();
    }
  });
});
