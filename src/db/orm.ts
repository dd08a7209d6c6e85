/**
 * drizzle-orm, loaded through its CommonJS build: the one place the code (src and test) takes it from.
 *
 * Why not `import ... from 'drizzle-orm'`: on Node 22+ the ES module loader looks up the package scope of every
 * module it loads, and for drizzle-orm that means deserializing its 179 KB `package.json` (its `exports` map) into
 * a fresh object for each of its ~110 modules. Importing drizzle-orm that way makes ~80 MB of garbage, and on Node 24
 * (the image's runtime) V8 keeps the pages it grew for it: a process that imported drizzle-orm holds ~100 MB of
 * RSS after a full GC, against ~64 MB for the same modules loaded through `require` (bench/RESULTS.md, "2026-12-01").
 * `require` of the package's `.cjs` files needs no such lookup. Types come from the package as usual.
 */
import { createRequire } from 'node:module';

const load = createRequire(import.meta.url);

const core = load('drizzle-orm') as typeof import('drizzle-orm');
const sqliteCore = load('drizzle-orm/sqlite-core') as typeof import('drizzle-orm/sqlite-core');
const betterSqlite = load('drizzle-orm/better-sqlite3') as typeof import('drizzle-orm/better-sqlite3');

export const { and, asc, desc, eq, gt, gte, inArray, isNotNull, isNull, lt, lte, max, min, notExists, notInArray, or, sql } = core;
export type { Placeholder, SQL } from 'drizzle-orm';
export const { sqliteTable, text, integer, real, index, uniqueIndex, primaryKey } = sqliteCore;
export type { BaseSQLiteDatabase } from 'drizzle-orm/sqlite-core';
export const { drizzle } = betterSqlite;
export type { BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';

/** Apply the migrations in `migrationsFolder` (drizzle-kit's journal) to `db`. */
export function migrate(...args: Parameters<typeof import('drizzle-orm/better-sqlite3/migrator').migrate>): void {
  (load('drizzle-orm/better-sqlite3/migrator') as typeof import('drizzle-orm/better-sqlite3/migrator')).migrate(...args);
}
