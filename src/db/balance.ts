/** Queries on the recorded balance points. */
import { and, asc, desc, gte, lt, sql } from 'drizzle-orm';
import { preparedOnce } from './prepared.js';
import type { Db } from './open.js';
import { balancePoints } from './schema.js';
import { billedByInstance } from './billed-intervals.js';
import { burnRate } from './spend.js';
import { balanceFigures, type BalanceFigures } from '../money.js';

/** A recorded balance (yuan) and when it was observed. */
export interface BalancePoint {
  at: number;
  balance: number;
}

/** The last observed balance, or null before the first observation. */
export function lastBalance(db: Db): BalancePoint | null {
  const r = db.select().from(balancePoints).orderBy(desc(balancePoints.at), desc(balancePoints.id)).limit(1).get();
  return r ? { at: r.at, balance: r.balance } : null;
}

/**
 * When the platform last debited: the latest balance point lower than the one before it (XianGong debits hourly,
 * in arrears). Null when no decrease was ever recorded.
 */
export function lastDebitAt(db: Db, now: number): number | null {
  const pts = preparedOnce(db, 'balance.lastDebit', () =>
    db.select().from(balancePoints).where(lt(balancePoints.at, sql.placeholder('until'))).orderBy(desc(balancePoints.at), desc(balancePoints.id)).limit(50).prepare(),
  ).all({ until: now + 1 });
  for (let k = 0; k + 1 < pts.length; k++) if (pts[k].balance < pts[k + 1].balance) return pts[k].at;
  return null;
}

/** Balance changes in [from, to) (at most `limit`), and the balance known at `from` (the last point before it). */
export function balanceHistory(db: Db, from: number, to: number, limit: number): { before: BalancePoint | null; points: BalancePoint[] } {
  const before = db.select().from(balancePoints).where(lt(balancePoints.at, from)).orderBy(desc(balancePoints.at), desc(balancePoints.id)).limit(1).get();
  const points = db
    .select({ at: balancePoints.at, balance: balancePoints.balance })
    .from(balancePoints)
    .where(and(gte(balancePoints.at, from), lt(balancePoints.at, to)))
    .orderBy(asc(balancePoints.at), asc(balancePoints.id))
    .limit(limit)
    .all();
  return { before: before ? { at: before.at, balance: before.balance } : null, points };
}

/** The platform debits at least hourly: what accrued since its last debit (at most the last hour) is owed already. */
const DEBIT_EVERY_MS = 3_600_000;

/** Estimated yuan accrued since the platform's last debit seen in the balance (at most one debit period back). */
export function unbilledSince(db: Db, now: number): number {
  const from = Math.max(lastDebitAt(db, now) ?? -Infinity, now - DEBIT_EVERY_MS);
  let total = 0;
  for (const v of billedByInstance(db, from, now, now).values()) total += v;
  return total;
}

/** The balance model at `now` from what is recorded (see `balanceFigures`); null before the first observation. */
export function balanceNow(db: Db, now: number): BalanceFigures | null {
  const last = lastBalance(db);
  return last ? balanceFigures(last.balance, last.at, unbilledSince(db, now), burnRate(db)) : null;
}
