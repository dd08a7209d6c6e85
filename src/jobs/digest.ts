/** The daily digest: yesterday's estimated and observed spend, savings, balance, runway and top instances. */
import { desc, inArray } from 'drizzle-orm';
import type { Db } from '../db/open.js';
import { balancePoints, instances } from '../db/schema.js';
import { burnRate, spendReport } from '../db/spend.js';
import { bucketStart, isoInTz, round4 } from '../money.js';
import { enqueueDigest, type DigestData } from '../notify/index.js';

/** Yesterday (local day in `tz`) as digest data, computed at `now`. */
export function digestData(db: Db, now: number, tz: string): DigestData {
  const today = bucketStart(now, 'day', tz);
  const yesterday = bucketStart(today - 1, 'day', tz);
  const byInst = spendReport(db, { from: yesterday, to: today, by: 'instance', tz, now });
  const last = db.select().from(balancePoints).orderBy(desc(balancePoints.at), desc(balancePoints.id)).limit(1).get();
  const burn = burnRate(db);
  const top = byInst.rows.slice(0, 5);
  const names = new Map(
    top.length
      ? db
          .select({ id: instances.id, name: instances.name, gpuModel: instances.gpuModel })
          .from(instances)
          .where(inArray(instances.id, top.map((r) => String(r.key))))
          .all()
          .map((r) => [r.id, r])
      : [],
  );
  return {
    day: isoInTz(yesterday, tz).slice(0, 10),
    estimated: byInst.total.estimated,
    observed: byInst.total.observed,
    saved: byInst.total.saved,
    recharged: byInst.total.recharged,
    balance: last?.balance ?? null,
    runway_hours: last && burn > 0 ? round4(last.balance / burn) : null,
    top_instances: top.map((r) => ({ id: String(r.key), name: names.get(String(r.key))?.name ?? '', gpu_model: names.get(String(r.key))?.gpuModel, estimated: r.estimated })),
  };
}

/** Compute and enqueue yesterday's digest (once per day; a second run the same day is a no-op). */
export function runDigest(db: Db, now: number, tz: string, channels: string[]): { sent: boolean } {
  return enqueueDigest(db, digestData(db, now, tz), { now, channels });
}
