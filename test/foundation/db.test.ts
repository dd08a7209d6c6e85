import { describe, expect, it } from 'vitest';
import { copyFileSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { drizzle } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { PAGE_CACHE_KIB, migrationsFolder, openDb } from '../../src/db/open.js';
import { tempDir } from '../helpers/proc.js';

describe('database', () => {
  it('migrates an empty database and sets the pragmas in one place', () => {
    const path = join(tempDir(), 'guard.db');
    const g = openDb(path);
    const tables = g.sqlite.prepare("select name from sqlite_master where type='table' order by name").all().map((r: any) => r.name);
    expect(tables).toEqual(expect.arrayContaining(['instances', 'intervals', 'balance_points', 'ticks', 'actions', 'overrides', 'outbox_events', 'outbox_deliveries', 'leases', '__drizzle_migrations']));
    expect(g.sqlite.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(g.sqlite.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(g.sqlite.pragma('busy_timeout', { simple: true })).toBe(5000);
    expect(g.sqlite.pragma('synchronous', { simple: true })).toBe(1); // NORMAL
    g.close();
  });

  it('a second start on an existing database is a no-op that keeps the data', () => {
    const path = join(tempDir(), 'guard.db');
    const a = openDb(path);
    a.sqlite.prepare("insert into meta(key, value) values ('probe', 'kept')").run();
    const migrations = a.sqlite.prepare('select count(*) c from __drizzle_migrations').get() as { c: number };
    const schemaBefore = a.sqlite.prepare('select sql from sqlite_master order by name').all();
    a.close();
    const b = openDb(path);
    expect((b.sqlite.prepare('select count(*) c from __drizzle_migrations').get() as { c: number }).c).toBe(migrations.c);
    expect(b.sqlite.prepare('select sql from sqlite_master order by name').all()).toEqual(schemaBefore);
    expect(b.sqlite.prepare("select value from meta where key='probe'").get()).toEqual({ value: 'kept' });
    b.close();
  });

  it('the upgrade that adds instance lives computes them from the days rolled up before it', () => {
    // a database as the release before it left it: migrations up to 0006, two rolled-up days
    const dir = tempDir();
    const old = join(dir, 'migrations');
    mkdirSync(join(old, 'meta'), { recursive: true });
    const journal = JSON.parse(readFileSync(join(migrationsFolder(), 'meta', '_journal.json'), 'utf8')) as { entries: Array<{ idx: number; tag: string }> };
    journal.entries = journal.entries.filter((e) => e.idx <= 6);
    writeFileSync(join(old, 'meta', '_journal.json'), JSON.stringify(journal));
    for (const e of journal.entries) copyFileSync(join(migrationsFolder(), `${e.tag}.sql`), join(old, `${e.tag}.sql`));
    const path = join(dir, 'guard.db');
    const raw = new Database(path);
    migrate(drizzle(raw), { migrationsFolder: old });
    const cell = raw.prepare('insert into spend_day_cells (tz, day_start, instance_id, estimated, saved) values (?, ?, ?, ?, ?)');
    cell.run('UTC', 86_400_000, 'a', 1.5, 0.25);
    cell.run('UTC', 2 * 86_400_000, 'a', 2, 0);
    cell.run('UTC', 2 * 86_400_000, 'b', 3, 1);
    cell.run('Asia/Shanghai', 86_400_000 - 28_800_000, 'a', 4, 0);
    raw.close();
    const g = openDb(path);
    // migrations run with a small page cache; the connection gets the guard's own back afterwards (8 MB: half of
    // better-sqlite3's default, which a long-running daemon would fill and keep)
    expect(g.sqlite.pragma('cache_size', { simple: true })).toBe(-PAGE_CACHE_KIB);
    expect(PAGE_CACHE_KIB).toBeLessThan(-(new Database(':memory:').pragma('cache_size', { simple: true }) as number));
    const reader = openDb(path, { readonly: true });
    expect(reader.sqlite.pragma('cache_size', { simple: true })).toBe(-PAGE_CACHE_KIB);
    reader.close();
    expect(g.sqlite.prepare('select tz, instance_id, first_day, last_day, estimated, saved from spend_lives order by tz, instance_id').raw().all()).toEqual([
      ['Asia/Shanghai', 'a', 57_600_000, 57_600_000, 4, 0],
      ['UTC', 'a', 86_400_000, 172_800_000, 3.5, 0.25],
      ['UTC', 'b', 172_800_000, 172_800_000, 3, 1],
    ]);
    g.close();
  });

  it('checkpoints the WAL on close', () => {
    const path = join(tempDir(), 'guard.db');
    const g = openDb(path);
    g.sqlite.prepare("insert into meta(key, value) values ('a', 'b')").run();
    g.close();
    expect(!existsSync(`${path}-wal`) || statSync(`${path}-wal`).size === 0).toBe(true);
  });
});
