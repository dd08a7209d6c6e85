/** Opens the guard's SQLite database in one place: pragmas, migrations, and a clean close. */
import Database from 'better-sqlite3';
import { type BaseSQLiteDatabase } from 'drizzle-orm/sqlite-core';
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { accessSync, constants, mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DatabaseUnavailable } from '../errors.js';
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
  let sqlite: Database.Database | undefined;
  let db: Db;
  try {
    if (path !== ':memory:') mkdirSync(dirname(resolve(path)), { recursive: true });
    sqlite = new Database(path, { readonly: opts.readonly ?? false });
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('foreign_keys = ON');
    sqlite.pragma('busy_timeout = 5000');
    sqlite.pragma('synchronous = NORMAL');
    sqlite.pragma(`cache_size = -${PAGE_CACHE_KIB}`);
    db = drizzle(sqlite, { schema });
    if (!opts.readonly) migrateLean(sqlite, db);
  } catch (e) {
    sqlite?.close();
    throw unavailable(path, e, opts.readonly ?? false) ?? e;
  }
  const conn = sqlite;
  let closed = false;
  return {
    db,
    sqlite: conn,
    path,
    close() {
      if (closed) return;
      closed = true;
      try {
        if (!opts.readonly && path !== ':memory:') conn.pragma('wal_checkpoint(TRUNCATE)');
      } finally {
        conn.close();
      }
    },
  };
}

/**
 * Each connection's SQLite page cache, in KiB: half better-sqlite3's default of 16 MB. A long-running daemon's queries
 * fill whatever cache it has (it is part of the RSS for good), and the operating system caches the file anyway. At
 * 1,000 instances with a year of history and a dashboard open (bench/RESULTS.md, "2026-12-01"), 8 MB took the
 * daemon's RSS p50 from 175 to 166 MB on Node 24 and made spend queries 0.5-2.5 ms slower (of 9-65 ms); ticks did not
 * slow down.
 */
export const PAGE_CACHE_KIB = 8000;

/**
 * Apply the pending migrations with a small page cache: one that back-fills from a big table (a year of rolled-up
 * days) would otherwise fill the connection's whole cache and keep that memory for the daemon's lifetime.
 */
function migrateLean(sqlite: Database.Database, db: Db): void {
  sqlite.pragma('cache_size = -2000');
  try {
    migrate(db, { migrationsFolder: migrationsFolder() });
  } finally {
    sqlite.pragma(`cache_size = -${PAGE_CACHE_KIB}`);
  }
}

const FILE_ERRORS = /^(EACCES|EEXIST|EPERM|EROFS|ENOTDIR|EISDIR|ENOSPC|SQLITE_CANTOPEN|SQLITE_READONLY\w*|SQLITE_PERM|SQLITE_IOERR\w*|SQLITE_FULL|SQLITE_NOTADB|SQLITE_CORRUPT)$/;

/** A file-system or SQLite open failure as one DatabaseUnavailable naming the path and the fix; null for other errors. */
function unavailable(path: string, e: unknown, readonly: boolean): DatabaseUnavailable | null {
  const c = (e as { code?: unknown }).code;
  const code = typeof c === 'string' ? c : '';
  if (!FILE_ERRORS.test(code)) return null;
  const abs = resolve(path);
  const dir = dirname(abs);
  const where = 'set GUARD_DB (or db.path) to a writable file';
  const isDir = (p: string) => {
    try {
      return statSync(p).isDirectory();
    } catch {
      return null;
    }
  };
  const uid = typeof process.getuid === 'function' ? process.getuid() : undefined;
  let problem: string;
  if (isDir(abs)) problem = `${abs} is a directory, not a database file; ${where} such as ${abs}/guard.db`;
  else if (code === 'ENOTDIR' || code === 'EEXIST' || isDir(dir) === false) problem = `a parent of ${abs} is a file, not a directory; ${where}`;
  else if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT') problem = `${abs} is not an SQLite database (or is damaged); ${where}, or restore the file`;
  else if (code === 'ENOSPC' || code === 'SQLITE_FULL') problem = `the disk holding ${dir} is full; free space or ${where}`;
  else if (!readonly && !writable(dir)) problem = `directory ${dir} is not writable${uid !== undefined ? ` by uid ${uid}` : ''}; make it writable (e.g. chown ${uid ?? 'the guard user'} ${dir}) or ${where}`;
  else if (!readonly && isDir(abs) === false && !writable(abs)) problem = `${abs} is read-only${uid !== undefined ? ` for uid ${uid}` : ''}; make it writable or ${where}`;
  else problem = `${code}; check that ${dir} exists and is writable, or ${where}`;
  return new DatabaseUnavailable(abs, problem);
}

function writable(p: string): boolean {
  try {
    accessSync(p, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}
