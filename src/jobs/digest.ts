/** The daily digest: yesterday's estimated and observed spend, savings, balance, runway and top instances. */
import { inArray } from 'drizzle-orm';
import type { Db } from '../db/open.js';
import { balanceNow } from '../db/balance.js';
import { instances } from '../db/schema.js';
import { spendReport } from '../db/spend.js';
import { bucketStart, isoInTz, round4 } from '../money.js';
import { enqueueDigest, type DigestData } from '../notify/index.js';

/** Yesterday (local day in `tz`) as digest data, computed at `now`. */
export function digestData(db: Db, now: number, tz: string): DigestData {
  const today = bucketStart(now, 'day', tz);
  const yesterday = bucketStart(today - 1, 'day', tz);
  const byInst = spendReport(db, { from: yesterday, to: today, by: 'instance', tz, now });
  // the balance model every surface uses: the observed balance, and the runway from its estimate now
  const fig = balanceNow(db, now);
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
    balance: fig?.observed ?? null,
    runway_hours: fig && fig.burn > 0 ? round4(fig.runwayHours) : null,
    top_instances: top.map((r) => ({ id: String(r.key), name: names.get(String(r.key))?.name ?? '', gpu_model: names.get(String(r.key))?.gpuModel, estimated: r.estimated })),
  };
}

/** Compute and enqueue yesterday's digest (once per day; a second run the same day is a no-op). */
export function runDigest(db: Db, now: number, tz: string, channels: string[]): { sent: boolean } {
  return enqueueDigest(db, digestData(db, now, tz), { now, channels });
}
