/** Drizzle queries built and prepared once per database object, for the reads every view and tick makes. */
import type { Db } from './open.js';

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
