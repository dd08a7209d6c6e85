/**
 * The rollup job: stores the spend rollup of every whole day (in the configured time zone) that ended before the
 * last successful tick and is not stored yet, oldest first, then the month sums those days complete. One day or
 * one month per step, yielding to the event loop between steps, so the first run after an upgrade back-fills a
 * year in the background without holding up ticks or HTTP; later runs store the day that just closed.
 */
import type { Db } from '../db/open.js';
import { nextStart, startOf, startsBetween } from '../db/calendar.js';
import { firstDataAt, lastObservedAt, monthMarks, refreshMonth, rolledDays, rollUpDay } from '../db/spend-rollup.js';

/** What one run stored. */
export interface RollupResult {
  days: number;
  months: number;
  cells: number;
  /** false when stopped by the signal before the end */
  complete: boolean;
}

/** Yield to the event loop (timers and I/O run) before the next step. */
export const yieldToLoop = (): Promise<void> => new Promise((r) => setImmediate(r));

/** Store the missing rollup of `tz` as of `now`, one step at a time; `signal` stops it between steps. */
export async function runRollup(db: Db, opts: { tz: string; now: number; signal?: AbortSignal; pause?: () => Promise<void> }): Promise<RollupResult> {
  const { tz, now } = opts;
  const pause = opts.pause ?? yieldToLoop;
  const res: RollupResult = { days: 0, months: 0, cells: 0, complete: false };
  await pause(); // never run before the caller's own work (the first tick at start)
  const last = lastObservedAt(db);
  const first = firstDataAt(db);
  if (last === null || first === null) return { ...res, complete: true };
  const limit = Math.min(last, now);
  // from the start of the first month with data, so every month's rolled days begin at its first day
  const start = startOf(first, 'month', tz);
  const have = new Set(rolledDays(db, tz, start, limit).map((d) => d.dayStart));
  for (const d of startsBetween(start, limit, 'day', tz)) {
    const end = nextStart(d, 'day', tz);
    if (end > limit || have.has(d)) continue;
    if (opts.signal?.aborted) return res;
    res.cells += rollUpDay(db, tz, d, end, now);
    res.days++;
    have.add(d);
    await pause();
  }
  const marks = monthMarks(db, tz, start, limit);
  for (const m of startsBetween(start, limit, 'month', tz)) {
    const mEnd = nextStart(m, 'month', tz);
    let through = m;
    while (through < mEnd && have.has(through)) through = nextStart(through, 'day', tz);
    if (through === m || marks.get(m) === through) continue;
    if (opts.signal?.aborted) return res;
    refreshMonth(db, tz, m, through);
    res.months++;
    await pause();
  }
  res.complete = true;
  return res;
}
