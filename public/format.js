// Money, times and durations, all on one clock: the server's (its `now`, extrapolated at the observed world speed).
import { state } from './state.js';
import { t } from './i18n.js';

/** `¥12.34` / `-¥0.23`, or `—` for no number. */
export function money(v) {
  const n = typeof v === 'number' ? v : Number(v);
  if (v === null || v === undefined || !Number.isFinite(n)) return '—';
  return `${n < 0 ? '-' : ''}¥${Math.abs(n).toFixed(2)}`;
}

/** A rate: like money, but a tiny non-zero rate (a retained disk) reads `<¥0.01` rather than `¥0.00`. */
export function rateMoney(v) {
  const n = Number(v);
  return n > 0 && n < 0.005 ? '<¥0.01' : money(v);
}

/** Epoch ms of an ISO string (or a number as is), or null. */
export function toMs(v) {
  if (typeof v === 'number') return v;
  if (typeof v !== 'string' || v === '') return null;
  const n = Date.parse(v);
  return Number.isFinite(n) ? n : null;
}

/** Keep the server's world time and estimate how fast it runs compared with this browser. */
export function noteServerTime(iso) {
  const now = toMs(iso);
  if (now === null) return;
  const perf = performance.now();
  const prev = state.server;
  if (prev && perf - prev.perf > 1000) {
    const r = (now - prev.now) / (perf - prev.perf);
    if (Number.isFinite(r) && r >= 0) state.rate = state.rate === 1 && !prev.rated ? r : state.rate * 0.5 + r * 0.5;
  }
  state.server = { now, perf, rated: Boolean(prev) };
}

/** World time now, extrapolated from the server's last `now`: every relative time on the page uses it. */
export function worldNow() {
  if (!state.server) return Date.now();
  return state.server.now + (performance.now() - state.server.perf) * state.rate;
}

/** A time as `03-10 14:05` (or `14:05`) in the server's timezone. */
export function fmtTime(v, withDate = true) {
  const ms = toMs(v);
  if (ms === null) return '—';
  let parts;
  try {
    parts = new Intl.DateTimeFormat('en-CA', { timeZone: state.tz, month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).formatToParts(new Date(ms));
  } catch {
    parts = new Intl.DateTimeFormat('en-CA', { month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).formatToParts(new Date(ms));
  }
  const p = (type) => parts.find((x) => x.type === type)?.value ?? '';
  return withDate ? `${p('month')}-${p('day')} ${p('hour')}:${p('minute')}` : `${p('hour')}:${p('minute')}`;
}

/** `14:05` when `v` is on the same local day as now, else `03-10 14:05`. */
export function fmtNear(v) {
  const full = fmtTime(v);
  return full.slice(0, 5) === fmtTime(worldNow()).slice(0, 5) ? full.slice(6) : full;
}

/** A duration as `2h 05m` / `2小时05分`, at most two units. */
export function fmtDur(ms) {
  const u = t('units');
  const zh = state.locale === 'zh-CN';
  const s = Math.max(0, Math.round(ms / 1000));
  const d = Math.floor(s / 86400), hh = Math.floor((s % 86400) / 3600), mm = Math.floor((s % 3600) / 60), ss = s % 60;
  const sep = zh ? '' : ' ';
  const two = (n) => String(n).padStart(2, '0');
  if (d > 0) return `${d}${u.d}${sep}${hh}${u.h}`;
  if (hh > 0) return `${hh}${u.h}${sep}${two(mm)}${u.m}`;
  if (mm > 0) return `${mm}${u.m}${sep}${two(ss)}${u.s}`;
  return `${ss}${u.s}`;
}

/** A number with `digits` decimals, or `—`. */
export function num(v, digits = 1) {
  return typeof v === 'number' && Number.isFinite(v) ? v.toFixed(digits) : '—';
}
