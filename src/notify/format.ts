/** Small formatters shared by templates and the snooze page: money, times, URLs without credentials, HTML and markdown escaping. */
import { localParts } from '../money.js';

/** Money in yuan with two decimals: `¥38.16`, `-¥5.00`. */
export function money(v: unknown): string {
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isFinite(n)) return '—';
  return `${n < 0 ? '-' : ''}¥${Math.abs(n).toFixed(2)}`;
}

/** Epoch ms (or an ISO string) as `2026-11-26 02:00 (Asia/Shanghai)` in `timeZone`. */
export function formatTime(v: unknown, timeZone: string): string {
  const ms = toMs(v);
  if (ms === undefined) return '—';
  const p = localParts(ms, timeZone);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${p.y}-${two(p.mo)}-${two(p.d)} ${two(p.h)}:${two(p.mi)} (${timeZone})`;
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
