// money.ts's offsets of a time zone, memoized per zone and 15-minute slot: the same as their source's (the tz
// database's, else Intl's) from any order of asks.
import { describe, expect, it } from 'vitest';
import { isoInTz, tzOffset } from '../../src/money.js';
import { tzdbZone } from '../../src/tzdb.js';
import { seededRandom } from '../../src/bench/stats.js';

/** Intl's own answer, without any memo: local wall time minus the instant, in ms. */
function intl(t: number, tz: string): number {
  const p: Record<string, number> = {};
  const f = new Intl.DateTimeFormat('en-US', { timeZone: tz, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
  for (const part of f.formatToParts(new Date(t))) if (part.type !== 'literal') p[part.type] = Number(part.value);
  return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second) - Math.floor(t / 1000) * 1000;
}

/** Where money.ts takes a zone's offsets, without its memo: the system's tz database, else Intl. */
const source = (t: number, tz: string) => tzdbZone(tz)?.(t) ?? intl(t, tz);

describe('tzOffset', () => {
  it("answers its source's offset for many zones asked in turn, across daylight-saving changes and the memo's bounds", () => {
    const zones = Intl.supportedValuesOf('timeZone').slice(0, 90); // more zones than the memo keeps at once
    zones.push('Asia/Shanghai', 'America/New_York', 'Europe/Berlin', 'Australia/Lord_Howe', 'Asia/Kathmandu', 'UTC');
    const r = seededRandom(11);
    const from = Date.UTC(2025, 0, 1);
    for (let k = 0; k < 3000; k++) {
      const tz = zones[Math.floor(r() * zones.length)];
      const t = from + Math.floor(r() * 2 * 365 * 86_400_000);
      expect({ tz, t, off: tzOffset(t, tz) }).toEqual({ tz, t, off: source(t, tz) });
    }
    // at a change: New York springs forward at 07:00 UTC on 2026-03-08
    expect(isoInTz(Date.UTC(2026, 2, 8, 6, 59, 59), 'America/New_York')).toBe('2026-03-08T01:59:59-05:00');
    expect(isoInTz(Date.UTC(2026, 2, 8, 7), 'America/New_York')).toBe('2026-03-08T03:00:00-04:00');
  });
});
