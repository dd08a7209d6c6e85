/**
 * Templates: `render(event, opts)` turns an event into subject, plain text, HTML and markdown in zh-CN or en,
 * with money as `¥38.16` and times in the configured timezone. The words come from the locale tables in
 * `templates/`, the facts from `facts.ts`, the layout from `layout.ts`. Pure (links are passed in).
 */
import { EVENT_SEVERITY, isOpaque, type EventData, type EventType, type GuardEvent, type OpaqueEvent } from './events.js';
import { FACTS } from './facts.js';
import { layout, type Message } from './layout.js';
import { LOCALES, type EventText, type LocaleText } from './templates/index.js';
import { makeFormatter } from './templates/formatter.js';
import type { Locale, Rendered, SendReason, SnoozeLinks } from './types.js';

/** Options for `render`. */
export interface RenderOptions {
  locale: Locale;
  timezone: string;
  /** Dashboard base URL, linked at the bottom when set. */
  publicUrl?: string;
  /** Snooze URLs for action_planned. */
  links?: SnoozeLinks;
}

type Body = Pick<Message, 'title' | 'summary' | 'facts' | 'table' | 'buttons' | 'note'>;

function typedBody<T extends EventType>(type: T, d: EventData<T>, resolved: boolean, texts: LocaleText, o: RenderOptions): Body {
  const f = makeFormatter(o.locale, texts, o.timezone);
  const entry: EventText<T> = texts.events[type];
  const links = type === 'action_planned' ? o.links : undefined;
  const ctx = { hasLinks: !!links };
  const sheet = FACTS[type](d, f, resolved);
  const words = resolved && entry.resolved ? entry.resolved : undefined;
  return {
    title: words ? words.title(d, f) : `${resolved ? texts.words.resolvedPrefix : ''}${entry.title(d, f, ctx)}`,
    summary: words ? words.summary(d, f) : entry.summary(d, f, ctx),
    facts: sheet.facts.map(([k, v]) => [texts.labels[k], v] as const),
    table: sheet.table && { head: sheet.table.head.map((k) => texts.labels[k]), rows: sheet.table.rows },
    buttons: links
      ? [
          { label: texts.words.snooze.h1, url: links.h1 },
          { label: texts.words.snooze.h2, url: links.h2 },
          { label: texts.words.snooze.skip, url: links.skip },
        ]
      : [],
    note: resolved ? undefined : entry.note?.(d, f, ctx),
  };
}

function opaqueBody(e: OpaqueEvent, texts: LocaleText): Body {
  return { title: texts.words.opaqueTitle(e.type), summary: texts.words.opaqueSummary, facts: [], buttons: [] };
}

/** Render an event (or a stored one of an unreadable shape) for every channel format. */
export function render(event: (GuardEvent | OpaqueEvent) & { reason?: SendReason }, opts: RenderOptions): Rendered {
  const texts = LOCALES[opts.locale] ?? LOCALES.en;
  const body = isOpaque(event) ? opaqueBody(event, texts) : typedBody(event.type, event.data, event.status === 'resolved', texts, opts);
  if (event.reason === 'repeat') body.title += texts.words.reminder;
  return layout({
    ...body,
    severity: isOpaque(event) ? 'info' : EVENT_SEVERITY[event.type],
    lang: texts.lang,
    footer: texts.words.footer,
    dashboardUrl: opts.publicUrl ? `${opts.publicUrl.replace(/\/+$/, '')}/` : undefined,
  });
}
