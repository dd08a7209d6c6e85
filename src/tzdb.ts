/**
 * Time zone offsets from the system's tz database (`/usr/share/zoneinfo`, or `TZDIR`), read from its TZif files
 * (RFC 8536) without ICU. The first `Intl.DateTimeFormat` a process builds pages in about 10 MB of ICU's data and
 * code and keeps them (bench/RESULTS.md, 2026-12-02): the daemon asks offsets of one or two zones, which a TZif file
 * answers from a few kilobytes. money.ts falls back to Intl for a zone without a readable file here (a name in
 * another case, a machine without tzdata).
 *
 * A file lists the zone's transitions and the local time types between them; past the last one, its footer's POSIX
 * TZ string (`CST-8`, `EST5EDT,M3.2.0,M11.1.0`) gives the rule for every later year.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Offset from UTC (ms) of one zone at an instant (ms). */
export type ZoneOffset = (t: number) => number;

/** Where the tz database is: glibc's `TZDIR` if set, else Debian's (and most systems') place. */
function tzDir(): string {
  return process.env.TZDIR || '/usr/share/zoneinfo';
}

/**
 * A zone name that can only name a file inside the database: segments of letters, digits, `_`, `+`, `-`, none
 * starting with `.` or `-`; not the `posix/` and `right/` copies (the latter count leap seconds).
 */
const ZONE_NAME = /^(?!posix\/|right\/)[A-Za-z0-9_+][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+][A-Za-z0-9_+-]*){0,2}$/;

const cache = new Map<string, ZoneOffset | null>();

/** The zone's offsets from its TZif file, or null when there is no such file or it cannot be read as one. */
export function tzdbZone(tz: string): ZoneOffset | null {
  let z = cache.get(tz);
  if (z === undefined) {
    z = null;
    if (tz.length <= 64 && ZONE_NAME.test(tz)) {
      try {
        z = parseTzif(readFileSync(join(tzDir(), tz)));
      } catch {
        z = null;
      }
    }
    if (cache.size >= 64) cache.clear(); // names come from the config and from queries' `tz`
    cache.set(tz, z);
  }
  return z;
}

/** Parse a TZif file (version 1 to 4) into an offset function; null if it is not one. */
export function parseTzif(b: Buffer): ZoneOffset | null {
  if (b.length < 44 || b.toString('latin1', 0, 4) !== 'TZif') return null;
  const version = b[4] === 0 ? 1 : b[4] - 0x30;
  const counts = (at: number) => ({ isut: b.readUInt32BE(at + 20), isstd: b.readUInt32BE(at + 24), leap: b.readUInt32BE(at + 28), time: b.readUInt32BE(at + 32), type: b.readUInt32BE(at + 36), char: b.readUInt32BE(at + 40) });
  let at = 0;
  let c = counts(0);
  let timeSize = 4;
  if (version >= 2) {
    // skip the 32-bit block: the 64-bit one after it is complete
    at = 44 + c.time * 4 + c.time + c.type * 6 + c.char + c.leap * 8 + c.isstd + c.isut;
    if (b.length < at + 44 || b.toString('latin1', at, at + 4) !== 'TZif') return null;
    c = counts(at);
    timeSize = 8;
  }
  if (c.type === 0 || c.leap !== 0) return null; // no types, or leap-second-counting times: not a zone we read
  let p = at + 44;
  const end = p + c.time * timeSize + c.time + c.type * 6 + c.char + c.leap * (timeSize + 4) + c.isstd + c.isut;
  if (b.length < end) return null;
  const times: number[] = [];
  for (let i = 0; i < c.time; i++, p += timeSize) times.push(timeSize === 8 ? Number(b.readBigInt64BE(p)) * 1000 : b.readInt32BE(p) * 1000);
  const idx: number[] = [];
  for (let i = 0; i < c.time; i++, p++) idx.push(b[p]);
  const offs: number[] = [];
  for (let i = 0; i < c.type; i++, p += 6) offs.push(b.readInt32BE(p) * 1000);
  if (idx.some((i) => i >= c.type)) return null;
  let rule: ZoneOffset | null = null;
  if (version >= 2) {
    const nl = b.indexOf(0x0a, end + 1);
    const footer = b[end] === 0x0a && nl > end ? b.toString('latin1', end + 1, nl) : '';
    if (footer) {
      rule = posixRule(footer);
      if (!rule) return null;
    }
  }
  const first = offs[0];
  return (t: number) => {
    if (times.length === 0 || t < times[0]) return rule && times.length === 0 ? rule(t) : first;
    if (t >= times[times.length - 1] && rule) return rule(t);
    let lo = 0;
    let hi = times.length - 1; // times[lo] <= t; find the last such
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (times[mid] <= t) lo = mid;
      else hi = mid - 1;
    }
    return offs[idx[lo]];
  };
}

const DAY = 86_400_000;

/** `[+-]hh[:mm[:ss]]` in ms, or NaN. */
function hms(s: string): number {
  const m = /^([+-]?)(\d{1,3})(?::(\d{2}))?(?::(\d{2}))?$/.exec(s);
  if (!m) return NaN;
  const v = ((Number(m[2]) * 60 + Number(m[3] ?? 0)) * 60 + Number(m[4] ?? 0)) * 1000;
  return m[1] === '-' ? -v : v;
}

/** A transition date rule of a POSIX TZ string: the day (ms since 1970-01-01, local) it falls on in `year`. */
type DateRule = (year: number) => number;

function dateRule(s: string): DateRule | null {
  let m = /^M(\d{1,2})\.(\d)\.(\d)$/.exec(s);
  if (m) {
    const [mo, w, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
    if (mo < 1 || mo > 12 || w < 1 || w > 5 || d > 6) return null;
    return (y) => {
      const first = Date.UTC(y, mo - 1, 1);
      let day = first + (((d - new Date(first).getUTCDay() + 7) % 7) + (w - 1) * 7) * DAY;
      const next = Date.UTC(y, mo, 1);
      while (day >= next) day -= 7 * DAY; // week 5: the last such weekday of the month
      return day;
    };
  }
  m = /^J(\d{1,3})$/.exec(s);
  if (m) {
    const n = Number(m[1]); // 1-365, February 29 never counted
    if (n < 1 || n > 365) return null;
    return (y) => {
      const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
      return Date.UTC(y, 0, 1) + (n - 1 + (leap && n >= 60 ? 1 : 0)) * DAY;
    };
  }
  m = /^(\d{1,3})$/.exec(s);
  if (m) {
    const n = Number(m[1]); // 0-365, February 29 counted
    if (n > 365) return null;
    return (y) => Date.UTC(y, 0, 1) + n * DAY;
  }
  return null;
}

/**
 * A POSIX TZ string's offsets (`std offset [dst [offset] [,start[/time],end[/time]]]`), as TZif footers write them:
 * names alphabetic or in angle brackets, offsets west-positive. Null if it is not one this reads.
 */
export function posixRule(tz: string): ZoneOffset | null {
  const m = /^(<[^>]+>|[A-Za-z]{3,})([^<A-Za-z,]+)(?:(<[^>]+>|[A-Za-z]{3,})([^<A-Za-z,]+)?(?:,([^,/]+)(?:\/([^,]+))?,([^,/]+)(?:\/([^,]+))?)?)?$/.exec(tz);
  if (!m) return null;
  const std = 0 - hms(m[2]); // west-positive; 0 - x: never -0
  if (Number.isNaN(std)) return null;
  if (!m[3]) return () => std;
  const dst = m[4] === undefined ? std + 3_600_000 : 0 - hms(m[4]);
  if (Number.isNaN(dst) || !m[5] || !m[7]) return null; // DST without a rule: no default rule is assumed
  const start = dateRule(m[5]);
  const end = dateRule(m[7]);
  const startAt = m[6] === undefined ? 7_200_000 : hms(m[6]);
  const endAt = m[8] === undefined ? 7_200_000 : hms(m[8]);
  if (!start || !end || Number.isNaN(startAt) || Number.isNaN(endAt)) return null;
  return (t) => {
    const y = new Date(t + std).getUTCFullYear();
    // a start is given in standard time, an end in daylight time; both as UTC instants
    const s = start(y) + startAt - std;
    const e = end(y) + endAt - dst;
    const inDst = s < e ? t >= s && t < e : !(t >= e && t < s);
    return inDst ? dst : std;
  };
}
