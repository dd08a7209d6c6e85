import { describe, expect, it } from 'vitest';
import { EVENT_TYPES, formatTime, money, render, type GuardEvent } from '../../src/notify/index.js';
import { sampleInstance } from './helpers.js';

const planned = Date.UTC(2026, 10, 25, 18, 0); // 2026-11-26 02:00 in Asia/Shanghai
const base = { locale: 'en' as const, timezone: 'Asia/Shanghai' };
const links = { h1: 'https://g.example/snooze?t=a', h2: 'https://g.example/snooze?t=b', skip: 'https://g.example/snooze?t=c' };

const sample: Record<string, GuardEvent['data']> = {
  action_planned: { instance: sampleInstance, policy: 'nightly', reason: 'schedule 0 2 * * *', action: 'release_gpu', planned_at: planned, amount: 38.16 },
  action_taken: { instance: sampleInstance, policy: 'idle-release', reason: 'idle for 45m', action: 'release_gpu', at: planned },
  action_failed: { instance: sampleInstance, policy: 'nightly', action: 'release_gpu', error: 'code 1000: busy' },
  action_aborted: { instance: sampleInstance, policy: 'nightly', action: 'release_gpu', reason: 'status changed' },
  balance_low: { balance: 23.5, threshold: 30, policy: 'low-balance', hours_left: 14.8 },
  runway_warn: { balance: 40, burn_per_hour: 3.2, hours_left: 12.5, empty_at: planned },
  runway_act: { balance: 5, burn_per_hour: 3.2, hours_left: 1.6 },
  budget_exceeded: { period: 'day', spent: 85, limit: 80, policy: 'daily-cap' },
  guard_blind: { ticks: 5, since: planned, error: 'XgcTimeout' },
  guard_recovered: { firing_since: planned },
  daily_digest: { day: '2026-11-25', estimated: 40.5, observed: 38.16, saved: 12, balance: 300, runway_hours: 80, top_instances: [{ id: 'ins-7f3a', name: 'sd-main', gpu_model: 'RTX 4090 D', estimated: 38.16 }] },
};

describe('render', () => {
  it('formats money with ¥ and two decimals and times in the configured timezone', () => {
    expect(money(38.155)).toBe('¥38.16');
    expect(money(-5)).toBe('-¥5.00');
    expect(formatTime(planned, 'Asia/Shanghai')).toBe('2026-11-26 02:00 (Asia/Shanghai)');
    expect(formatTime(planned, 'UTC')).toBe('2026-11-25 18:00 (UTC)');
  });

  it.each(EVENT_TYPES.flatMap((t) => [['en', t], ['zh-CN', t]] as const))('renders %s %s with subject, text, html and markdown', (locale, type) => {
    const r = render({ type, dedupKey: 'k', data: sample[type]! }, { ...base, locale });
    for (const part of [r.subject, r.text, r.html, r.markdown]) expect(part.length).toBeGreaterThan(20);
    expect(r.subject.startsWith('[xgc-guard] ')).toBe(true);
    expect(r.text).not.toContain('undefined');
    expect(r.text).not.toContain('NaN');
  });

  it('action_planned in English names the instance, id, GPU, price, policy, amount, planned time and the snooze links', () => {
    const r = render({ type: 'action_planned', dedupKey: 'k', data: sample.action_planned! }, { ...base, links });
    expect(r.subject).toBe('[xgc-guard] sd-main: GPU will be released at 2026-11-26 02:00 (Asia/Shanghai) (policy nightly)');
    for (const s of ['sd-main (ins-7f3a)', 'RTX 4090 D × 1', '¥1.59/h', 'nightly', 'schedule 0 2 * * *', '¥38.16', links.h1, links.h2, links.skip]) {
      expect(r.text).toContain(s);
    }
    expect(r.html).toContain(`href="${links.skip}"`);
    expect(r.markdown).toContain(`[Snooze 1 hour](${links.h1})`);
  });

  it('action_planned in Chinese speaks Chinese', () => {
    const r = render({ type: 'action_planned', dedupKey: 'k', data: sample.action_planned! }, { ...base, locale: 'zh-CN', links });
    expect(r.subject).toBe('[xgc-guard] 实例 sd-main 将于 2026-11-26 02:00 (Asia/Shanghai) 释放 GPU（策略 nightly）');
    expect(r.text).toContain('暂缓 1 小时');
    expect(r.text).toContain('预计节省: ¥38.16');
    expect(r.html).toContain('lang="zh-CN"');
  });

  it('balance_low firing, repeat and resolved read differently in both languages', () => {
    const d = sample.balance_low!;
    expect(render({ type: 'balance_low', dedupKey: 'k', data: d }, base).subject).toBe('[xgc-guard] Low balance: ¥23.50 is below ¥30.00');
    expect(render({ type: 'balance_low', dedupKey: 'k', data: d, reason: 'repeat' } as never, base).subject).toContain('(reminder)');
    expect(render({ type: 'balance_low', dedupKey: 'k', status: 'resolved', data: { ...d, balance: 500 } }, base).subject).toBe('[xgc-guard] Balance recovered: ¥500.00');
    expect(render({ type: 'balance_low', dedupKey: 'k', data: d }, { ...base, locale: 'zh-CN' }).subject).toBe('[xgc-guard] 余额不足：¥23.50，低于 ¥30.00');
  });

  it('the digest lists yesterday spend, savings, balance, runway and top instances', () => {
    const r = render({ type: 'daily_digest', dedupKey: 'k', data: sample.daily_digest! }, { ...base, locale: 'zh-CN' });
    expect(r.subject).toBe('[xgc-guard] 2026-11-25 日报：预估 ¥40.50，实扣 ¥38.16');
    for (const s of ['节省: ¥12.00', '余额: ¥300.00', '80.0 小时', 'sd-main (ins-7f3a)']) expect(r.text).toContain(s);
  });

  it('escapes HTML and markdown in names', () => {
    const evil = { ...sampleInstance, name: '<script>alert(1)</script>[x](http://evil)' };
    const r = render({ type: 'action_taken', dedupKey: 'k', data: { ...sample.action_taken!, instance: evil } }, base);
    expect(r.html).not.toContain('<script>');
    expect(r.html).toContain('&lt;script&gt;');
    expect(r.markdown).not.toContain('[x](http://evil)');
  });
});
