/**
 * Cron occurrences in a time zone, for schedule policies and jobs: `0 2 * * *` in Asia/Shanghai is 02:00 there every day.
 *
 * Five fields (minute hour day-of-month month day-of-week) or six with a second first; each field a list of values,
 * ranges `a-b` and steps `* /n`, `a-b/n`, `a/n` (from a to the field's end); months and weekdays also by name
 * (jan-dec, sun-sat), a weekday as 0-7 (0 and 7 are Sunday), `?` as `*`. When both day fields are restricted, a day
 * matching either one matches (as in Vixie cron); a day field is unrestricted only when it is `*` or `?`.
 *
 * Wall times are turned into instants with the zone's offset (money.ts `tzOffset`): a wall time the clock skips
 * (the hour lost when daylight saving starts) occurs at the instant the skip lands on, shifted forward by the gap;
 * a wall time the clock repeats (the hour gained when it ends) occurs once, at its first instant, unless the
 * expression runs every hour: then at both, as it runs in real time through the repeated hour (as Vixie cron does).
 *
 * It does the time zone arithmetic with money.ts's `tzOffset` (the system's tz database, src/tzdb.ts), instead of a
 * date library's own (cron-parser through luxon loaded ICU's data and half a megabyte of source into the daemon:
 * bench/RESULTS.md). The jobs' scheduler (src/jobs/scheduler.ts) reads its schedules here too.
 */
import { CRON_LAYOUT, FIVE, SECOND as F_SECOND, explainCron, type Field } from './config/cron.js';
import { tzOffset } from './money.js';

/** A parsed cron expression: the allowed values of each field. */
export interface CronSpec {
  seconds: number[];
  minutes: number[];
  hours: number[];
  /** index 1-31 */
  dom: boolean[];
  /** index 1-12 */
  months: boolean[];
  /** index 0-6, Sunday 0 */
  dow: boolean[];
  domRestricted: boolean;
  dowRestricted: boolean;
  /** every hour: a repeated wall time occurs at both its instants (it runs in real time through the repeated hour) */
  everyHour: boolean;
}

const [F_MINUTE, F_HOUR, F_DOM, F_MONTH, F_DOW] = FIVE;

/** A cron expression this module does not accept; the message names the field at fault. */
export class CronError extends Error {}

function valueOf(f: Field, s: string, expr: string): number {
  let v: number;
  if (/^\d+$/.test(s)) v = Number(s);
  else {
    const i = f.names?.indexOf(s.toLowerCase()) ?? -1;
    if (i < 0) throw bad(expr);
    v = i + f.min;
  }
  if (v < f.min || v > f.max) throw bad(expr);
  return v;
}

function bad(expr: string): CronError {
  return new CronError(`bad cron expression "${expr}": ${explainCron(expr) ?? `not understood; expected ${CRON_LAYOUT}`}`);
}

/** The values one field's text allows, sorted, and whether it is unrestricted. */
function field(f: Field, text: string, expr: string): { values: number[]; star: boolean } {
  const set = new Set<number>();
  for (const part of text.split(',')) {
    const m = /^([^/]+)(?:\/(\d+))?$/.exec(part);
    if (!m) throw bad(expr);
    const step = m[2] === undefined ? 1 : Number(m[2]);
    if (step < 1) throw bad(expr);
    let lo: number;
    let hi: number;
    if (m[1] === '*' || m[1] === '?') [lo, hi] = [f.min, f.max];
    else {
      const ends = m[1].split('-');
      if (ends.length > 2) throw bad(expr);
      lo = valueOf(f, ends[0], expr);
      hi = ends.length === 2 ? valueOf(f, ends[1], expr) : m[2] === undefined ? lo : f.max;
      if (hi < lo) throw bad(expr);
    }
    for (let v = lo; v <= hi; v += step) set.add(v);
  }
  const values = [...set].sort((a, b) => a - b);
  return { values, star: text === '*' || text === '?' };
}

/** Parse a five- or six-field cron expression; throws CronError naming the field at fault. */
export function parseCron(expr: string): CronSpec {
  const parts = expr.trim().split(/\s+/).filter(Boolean);
  if (parts.length !== 5 && parts.length !== 6) throw bad(expr);
  const [sec, min, hour, dom, month, dow] = parts.length === 6 ? parts : ['0', ...parts];
  const d = field(F_DOW, dow, expr);
  const dm = field(F_DOM, dom, expr);
  const flags = (values: number[], size: number, map = (v: number) => v) => {
    const a = new Array<boolean>(size).fill(false);
    for (const v of values) a[map(v)] = true;
    return a;
  };
  const hours = field(F_HOUR, hour, expr).values;
  return {
    seconds: field(F_SECOND, sec, expr).values,
    minutes: field(F_MINUTE, min, expr).values,
    hours,
    dom: flags(dm.values, 32),
    months: flags(field(F_MONTH, month, expr).values, 13),
    dow: flags(d.values, 7, (v) => v % 7),
    domRestricted: !dm.star,
    dowRestricted: !d.star,
    everyHour: hours.length === 24,
  };
}

const DAY = 86_400_000;
/** No zone's offset changes twice within this long of a day (so offsets equal at both ends mean none inside). */
const SPAN = 14 * 3_600_000;
/** Further than any daylight saving gap shifts a wall time. */
const SHIFT = 4 * 3_600_000;
/** How far to look for an occurrence (`0 0 30 2 *` never comes). */
const HORIZON_DAYS = 366 * 5;

/**
 * The instants at which wall time `w` (ms since the epoch as if the zone were UTC) occurs in `tz`: one, or two when
 * the clock repeats it (the first only unless `both`); a wall time the clock skips counts as the gap's end shifted
 * forward by the gap (02:30 in a 02:00-03:00 gap at 03:30).
 */
function instantsOf(w: number, tz: string, both: boolean): number[] {
  const near = w - tzOffset(w, tz); // within an offset change of the answer: at most one change lies within SHIFT
  const before = w - tzOffset(near - SHIFT, tz);
  const after = w - tzOffset(near + SHIFT, tz);
  if (before === after) return [before];
  const hits = [before, after].filter((t) => t + tzOffset(t, tz) === w).sort((x, y) => x - y);
  if (hits.length === 0) return [before];
  return both ? hits : hits.slice(0, 1);
}

function dayMatches(c: CronSpec, day: number): boolean {
  const d = new Date(day);
  if (!c.months[d.getUTCMonth() + 1]) return false;
  const dom = c.dom[d.getUTCDate()];
  const dow = c.dow[d.getUTCDay()];
  if (c.domRestricted && c.dowRestricted) return dom || dow;
  return (!c.domRestricted || dom) && (!c.dowRestricted || dow);
}

/** Wall times of one matching day, in order (`desc`: latest first). */
function* wallTimes(c: CronSpec, day: number, desc: boolean): Generator<number> {
  const [hs, ms, ss] = desc ? [c.hours.toReversed(), c.minutes.toReversed(), c.seconds.toReversed()] : [c.hours, c.minutes, c.seconds];
  for (const h of hs) for (const m of ms) for (const s of ss) yield day + h * 3_600_000 + m * 60_000 + s * 1000;
}

/** The first occurrence strictly after `t` in `tz`, or null when there is none within five years. */
export function cronNext(c: CronSpec, t: number, tz: string): number | null {
  const wallT = t + tzOffset(t, tz);
  const first = Math.floor(wallT / DAY) * DAY - DAY; // the day before: a repeated hour can map back across midnight
  for (let k = 0, day = first; k < HORIZON_DAYS; k++, day += DAY) {
    if (!dayMatches(c, day)) continue;
    // where the zone's offset holds all day, instants follow wall times: the first one after t is the earliest
    const steady = tzOffset(day - SPAN, tz) === tzOffset(day + DAY + SPAN, tz);
    let best: number | null = null;
    for (const w of wallTimes(c, day, false)) {
      if (w < wallT - SHIFT) continue;
      if (best !== null && w > best + tzOffset(best, tz) + SHIFT) break;
      for (const at of instantsOf(w, tz, !steady && c.everyHour))
        if (at > t && (best === null || at < best)) best = at;
      if (steady && best !== null) break;
    }
    if (best !== null) return best;
  }
  return null;
}

/** The latest occurrence at or before `t` in `tz`, or null when there is none within five years. */
export function cronPrev(c: CronSpec, t: number, tz: string): number | null {
  const wallT = t + tzOffset(t, tz);
  const first = Math.floor(wallT / DAY) * DAY + DAY; // the day after, as in cronNext
  for (let k = 0, day = first; k < HORIZON_DAYS; k++, day -= DAY) {
    if (!dayMatches(c, day)) continue;
    const steady = tzOffset(day - SPAN, tz) === tzOffset(day + DAY + SPAN, tz);
    let best: number | null = null;
    for (const w of wallTimes(c, day, true)) {
      if (w > wallT + SHIFT) continue;
      if (best !== null && w < best + tzOffset(best, tz) - SHIFT) break;
      for (const at of instantsOf(w, tz, !steady && c.everyHour))
        if (at <= t && (best === null || at > best)) best = at;
      if (steady && best !== null) break;
    }
    if (best !== null) return best;
  }
  return null;
}
