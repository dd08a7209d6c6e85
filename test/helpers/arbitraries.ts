/** fast-check arbitraries for bounded-input property tests: text in and around the duration, time and number grammars. */
import fc from 'fast-check';

/** Digit strings: small, huge (40 digits, 400 digits: beyond double range) and fractional. */
export const digits = fc.oneof(fc.nat().map(String), fc.bigInt({ min: 0n, max: 10n ** 40n }).map(String), fc.constantFrom('0', '00', '1.5', '0.0001', '9'.repeat(400), '99999999', '365', '366', '8760', '525600'));
/** Strings in and around the duration grammar (`30s`, `1h30m`, `99999999d`, `1e9h`, ...). */
export const durationText = fc.oneof(
  fc.array(fc.tuple(digits, fc.constantFrom('ms', 's', 'm', 'h', 'd', 'w', '', 'y', ' ')), { minLength: 1, maxLength: 3 }).map((ps) => ps.map(([n, u]) => n + u).join('')),
  fc.string({ maxLength: 12 }),
  fc.constantFrom('', '-1h', '0s', '1e9h', 'Infinity', 'NaN', '365d', '365d1ms', '8760h', '52w', '53w'),
);
/** Strings in and around the time grammar: ISO 8601 with any year, relative offsets, junk. */
export const timeText = fc.oneof(
  fc.tuple(fc.integer({ min: 0, max: 99999 }), fc.integer({ min: 0, max: 13 }), fc.integer({ min: 0, max: 32 }), fc.constantFrom('', 'T08:00', 'T23:59:59.999Z', 'T00:00:00+08:00', 'T00:00:00-23:59', 'T24:00Z')).map(
    ([y, m, d, rest]) => `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}${rest}`,
  ),
  fc.tuple(fc.constantFrom('+', '-'), durationText).map(([s, d]) => s + d),
  fc.string({ maxLength: 12 }),
  fc.constantFrom('now', '+365d', '+366d', '+99999999d', '-99999999d', '9999-12-31T23:59:59Z', '1970-01-01T00:00:00Z', '1969-12-31T23:59:59Z'),
);
/** Numbers as JSON text: beyond double range (1e400 parses to Infinity), tiny, negative, fractional. */
export const numberText = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((x) => JSON.stringify(x)),
  fc.integer().map(String),
  fc.constantFrom('1e400', '-1e400', '1e-400', '-0', '100.0000001', '8.0000001', '9007199254740993', '0.5'),
);
