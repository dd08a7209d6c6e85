/** The locale-aware value formatter templates and fact sheets use (money, rates, hours, times, names, reasons). */
import { formatTime, money, withoutCredentials } from '../format.js';
import { formatDurationIn, listSeparator, reasonText } from '../reasons.js';
import type { Locale } from '../types.js';
import type { ActionName, Fmt, LocaleText } from './types.js';

/** A formatter speaking `texts` (the table of `locale`) in `timezone`. */
export function makeFormatter(locale: Locale, texts: LocaleText, timezone: string): Fmt {
  const { units } = texts;
  const fmt: Fmt = {
    locale,
    money: (v) => (typeof v === 'number' ? money(v) : '—'),
    rate: (v) => (typeof v === 'number' ? `${money(v)}${units.perHour}` : '—'),
    hours: (v) => (typeof v === 'number' && Number.isFinite(v) ? `${v.toFixed(1)}${units.hour}` : '—'),
    time: (v) => (typeof v === 'number' ? formatTime(v, timezone) : '—'),
    duration: (ms) => formatDurationIn(ms, locale),
    instance: (i) => `${i.name || '—'} (${i.id})`,
    name: (i) => i?.name || i?.id || '?',
    gpu: (model, count) => `${model || 'GPU'}${count ? ` × ${count}` : ''}`,
    noGpu: units.noGpu,
    action: (a) => (Object.hasOwn(texts.actions, a) ? texts.actions[a as ActionName] : texts.unknownAction(a)),
    reason: (text, code) => reasonText(text, code, locale),
    list: (items) => items.join(listSeparator(locale)),
    url: withoutCredentials,
  };
  return fmt;
}
