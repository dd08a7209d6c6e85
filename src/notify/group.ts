/**
 * Grouping, as Alertmanager groups alerts: the deliveries due for one channel in one pass (the events of one tick)
 * go out as one message. Inside it events read announce → action → result (a condition or a warning, then what the
 * guard did, then what cleared), most severe first within each; the subject is the most severe event's.
 */
import { EVENT_SEVERITY, isOpaque } from './events.js';
import { escapeHtml } from './format.js';
import type { Rendered, Severity, StoredEvent } from './types.js';

const RANK: Record<Severity, number> = { critical: 0, warning: 1, info: 2 };

/** Action reports: what the guard did or tried. */
const ACTIONS = new Set(['action_taken', 'action_failed', 'action_aborted', 'wake_done', 'wake_failed']);

/** 0 announce (conditions, warnings), 1 action (what was done), 2 result (resolved notices, recoveries, digests). */
function phase(e: StoredEvent): number {
  if (e.status === 'resolved' || e.type === 'guard_recovered' || e.type === 'daily_digest') return 2;
  return ACTIONS.has(e.type) ? 1 : 0;
}

/** An event's severity in a group: a resolved notice is news, not a condition. */
function severity(e: StoredEvent): Severity {
  if (isOpaque(e) || phase(e) === 2) return 'info';
  return EVENT_SEVERITY[e.type];
}

/** The order of events inside one message: phase, then severity, then as raised. */
export function groupOrder(a: StoredEvent, b: StoredEvent): number {
  return phase(a) - phase(b) || RANK[severity(a)] - RANK[severity(b)] || a.id - b.id;
}

/** The index of the event that leads a group (in `groupOrder`): the first of the most severe. */
export function leadOf(events: StoredEvent[]): number {
  let lead = 0;
  for (let k = 1; k < events.length; k++) if (RANK[severity(events[k])] < RANK[severity(events[lead])]) lead = k;
  return lead;
}

/** The HTML inside `<body>` of a rendered message. */
const bodyOf = (html: string) => /<body[^>]*>([\s\S]*)<\/body>/.exec(html)?.[1] ?? html;

/**
 * One message from `parts` (rendered events in `groupOrder`): the lead part's subject and severity with `more(n)`
 * for the others, and every part's body in order.
 */
export function combine(parts: Rendered[], leadIndex: number, more: (n: number) => string): Rendered {
  if (parts.length === 1) return parts[0];
  const lead = parts[leadIndex];
  const subject = `${lead.subject}${more(parts.length - 1)}`;
  const head = /^[\s\S]*?<body[^>]*>/.exec(lead.html)?.[0] ?? '<body>';
  const html =
    head.replace(/<title>[\s\S]*?<\/title>/, `<title>${escapeHtml(subject)}</title>`) +
    parts.map((p) => bodyOf(p.html)).join('<hr style="border:0;border-top:1px solid #d1d9e0;margin:20px 0">') +
    '</body></html>';
  return {
    severity: lead.severity,
    subject,
    text: parts.map((p) => p.text).join('\n\n----\n\n'),
    html,
    markdown: parts.map((p) => p.markdown).join('\n\n---\n\n'),
  };
}
