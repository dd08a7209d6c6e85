/** Opens the guard's SQLite database in one place: pragmas, migrations, and a clean close. */
import Database from 'better-sqlite3';
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import type { BaseSQLiteDatabase } from 'drizzle-orm/sqlite-core';
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as schema from './schema.js';

/** The drizzle handle used by every query module. */
export type Db = BetterSQLite3Database<typeof schema>;

/** The handle or a transaction on it: query modules that run inside a caller's transaction take this. */
export type DbOrTx = BaseSQLiteDatabase<'sync', unknown, typeof schema>;

/** An open database: the drizzle handle, the raw better-sqlite3 connection, and close(). */
export interface GuardDb {
  db: Db;
  sqlite: Database.Database;
  path: string;
  close(): void;
}

/** Folder holding the committed drizzle-kit migrations (works from src/ under vitest and from dist/). */
export function migrationsFolder(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  return resolve(here, '..', '..', 'migrations');
}

/**
 * Open (creating if needed) and migrate the database at `path` (":memory:" allowed).
 * WAL, foreign keys, busy timeout and synchronous=NORMAL are set here and nowhere else.
 */
export function openDb(path: string, opts: { readonly?: boolean } = {}): GuardDb {
  if (path !== ':memory:') mkdirSync(dirname(resolve(path)), { recursive: true });
  const sqlite = new Database(path, { readonly: opts.readonly ?? false });
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  sqlite.pragma('synchronous = NORMAL');
  const db = drizzle(sqlite, { schema });
  if (!opts.readonly) migrate(db, { migrationsFolder: migrationsFolder() });
  let closed = false;
  return {
    db,
    sqlite,
    path,
    close() {
      if (closed) return;
      closed = true;
      try {
        if (!opts.readonly && path !== ':memory:') sqlite.pragma('wal_checkpoint(TRUNCATE)');
      } finally {
        sqlite.close();
      }
    },
  };
}
