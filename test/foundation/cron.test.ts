// Schedule policies' cron occurrences in a time zone (croner, read as every cron of the config is), across
// daylight-saving changes, and the extensions croner reads.
import { describe, expect, it } from 'vitest';
import { nextOccurrence as next, prevOccurrence as prev } from '../../src/policies/schedule.js';
import { isoInTz } from '../../src/money.js';

const NY = 'America/New_York';
const SH = 'Asia/Shanghai';
/** The instants of the next `n` occurrences after `from`, as wall times with offsets in `tz`. */
function nextN(expr: string, from: string, tz: string, n: number): string[] {
  const out: string[] = [];
  for (let t: number | null = Date.parse(from); out.length < n && t !== null; ) {
    t = next(expr, t, tz);
    if (t !== null) out.push(isoInTz(t, tz));
  }
  return out;
}

describe('cron occurrences in a time zone', () => {
  it('schedule nightly and weekday crons where a person expects them', () => {
    const t = Date.parse('2026-12-02T10:04:00+08:00'); // a Wednesday
    expect(next('0 2 * * *', t, SH)).toBe(Date.parse('2026-12-03T02:00:00+08:00'));
    expect(prev('0 2 * * *', t, SH)).toBe(Date.parse('2026-12-02T02:00:00+08:00'));
    expect(prev('4 10 * * *', t, SH)).toBe(t); // at or before
    expect(prev('4 10 * * *', t + 999, SH)).toBe(t);
    expect(prev('4 10 * * *', t - 1, SH)).toBe(t - 86_400_000);
    expect(next('4 10 * * *', t, SH)).toBe(t + 86_400_000); // strictly after
    expect(next('4 10 * * *', t - 1, SH)).toBe(t);
    expect(next('50 8 * * 1-5', Date.parse('2026-12-04T09:00:00+08:00'), SH)).toBe(Date.parse('2026-12-07T08:50:00+08:00'));
    expect(next('0 9 * * SUN', t, SH)).toBe(Date.parse('2026-12-06T09:00:00+08:00'));
    expect(next('0 9 * * 7', t, SH)).toBe(Date.parse('2026-12-06T09:00:00+08:00'));
    expect(next('0 2 * * *', t, 'UTC')).toBe(Date.parse('2026-12-03T02:00:00Z'));
    // both day fields restricted: either matches (the 1st, or a Monday)
    expect(nextN('0 0 1 * mon', '2026-12-02T10:04:00+08:00', SH, 3)).toEqual(['2026-12-07T00:00:00+08:00', '2026-12-14T00:00:00+08:00', '2026-12-21T00:00:00+08:00']);
    expect(next('0 0 1 * mon', Date.parse('2026-12-29T00:00:00+08:00'), SH)).toBe(Date.parse('2027-01-01T00:00:00+08:00'));
    // six fields: seconds first
    expect(next('*/15 * * * * *', t + 1000, SH)).toBe(t + 15_000);
    // never: the 30th of February
    expect(next('0 0 30 2 *', t, SH)).toBeNull();
    expect(prev('0 0 30 2 *', t, SH)).toBeNull();
  });

  it("read croner's extensions: L (last), W (nearest weekday), # (nth weekday) and nicknames", () => {
    const from = '2026-01-10T00:00:00+08:00';
    expect(nextN('0 9 L * *', from, SH, 2)).toEqual(['2026-01-31T09:00:00+08:00', '2026-02-28T09:00:00+08:00']);
    expect(nextN('0 9 15W * *', from, SH, 2)).toEqual(['2026-01-15T09:00:00+08:00', '2026-02-16T09:00:00+08:00']); // Feb 15 is a Sunday
    expect(nextN('0 9 * * fri#2', from, SH, 2)).toEqual(['2026-02-13T09:00:00+08:00', '2026-03-13T09:00:00+08:00']); // Jan 9 was the second
    expect(nextN('0 9 * * 5#L', from, SH, 2)).toEqual(['2026-01-30T09:00:00+08:00', '2026-02-27T09:00:00+08:00']);
    expect(nextN('@daily', from, SH, 1)).toEqual(['2026-01-11T00:00:00+08:00']);
  });

  it('run a fixed time the clock skips when it has jumped, and a repeated one once (New York)', () => {
    // 2026-03-08: 02:00 EST -> 03:00 EDT; 2026-11-01: 02:00 EDT -> 01:00 EST
    expect(nextN('30 2 * * *', '2026-03-07T12:00:00-05:00', NY, 2)).toEqual(['2026-03-08T03:00:00-04:00', '2026-03-09T02:30:00-04:00']);
    expect(nextN('0 2,14 * * *', '2026-03-07T12:00:00-05:00', NY, 3)).toEqual(['2026-03-07T14:00:00-05:00', '2026-03-08T03:00:00-04:00', '2026-03-08T14:00:00-04:00']);
    expect(nextN('30 1 * * *', '2026-10-31T12:00:00-04:00', NY, 2)).toEqual(['2026-11-01T01:30:00-04:00', '2026-11-02T01:30:00-05:00']);
    // and the policy's previous occurrence, asked during the repeated hour, is the first pass
    expect(isoInTz(prev('30 1 * * *', Date.parse('2026-11-01T01:40:00-05:00'), NY)!, NY)).toBe('2026-11-01T01:30:00-04:00');
  });

  it('run a schedule with * or a step in real time: a skipped time is skipped, a repeated one runs twice', () => {
    expect(nextN('30 * * * *', '2026-03-08T00:45:00-05:00', NY, 3)).toEqual(['2026-03-08T01:30:00-05:00', '2026-03-08T03:30:00-04:00', '2026-03-08T04:30:00-04:00']);
    expect(nextN('30 * * * *', '2026-11-01T00:45:00-04:00', NY, 3)).toEqual(['2026-11-01T01:30:00-04:00', '2026-11-01T01:30:00-05:00', '2026-11-01T02:30:00-05:00']);
    expect(nextN('*/20 * * * *', '2026-03-08T01:30:00-05:00', NY, 3)).toEqual(['2026-03-08T01:40:00-05:00', '2026-03-08T03:00:00-04:00', '2026-03-08T03:20:00-04:00']);
  });

  it('around daylight-saving changes, nothing lies between the previous and the next occurrence', () => {
    const cases: Array<[string, number]> = [
      [NY, Date.UTC(2026, 2, 8, 7)],
      [NY, Date.UTC(2026, 10, 1, 6)],
      ['Europe/Berlin', Date.UTC(2026, 2, 29, 1)],
      ['Europe/Berlin', Date.UTC(2026, 9, 25, 1)],
      ['Australia/Lord_Howe', Date.UTC(2026, 3, 4, 15)], // half an hour back
    ];
    const exprs = ['30 2 * * *', '0 2 * * *', '15 1 * * *', '*/20 * * * *', '0 */2 * * *', '45 3 * * *', '0 0 * * *', '59 1 * * 0', '30 * * * *'];
    for (const [tz, at] of cases)
      for (const expr of exprs)
        for (let t = at - 6 * 3_600_000; t <= at + 6 * 3_600_000; t += 37 * 60_000 + 13_000) {
          const n = next(expr, t, tz)!;
          const p = prev(expr, t, tz)!;
          const what = `${expr} ${tz} ${new Date(t).toISOString()}`;
          expect(n > t && p <= t, what).toBe(true);
          expect(next(expr, p, tz), what).toBe(n);
          expect(prev(expr, n - 1, tz), what).toBe(p);
        }
  });
});
