/** The test notification `xgc-guard notify test` sends: texts per locale (data), laid out for every channel format. */
import { escapeHtml, escapeMarkdown, formatTime } from '../notify/format.js';
import type { Locale, Rendered, StoredEvent } from '../notify/types.js';

const TEXTS: Record<Locale, { subject: string; body: string; footer: string }> = {
  'zh-CN': {
    subject: '[xgc-guard] 测试通知：{channel}',
    body: '这是 xgc-guard 通过渠道「{channel}」发送的测试消息（{time}）。收到即表示该渠道配置正确，无需任何操作。',
    footer: 'xgc-guard 仙宫云费用守护',
  },
  en: {
    subject: '[xgc-guard] Test notification: {channel}',
    body: 'This is a test message xgc-guard sent through the channel "{channel}" at {time}. If you can read it, the channel works; nothing to do.',
    footer: 'xgc-guard, cost guard for XianGong Cloud',
  },
};

/** The event type test messages carry (they bypass the outbox, so no policy or dedup ever sees it). */
export const TEST_EVENT_TYPE = 'notify_test';

/** The rendered test message and the event the channels are handed, for channel `channel` at `now`. */
export function testMessage(channel: string, now: number, locale: Locale, timezone: string): { rendered: Rendered; event: StoredEvent } {
  const t = TEXTS[locale];
  const fill = (s: string) => s.replace('{channel}', channel).replace('{time}', formatTime(now, timezone));
  const subject = fill(t.subject);
  const body = fill(t.body);
  const rendered: Rendered = {
    subject,
    text: `${body}\n\n-- ${t.footer}`,
    markdown: `**${escapeMarkdown(subject)}**\n\n${escapeMarkdown(body)}\n\n${escapeMarkdown(t.footer)}`,
    html: `<!doctype html><html lang="${locale}"><head><meta charset="utf-8"><title>${escapeHtml(subject)}</title></head><body><p>${escapeHtml(body)}</p><p style="color:#59636e;font-size:12px">${escapeHtml(t.footer)}</p></body></html>`,
    severity: 'info',
  };
  const event: StoredEvent = {
    opaque: true,
    id: 0,
    type: TEST_EVENT_TYPE,
    dedupKey: `${TEST_EVENT_TYPE}:${channel}:${now}`,
    status: 'firing' as const,
    reason: 'first' as const,
    createdAt: now,
    data: { channel, test: true },
  };
  return { rendered, event };
}
