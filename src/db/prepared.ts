/** Raw statements for hot read paths: prepared once per connection, rows as arrays (no per-call prepare, no row objects). */
import type Database from 'better-sqlite3';
import { sql, type SQL } from 'drizzle-orm';
import type { Db } from './open.js';

const cache = new WeakMap<object, Map<string, Database.Statement>>();

/**
 * The better-sqlite3 connection behind `db`: a database's `$client`, or inside a drizzle transaction its session's
 * client (the same connection, so a statement run through it is part of the transaction). Null if neither.
 */
export function rawClient(db: Db): Database.Database | null {
  const d = db as unknown as { $client?: unknown; session?: { client?: unknown } };
  const c = d.$client ?? d.session?.client;
  return c && typeof c === 'object' && typeof (c as Database.Database).prepare === 'function' ? (c as Database.Database) : null;
}

/** `text` with `?` placeholders bound to `params`, as a drizzle query (for transactions). */
function asDrizzle(text: string, params: unknown[]): SQL {
  const parts = text.split('?');
  const chunks: SQL[] = [sql.raw(parts[0])];
  for (let i = 1; i < parts.length; i++) chunks.push(sql`${params[i - 1]}`, sql.raw(parts[i]));
  return sql.join(chunks);
}

/** `text` prepared once per connection (rows as arrays when it returns any). */
function statement(client: Database.Database, text: string): Database.Statement {
  let m = cache.get(client);
  if (!m) cache.set(client, (m = new Map()));
  let s = m.get(text);
  if (!s) {
    s = client.prepare(text);
    if (s.reader) s.raw(true);
    m.set(text, s);
  }
  return s;
}

/** All rows of `text` (positional `?` parameters) as arrays of column values, in select order. */
export function allRows<T extends unknown[]>(db: Db, text: string, params: unknown[]): T[] {
  const client = rawClient(db);
  if (!client) return db.all<Record<string, unknown>>(asDrizzle(text, params)).map((r) => (Array.isArray(r) ? r : Object.values(r)) as T);
  return statement(client, text).all(...params) as T[];
}

/** Each row of `text` as an array, one at a time: a large result is never held whole (`fn` must not run `text` itself). */
export function eachRow<T extends unknown[]>(db: Db, text: string, params: unknown[], fn: (row: T) => void): void {
  const client = rawClient(db);
  if (!client) {
    for (const r of allRows<T>(db, text, params)) fn(r);
    return;
  }
  for (const r of statement(client, text).iterate(...params)) fn(r as T);
}

/** Run a write `text` (positional `?` parameters); inside `db.transaction(...)` it is part of that transaction. */
export function runRaw(db: Db, text: string, params: unknown[]): void {
  const client = rawClient(db);
  if (!client) db.run(asDrizzle(text, params));
  else statement(client, text).run(...params);
}

const built = new WeakMap<object, Map<string, unknown>>();

/**
 * A drizzle query built and prepared once per database object under `key` (its parameters as `sql.placeholder`s),
 * then reused: building a query costs more than running it on the reads every view and tick makes. A transaction's
 * object gets its own (it lives as long as the transaction).
 */
export function preparedOnce<Q>(db: Db, key: string, build: () => Q): Q {
  let m = built.get(db);
  if (!m) built.set(db, (m = new Map()));
  let q = m.get(key) as Q | undefined;
  if (q === undefined) m.set(key, (q = build()));
  return q;
}
