/** Durations in config: `30s`, `45m`, `2h`, `1d`, or combined (`1h30m`). Parsed to milliseconds. */

/** The longest duration a config key accepts: 3650 days (about 10 years), so every time derived from one renders. */
export const MAX_DURATION_MS = 3650 * 86_400_000;

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/gy;

/** Parse a duration string to ms, or return null when it is not one (or too long to be a finite number). */
export function parseDuration(input: string): number | null {
  const s = input.trim();
  if (!s) return null;
  PART.lastIndex = 0;
  let total = 0;
  let consumed = 0;
  for (let m = PART.exec(s); m; m = PART.exec(s)) {
    total += Number(m[1]) * UNIT_MS[m[2]];
    consumed = PART.lastIndex;
  }
  return consumed === s.length && Number.isFinite(total) ? Math.round(total) : null;
}

/** Format ms as a short human duration: `3h12m`, `45m`, `30s`. */
export function formatDuration(ms: number): string {
  const neg = ms < 0;
  let s = Math.round(Math.abs(ms) / 1000);
  const d = Math.floor(s / 86400);
  s -= d * 86400;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  const parts: string[] = [];
  if (d) parts.push(`${d}d`);
  if (h) parts.push(`${h}h`);
  if (m && d === 0) parts.push(`${m}m`);
  if (s && d === 0 && h === 0) parts.push(`${s}s`);
  return (neg ? '-' : '') + (parts.join('') || '0s');
}
