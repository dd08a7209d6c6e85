import { describe, expect, it } from 'vitest';
import { parseTimeParam, whoFrom } from '../../src/http/params.js';

const NOW = Date.parse('2026-01-10T04:00:00Z');

describe('parseTimeParam', () => {
  it.each([
    ['now', NOW],
    ['-7d', NOW - 7 * 86_400_000],
    ['-2h', NOW - 7_200_000],
    ['-1h30m', NOW - 5_400_000],
    ['+45m', NOW + 2_700_000],
    ['2026-01-10T04:00:00Z', NOW],
    ['2026-01-10T12:00:00+08:00', NOW],
    ['2026-01-10T12:00:00+0800', NOW],
    ['2026-01-09T23:00:00-05:00', NOW],
    ['2026-01-10T04:00:00.250Z', NOW + 250],
    ['2026-01-10T04:00Z', NOW],
    ['2026-01-10', Date.parse('2026-01-10T00:00:00Z')],
  ])('%s', (s, want) => {
    expect(parseTimeParam(s, NOW)).toBe(want);
  });

  it('reads a time without offset as wall time in the given zone', () => {
    expect(parseTimeParam('2026-01-10', NOW, 'Asia/Shanghai')).toBe(Date.parse('2026-01-09T16:00:00Z'));
    expect(parseTimeParam('2026-01-10T12:30', NOW, 'Asia/Shanghai')).toBe(Date.parse('2026-01-10T04:30:00Z'));
  });

  it.each(['', 'yesterday', '-7', '-7x', '2026-13-01', '2026-02-30', '2026-01-10T25:00', '2026-01-10T12:00+25:00', '1736400000000', 'now-1h'])(
    'rejects %j',
    (s) => {
      expect(parseTimeParam(s, NOW)).toBeNull();
    },
  );
});

describe('whoFrom', () => {
  it.each([
    [undefined, 'api'],
    ['', 'api'],
    ['alice', 'alice'],
    ['bob@example.com', 'bob@example.com'],
    ['evil\r\nX-Injected: 1', 'evilX-Injected: 1'],
    ['<b>x</b>', 'bx/b'],
    ['x'.repeat(100), 'x'.repeat(64)],
    [['first', 'second'], 'first'],
  ])('%j -> %j', (input, want) => {
    expect(whoFrom(input as string | string[] | undefined)).toBe(want);
  });
});
