// Offsets from the system's tz database (src/tzdb.ts): the same as Intl's for every zone Intl knows, from files only
// (no ICU for a zone the database has), and nothing read outside the database.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { posixRule, tzdbZone } from '../../src/tzdb.js';
import { isTimeZone, tzOffset } from '../../src/money.js';
import { tempDir } from '../helpers/proc.js';

const ZONEINFO = '/usr/share/zoneinfo';
const hasTzdata = existsSync(join(ZONEINFO, 'UTC'));
if (!hasTzdata && process.env.REQUIRE_SYSTEM_DEPS === '1') throw new Error(`${ZONEINFO} is missing (REQUIRE_SYSTEM_DEPS=1): install the Debian package "tzdata"`);
if (!hasTzdata) console.warn(`skipping the tz database comparisons: ${ZONEINFO} is missing (install the Debian package "tzdata")`);

const formats = new Map<string, Intl.DateTimeFormat>();
/** Intl's own answer: local wall time minus the instant, in ms. */
function intl(t: number, tz: string): number {
  const p: Record<string, number> = {};
  let f = formats.get(tz);
  if (!f) formats.set(tz, (f = new Intl.DateTimeFormat('en-US', { timeZone: tz, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' })));
  for (const part of f.formatToParts(new Date(t))) if (part.type !== 'literal') p[part.type] = Number(part.value);
  return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second) - Math.floor(t / 1000) * 1000;
}

const H = 3_600_000;

afterEach(() => {
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
});

describe.skipIf(!hasTzdata)('tz database offsets', () => {
  it("answer glibc's offsets on both sides of every transition 2000-2060, for every zone Intl knows (zdump, the same files)", () => {
    // The oracle reads the same database: Node's ICU carries its own copy, of another release (Morocco's 2026 change
    // is in Debian's tzdata 2026f and not in Node 20's ICU, tz 2025c), so Intl is compared below only where both agree.
    const zones = Intl.supportedValuesOf('timeZone');
    expect(zones.length).toBeGreaterThan(300);
    const out = execFileSync('zdump', ['-v', '-c', '2000,2061', ...zones], { encoding: 'utf8', maxBuffer: 64 << 20 });
    const MON = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
    const wrong: string[] = [];
    let n = 0;
    for (const line of out.split('\n')) {
      const m = /^(\S+)\s+\w{3} (\w{3})\s+(\d+) (\d\d):(\d\d):(\d\d) (\d{4}) UT = .* gmtoff=(-?\d+)$/.exec(line);
      if (!m) continue;
      const t = Date.UTC(Number(m[7]), MON.indexOf(m[2]), Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
      const z = tzdbZone(m[1]);
      n++;
      if (!z || z(t) !== Number(m[8]) * 1000) wrong.push(`${m[1]} at ${new Date(t).toISOString()}: ${z ? z(t) : 'no file'} vs ${Number(m[8]) * 1000}`);
    }
    expect(n).toBeGreaterThan(10_000);
    expect(wrong).toEqual([]);
    for (const tz of zones) expect({ tz, file: tzdbZone(tz) !== null }).toEqual({ tz, file: true });
  });

  it('change at the instants Intl changes, across daylight saving, hour by hour (northern, southern, half-hour, 26 h rules; zones whose rules both releases share)', () => {
    for (const tz of ['America/New_York', 'Europe/Berlin', 'Australia/Sydney', 'Australia/Lord_Howe', 'Asia/Jerusalem', 'Pacific/Chatham']) {
      const z = tzdbZone(tz)!;
      for (const y of [2026, 2041]) {
        for (let t = Date.UTC(y, 0, 1); t < Date.UTC(y + 1, 0, 1); t += H) if (z(t) !== intl(t, tz)) expect({ tz, at: new Date(t).toISOString(), off: z(t) }).toEqual({ tz, at: new Date(t).toISOString(), off: intl(t, tz) });
      }
    }
  });

  it('money.ts takes offsets from the database, building no Intl formatter for a zone it has', () => {
    formats.clear();
    const spy = vi.spyOn(Intl, 'DateTimeFormat');
    expect(tzOffset(Date.UTC(2026, 6, 1, 12), 'Asia/Shanghai')).toBe(8 * H);
    expect(tzOffset(Date.UTC(2026, 6, 1, 12), 'America/Denver')).toBe(-6 * H);
    expect(isTimeZone('Europe/Paris')).toBe(true);
    expect(spy).not.toHaveBeenCalled();
  });
});

describe('tz database reads', () => {
  it('never read outside the database: paths, dot segments, leap-second and POSIX copies are not zones', () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'db'));
    // a valid TZif file (no transitions, footer UTC0) beside the database, not in it
    const tzif = (v: string) => Buffer.concat([Buffer.from('TZif' + v), Buffer.alloc(15), Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 4]), Buffer.from([0, 0, 0, 0, 0, 0]), Buffer.from('UTC\0')]);
    writeFileSync(join(dir, 'Outside'), Buffer.concat([tzif('2'), tzif('2'), Buffer.from('\nUTC0\n')]));
    writeFileSync(join(dir, 'db', 'Inside'), Buffer.concat([tzif('2'), tzif('2'), Buffer.from('\nUTC0\n')]));
    vi.stubEnv('TZDIR', join(dir, 'db'));
    expect(tzdbZone('Inside')!(0)).toBe(0);
    expect(tzdbZone('../Outside')).toBeNull();
    expect(tzdbZone(join(dir, 'Outside'))).toBeNull();
    for (const bad of ['../../etc/passwd', '/etc/localtime', 'Asia/../../../etc/passwd', '.hidden', 'right/UTC', 'posix/Asia/Shanghai', 'Asia//Shanghai', '', 'a'.repeat(65)]) expect(tzdbZone(bad)).toBeNull();
  });

  it('a file that is not TZif is no zone: money.ts falls back to Intl and answers right', () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'Asia'));
    writeFileSync(join(dir, 'Asia', 'Tokyo'), 'not a TZif file at all, just text\n'.repeat(4));
    vi.stubEnv('TZDIR', dir);
    expect(tzdbZone('Asia/Tokyo')).toBeNull();
    expect(tzOffset(Date.UTC(2026, 1, 1), 'Asia/Tokyo')).toBe(9 * H);
    expect(isTimeZone('Asia/Tokyo')).toBe(true);
    expect(isTimeZone('Mars/Olympus_Mons')).toBe(false);
  });
});

describe('POSIX TZ rules', () => {
  it('read fixed offsets, M, J and zero-based day rules, and times past 24 h or negative', () => {
    expect(posixRule('CST-8')!(0)).toBe(8 * H);
    expect(posixRule('<+0545>-5:45')!(0)).toBe(5.75 * H);
    expect(posixRule('<-03>3')!(0)).toBe(-3 * H);
    const ny = posixRule('EST5EDT,M3.2.0,M11.1.0')!;
    expect(ny(Date.UTC(2030, 2, 10, 6, 59))).toBe(-5 * H); // second Sunday of March 2030 is the 10th; 02:00 EST = 07:00 UTC
    expect(ny(Date.UTC(2030, 2, 10, 7))).toBe(-4 * H);
    expect(ny(Date.UTC(2030, 10, 3, 5, 59))).toBe(-4 * H); // first Sunday of November: 02:00 EDT = 06:00 UTC
    expect(ny(Date.UTC(2030, 10, 3, 6))).toBe(-5 * H);
    const south = posixRule('<-04>4<-03>,M9.1.6/24,M4.1.6/24')!; // Santiago: DST across the new year
    expect(south(Date.UTC(2030, 0, 15))).toBe(-3 * H);
    expect(south(Date.UTC(2030, 6, 15))).toBe(-4 * H);
    const il = posixRule('IST-2IDT,M3.4.4/26,M10.5.0')!; // Friday before the last Sunday of March, 02:00
    expect(il(Date.UTC(2030, 2, 28, 23, 59))).toBe(2 * H); // 2030-03-29 02:00 local (the 4th Thursday, the 28th, + 26 h)
    expect(il(Date.UTC(2030, 2, 29, 0))).toBe(3 * H);
    const j = posixRule('AAA0BBB,J60/0,J300/0')!; // J60 is March 1 in every year, leap or not
    expect(j(Date.UTC(2032, 1, 29, 12))).toBe(0);
    expect(j(Date.UTC(2032, 2, 1, 0, 0, 1))).toBe(H);
    const z = posixRule('AAA0BBB,59/0,300/0')!; // zero-based: day 59 is February 29 in a leap year
    expect(z(Date.UTC(2032, 1, 28, 12))).toBe(0);
    expect(z(Date.UTC(2032, 1, 29, 0, 0, 1))).toBe(H);
  });

  it('refuse what they cannot read (no rule guessed for daylight time without one)', () => {
    for (const bad of ['', 'X-8', 'EST5EDT', 'EST5EDT,M13.1.0,M11.1.0', 'EST5EDT,M3.2.0', 'CST-8x', 'EST5EDT,J0,J400']) expect(posixRule(bad)).toBeNull();
  });
});
