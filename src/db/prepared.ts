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

/** A table whose every row change bumps a counter in `change_counters`, in the same transaction (migrations 0008-0010). */
export type CountedTable = 'intervals' | 'probe_state' | 'instances';

const COUNTER = 'select n from change_counters where name = ?';

/**
 * Where the counter of `table` stands: it moves with every committed change of the table, whichever connection
 * writes. Null inside a transaction (its writes may yet be rolled back) or without a raw connection: what is
 * kept of reads between changes must then not be used.
 */
export function changeCounter(db: Db, table: CountedTable): number | null {
  const client = rawClient(db);
  if (!client || client.inTransaction) return null;
  return (statement(client, COUNTER).get(table) as [number])[0];
}

const kept = new WeakMap<object, Map<string, { n: string; value: unknown }>>();

/**
 * What `read` returns, kept per connection under `key` while the counters of `tables` stand still (and `fits` accepts
 * it): read again after any committed change of one of them, and every time inside a transaction. The value is
 * shared: nobody may change it.
 */
export function keptWhileUnchanged<T>(db: Db, tables: CountedTable | readonly CountedTable[], key: string, read: () => T, fits: (kept: T) => boolean = () => true): T {
  const client = rawClient(db);
  let n = '';
  for (const t of typeof tables === 'string' ? [tables] : tables) {
    const c = changeCounter(db, t);
    if (c === null) return read();
    n += `${c}:`;
  }
  if (!client) return read();
  let m = kept.get(client);
  if (!m) kept.set(client, (m = new Map()));
  const k = m.get(key);
  if (k && k.n === n && fits(k.value as T)) return k.value as T;
  const value = read();
  m.set(key, { n, value });
  return value;
}

/** The counter of `table` as this transaction sees it (its own writes included): for a writer that keeps what it wrote. */
export function changeCounterInTransaction(db: Db, table: CountedTable): number {
  return allRows<[number]>(db, COUNTER, [table])[0][0];
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
