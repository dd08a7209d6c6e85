/**
 * Day and month boundaries in a time zone, memoized: each boundary costs several Intl calls, and a year of days
 * would otherwise cost a year-long report more than its data. Pure functions of (instant, unit, zone).
 */
import { bucketStart, nextBucket, type BucketUnit } from '../money.js';

const MAX_ENTRIES = 100_000;
const nextMemo = new Map<string, number>();

/** Start of the day/month after the one starting at `start` in `tz` (memoized). */
export function nextStart(start: number, unit: BucketUnit, tz: string): number {
  if (unit === 'hour') return nextBucket(start, unit, tz);
  const key = `${tz}|${unit}|${start}`;
  let n = nextMemo.get(key);
  if (n === undefined) {
    if (nextMemo.size >= MAX_ENTRIES) nextMemo.clear();
    n = nextBucket(start, unit, tz);
    nextMemo.set(key, n);
  }
  return n;
}

/** Start of the day/month containing `t` in `tz`. */
export function startOf(t: number, unit: BucketUnit, tz: string): number {
  return bucketStart(t, unit, tz);
}

/** Starts of the days/months covering [from, to): the first is the one containing `from`. */
export function startsBetween(from: number, to: number, unit: BucketUnit, tz: string): number[] {
  const out: number[] = [];
  for (let s = startOf(from, unit, tz); s < to; s = nextStart(s, unit, tz)) {
    out.push(s);
    if (out.length > 100_000) throw new RangeError('too many buckets');
  }
  return out;
}
