/**
 * The money model (DESIGN.md), as pure functions: what an instance is billed per hour in a given state,
 * and how interval x rate sums split into time buckets in a time zone.
 */

/** The facts billing depends on. */
export interface BillableFacts {
  status: string;
  gpuUsed: number;
  pricePerHour: number;
  retainPrice: number;
}

const UNBILLED = new Set(['deploying', 'destroying', 'destroyed']);

/**
 * Yuan per hour billed right now: `price_per_hour` while a GPU is held (running, booting, shutting_down,
 * shutdown with GPU kept) and while running without one (a `gpu_count: 0` data-only boot: its CPU-only price, never
 * a GPU's), `retain_price` once the GPU is released, nothing while deploying or destroyed.
 */
export function billedRate(f: BillableFacts): number {
  if (UNBILLED.has(f.status)) return 0;
  return f.gpuUsed > 0 || f.status === 'running' ? f.pricePerHour : f.retainPrice;
}

/** Whether the instance holds a GPU that is billed (the state the guard's release actions end). */
export function holdsGpu(f: BillableFacts): boolean {
  return !UNBILLED.has(f.status) && f.gpuUsed > 0;
}

const HOUR = 3_600_000;

/** Yuan accrued at `rate` ¥/h over [from, to) intersected with [a, b). */
export function accrued(rate: number, from: number, to: number, a: number, b: number): number {
  const lo = Math.max(from, a);
  const hi = Math.min(to, b);
  return hi > lo ? (rate * (hi - lo)) / HOUR : 0;
}

const dtfCache = new Map<string, Intl.DateTimeFormat>();
function dtf(tz: string): Intl.DateTimeFormat {
  let f = dtfCache.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: tz, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
    dtfCache.set(tz, f);
  }
  return f;
}

/** Offset of `tz` at `t` from Intl (formatToParts: slow enough to memoize). */
function intlOffset(t: number, tz: string): number {
  const p: Record<string, number> = {};
  for (const part of dtf(tz).formatToParts(new Date(t))) if (part.type !== 'literal') p[part.type] = Number(part.value);
  return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second) - Math.floor(t / 1000) * 1000;
}

const SLOT = 15 * 60_000;
/** zone -> 15-minute slot number (a small integer: no key string built per call) -> offset */
const offsetMemo = new Map<string, Map<number, number>>();

/**
 * Offset of `tz` from UTC at instant `t`, in ms (Asia/Shanghai: +8h). Offsets are multiples of 15 minutes and change
 * on 15-minute boundaries, so the offset is looked up once per zone and 15-minute slot (memoized, bounded).
 */
export function tzOffset(t: number, tz: string): number {
  const slot = Math.floor(t / SLOT);
  let zone = offsetMemo.get(tz);
  if (zone === undefined) {
    if (offsetMemo.size >= 64) offsetMemo.clear(); // zones come from the config and from queries' `tz`
    offsetMemo.set(tz, (zone = new Map()));
  }
  let off = zone.get(slot);
  if (off === undefined) {
    if (zone.size >= 100_000) zone.clear();
    off = intlOffset(slot * SLOT, tz);
    zone.set(slot, off);
  }
  return off;
}

/**
 * The canonical name of time zone `tz` as Intl knows it (`asia/shanghai` -> `Asia/Shanghai`, `Etc/UTC` -> `UTC`), or
 * null when Intl knows no such zone.
 */
export function canonicalTimeZone(tz: string): string | null {
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: tz }).resolvedOptions().timeZone;
  } catch {
    return null;
  }
}

/** Wall-clock parts of instant `t` in `tz`. */
export function localParts(t: number, tz: string): { y: number; mo: number; d: number; h: number; mi: number; s: number } {
  const d = new Date(Math.floor(t / 1000) * 1000 + tzOffset(t, tz));
  return { y: d.getUTCFullYear(), mo: d.getUTCMonth() + 1, d: d.getUTCDate(), h: d.getUTCHours(), mi: d.getUTCMinutes(), s: d.getUTCSeconds() };
}

/** The instant at which local wall time y-mo-d h:00 occurs in `tz` (first occurrence across DST changes). */
export function localToInstant(y: number, mo: number, d: number, h: number, tz: string): number {
  const guess = Date.UTC(y, mo - 1, d, h);
  let t = guess - tzOffset(guess, tz);
  t = guess - tzOffset(t, tz);
  return t;
}

/** Bucket sizes for spend reports. */
export type BucketUnit = 'hour' | 'day' | 'month';

/** Start of the bucket containing `t`, in `tz`. */
export function bucketStart(t: number, unit: BucketUnit, tz: string): number {
  const p = localParts(t, tz);
  if (unit === 'hour') return localToInstant(p.y, p.mo, p.d, p.h, tz);
  if (unit === 'day') return localToInstant(p.y, p.mo, p.d, 0, tz);
  return localToInstant(p.y, p.mo, 1, 0, tz);
}

/** Start of the bucket after the one starting at `start`. */
export function nextBucket(start: number, unit: BucketUnit, tz: string): number {
  if (unit === 'hour') return start + HOUR;
  const p = localParts(start, tz);
  if (unit === 'day') {
    const n = new Date(Date.UTC(p.y, p.mo - 1, p.d + 1));
    return localToInstant(n.getUTCFullYear(), n.getUTCMonth() + 1, n.getUTCDate(), 0, tz);
  }
  const n = new Date(Date.UTC(p.y, p.mo, 1));
  return localToInstant(n.getUTCFullYear(), n.getUTCMonth() + 1, 1, 0, tz);
}

/** Bucket starts covering [from, to): the first is the bucket containing `from`. */
export function bucketStarts(from: number, to: number, unit: BucketUnit, tz: string): number[] {
  const out: number[] = [];
  for (let s = bucketStart(from, unit, tz); s < to; s = nextBucket(s, unit, tz)) {
    out.push(s);
    if (out.length > 100_000) throw new RangeError('too many buckets');
  }
  return out;
}

/** The latest instant the guard accepts or shows: 9999-12-31T23:59:59.999Z (ISO 8601 has four-digit years). */
export const MAX_TIME = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/** Whether `t` is an instant the guard accepts and can render: finite epoch ms from 1970 to the year 9999. */
export function isTime(t: number): boolean {
  return Number.isFinite(t) && t >= 0 && t <= MAX_TIME;
}

/** Format an instant as ISO 8601 with the offset of `tz` (e.g. 2026-11-26T00:00:00+08:00). */
export function isoInTz(t: number, tz: string): string {
  const off = tzOffset(t, tz);
  return new Date(t + off).toISOString().slice(0, 19) + offsetSuffix(off);
}

/** "+08:00" for an offset of 8 h (ms), written once per offset (answers format thousands of instants). */
const suffixes = new Map<number, string>();
function offsetSuffix(off: number): string {
  let s = suffixes.get(off);
  if (s === undefined) {
    const a = Math.abs(off) / 60_000;
    suffixes.set(off, (s = `${off >= 0 ? '+' : '-'}${String(Math.floor(a / 60)).padStart(2, '0')}:${String(a % 60).padStart(2, '0')}`));
  }
  return s;
}

/** Round yuan to 4 decimals for storage/reporting (display uses 2). */
export function round4(x: number): number {
  return Math.round(x * 10_000) / 10_000;
}

/** Hours of balance left at `burn` ¥/h: 0 at or below ¥0, Infinity when nothing burns. */
export function runwayHours(balance: number, burn: number): number {
  if (balance <= 0) return 0;
  if (burn <= 0) return Infinity;
  return balance / burn;
}

/**
 * The one balance model every surface shows (card, alerts, emails, runway): the balance the API answered and when,
 * and ≈ now, an estimate that takes off what accrued since the platform's last (hourly, in arrears) debit.
 */
export interface BalanceFigures {
  /** the balance the API answered (yuan) */
  observed: number;
  /** when it answered */
  observedAt: number;
  /** yuan accrued since the platform's last debit: owed already, not yet taken */
  unbilled: number;
  /** ≈ now: observed − unbilled (an estimate) */
  estimate: number;
  /** yuan per hour billed now */
  burn: number;
  /** hours the estimate lasts at `burn` (runwayHours) */
  runwayHours: number;
}

/** The balance figures from an observation, what accrued since the last debit, and the burn rate. */
export function balanceFigures(observed: number, observedAt: number, unbilled: number, burn: number): BalanceFigures {
  const estimate = Math.round((observed - unbilled) * 100) / 100;
  return { observed, observedAt, unbilled, estimate, burn, runwayHours: runwayHours(estimate, burn) };
}

/** Yuan to top up so the estimate lasts `hours` at `burn` (0 when it already does). */
export function topUpFor(f: BalanceFigures, hours: number): number {
  return Math.max(0, Math.round((f.burn * hours - f.estimate) * 100) / 100);
}
