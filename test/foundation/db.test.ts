import { describe, expect, it } from 'vitest';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { openDb } from '../../src/db/open.js';
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

  it('checkpoints the WAL on close', () => {
    const path = join(tempDir(), 'guard.db');
    const g = openDb(path);
    g.sqlite.prepare("insert into meta(key, value) values ('a', 'b')").run();
    g.close();
    expect(!existsSync(`${path}-wal`) || statSync(`${path}-wal`).size === 0).toBe(true);
  });
});
