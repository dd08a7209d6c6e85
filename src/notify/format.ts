/** Small formatters shared by templates and the snooze page: money, times, URLs without credentials, HTML and markdown escaping. */

/** Money in yuan with two decimals: `¥38.16`, `-¥5.00`. */
export function money(v: unknown): string {
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isFinite(n)) return '—';
  return `${n < 0 ? '-' : ''}¥${Math.abs(n).toFixed(2)}`;
}

/** One formatter per time zone: constructing an Intl.DateTimeFormat costs far more than formatting with it. */
const timeFormats = new Map<string, Intl.DateTimeFormat>();

/** Epoch ms (or an ISO string) as `2026-11-26 02:00 (Asia/Shanghai)` in `timeZone`. */
export function formatTime(v: unknown, timeZone: string): string {
  const ms = toMs(v);
  if (ms === undefined) return '—';
  let f = timeFormats.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    if (timeFormats.size >= 64) timeFormats.clear();
    timeFormats.set(timeZone, f);
  }
  const parts = f.formatToParts(new Date(ms));
  const p = (t: string) => parts.find((x) => x.type === t)?.value ?? '';
  return `${p('year')}-${p('month')}-${p('day')} ${p('hour')}:${p('minute')} (${timeZone})`;
}

/** A time given as epoch ms, numeric string or ISO string, as epoch ms. */
function toMs(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && v !== '') {
    const n = /^\d+$/.test(v) ? Number(v) : Date.parse(v);
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

/** Escape text for HTML element content and quoted attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** Escape the characters that would turn text into markdown links, emphasis or code. */
export function escapeMarkdown(s: string): string {
  return s.replace(/([\\`*[\]<>])/g, '\\$1');
}

/** A URL without user info, query or fragment (where tokens live); text that is not a URL comes back unchanged. */
export function withoutCredentials(s: string): string {
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    return s;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return s;
  u.username = '';
  u.password = '';
  u.search = '';
  u.hash = '';
  return u.toString();
}
