// money.ts's offsets of a time zone, from Intl, memoized per zone and 15-minute slot: the same as Intl's own answer
// from any order of asks; and zone names made canonical.
import { describe, expect, it } from 'vitest';
import { canonicalTimeZone, isoInTz, tzOffset } from '../../src/money.js';
import { seededRandom } from '../../src/bench/stats.js';

/** Intl's own answer, without any memo: local wall time minus the instant, in ms. */
function intl(t: number, tz: string): number {
  const p: Record<string, number> = {};
  const f = new Intl.DateTimeFormat('en-US', { timeZone: tz, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
  for (const part of f.formatToParts(new Date(t))) if (part.type !== 'literal') p[part.type] = Number(part.value);
  return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second) - Math.floor(t / 1000) * 1000;
}

describe('time zones from Intl', () => {
  it("answers Intl's offset for many zones asked in turn, across daylight-saving changes and the memo's bounds", () => {
    const zones = Intl.supportedValuesOf('timeZone').slice(0, 90); // more zones than the memo keeps at once
    zones.push('Asia/Shanghai', 'America/New_York', 'Europe/Berlin', 'Australia/Lord_Howe', 'Asia/Kathmandu', 'UTC');
    const r = seededRandom(11);
    const from = Date.UTC(2025, 0, 1);
    for (let k = 0; k < 3000; k++) {
      const tz = zones[Math.floor(r() * zones.length)];
      const t = from + Math.floor(r() * 2 * 365 * 86_400_000);
      expect({ tz, t, off: tzOffset(t, tz) }).toEqual({ tz, t, off: intl(t, tz) });
    }
    // at a change: New York springs forward at 07:00 UTC on 2026-03-08
    expect(isoInTz(Date.UTC(2026, 2, 8, 6, 59, 59), 'America/New_York')).toBe('2026-03-08T01:59:59-05:00');
    expect(isoInTz(Date.UTC(2026, 2, 8, 7), 'America/New_York')).toBe('2026-03-08T03:00:00-04:00');
  });

  it('names zones as Intl does, whatever the letter case, and knows no other', () => {
    expect(canonicalTimeZone('asia/shanghai')).toBe('Asia/Shanghai');
    expect(canonicalTimeZone('Asia/Shanghai')).toBe('Asia/Shanghai');
    expect(canonicalTimeZone('AMERICA/NEW_YORK')).toBe('America/New_York');
    expect(canonicalTimeZone('utc')).toBe('UTC');
    for (const bad of ['Mars/Olympus_Mons', '', ' Asia/Shanghai', '+08:00', '../../etc/passwd', 'posix/Asia/Shanghai']) expect(canonicalTimeZone(bad), bad).toBeNull();
  });
});
