/** Lays a message out as a subject, plain text, HTML (email) and markdown (WeCom, DingTalk, Feishu, Slack). */
import { escapeHtml, escapeMarkdown } from './format.js';
import type { Severity } from './events.js';
import type { Rendered } from './types.js';

/** A message before layout: every text already in the reader's locale. */
export interface Message {
  severity: Severity;
  /** `lang` of the HTML body */
  lang: string;
  title: string;
  summary: string;
  facts: Array<readonly [string, string]>;
  table?: { head: string[]; rows: string[][] };
  buttons: Array<{ label: string; url: string }>;
  note?: string;
  footer: string;
  /** dashboard URL linked from the footer */
  dashboardUrl?: string;
}

const squeeze = (lines: string[]) => lines.join('\n').replace(/\n{3,}/g, '\n\n');

/** Lay `m` out for every channel format. */
export function layout(m: Message): Rendered {
  const subject = `[xgc-guard] ${m.title}`;
  const dash = m.dashboardUrl;

  const text = squeeze([
    m.title,
    '',
    m.summary,
    '',
    ...m.facts.map(([k, v]) => `${k}: ${v}`),
    ...(m.table ? ['', m.table.head.join(' | '), ...m.table.rows.map((r) => r.join(' | '))] : []),
    ...(m.buttons.length ? ['', ...m.buttons.map((b) => `${b.label}: ${b.url}`)] : []),
    ...(m.note ? ['', m.note] : []),
    '',
    `-- ${m.footer}${dash ? ` ${dash}` : ''}`,
  ]);

  const markdown = squeeze([
    `**${escapeMarkdown(m.title)}**`,
    '',
    escapeMarkdown(m.summary),
    '',
    ...m.facts.map(([k, v]) => `- ${escapeMarkdown(k)}: ${escapeMarkdown(v)}`),
    ...(m.table ? ['', ...m.table.rows.map((r, i) => `${i + 1}. ${r.map(escapeMarkdown).join(' · ')}`)] : []),
    ...(m.buttons.length ? ['', m.buttons.map((b) => `[${escapeMarkdown(b.label)}](${b.url})`).join(' | ')] : []),
    ...(m.note ? ['', escapeMarkdown(m.note)] : []),
    '',
    dash ? `[${escapeMarkdown(m.footer)}](${dash})` : escapeMarkdown(m.footer),
  ]);

  const h = escapeHtml;
  const cell = 'padding:4px 12px 4px 0;vertical-align:top';
  const accent = m.severity === 'critical' ? '#cf222e' : m.severity === 'warning' ? '#9a6700' : '#1f2328';
  const html = [
    `<!doctype html><html lang="${h(m.lang)}"><head><meta charset="utf-8"><title>${h(subject)}</title></head>`,
    '<body style="font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;color:#1f2328;line-height:1.5">',
    `<h2 style="margin:0 0 12px;color:${accent}">${h(m.title)}</h2>`,
    m.summary ? `<p>${h(m.summary)}</p>` : '',
    m.facts.length
      ? `<table style="border-collapse:collapse">${m.facts.map(([k, v]) => `<tr><th align="left" style="${cell};color:#59636e">${h(k)}</th><td style="${cell}">${h(v)}</td></tr>`).join('')}</table>`
      : '',
    m.table
      ? `<table style="border-collapse:collapse;margin-top:12px"><tr>${m.table.head.map((x) => `<th align="left" style="${cell}">${h(x)}</th>`).join('')}</tr>${m.table.rows
          .map((r) => `<tr>${r.map((x) => `<td style="${cell}">${h(x)}</td>`).join('')}</tr>`)
          .join('')}</table>`
      : '',
    m.buttons.length
      ? `<p style="margin-top:16px">${m.buttons
          .map((b) => `<a href="${h(b.url)}" style="display:inline-block;margin-right:8px;padding:8px 14px;background:#0969da;color:#fff;border-radius:6px;text-decoration:none">${h(b.label)}</a>`)
          .join('')}</p>`
      : '',
    m.note ? `<p>${h(m.note)}</p>` : '',
    `<p style="color:#59636e;font-size:12px;margin-top:24px">${dash ? `<a href="${h(dash)}">${h(m.footer)}</a>` : h(m.footer)}</p>`,
    '</body></html>',
  ].join('');

  return { severity: m.severity, subject, text, html, markdown };
}
