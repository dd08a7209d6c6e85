import { describe, expect, it } from 'vitest';
import { actionSavingPerHour } from '../../src/action-kinds.js';
import { EVENT_TYPES, formatTime, LOCALES, money, readEvent, render, type GuardEvent } from '../../src/notify/index.js';
import type { LocaleText } from '../../src/notify/templates/index.js';
import { sampleInstance } from './helpers.js';
import { planned, sample, sampleEvent } from './samples.js';

const base = { locale: 'en' as const, timezone: 'Asia/Shanghai' };
const links = { h1: 'https://g.example/snooze?t=a', h2: 'https://g.example/snooze?t=b', skip: 'https://g.example/snooze?t=c' };

// A locale table missing an event type does not compile (checked by `tsc` over test/, see the tooling task).
// @ts-expect-error wake_done has no template
const incomplete: LocaleText = { ...LOCALES.en, events: { ...LOCALES.en.events, wake_done: undefined } };
void incomplete;

describe('render', () => {
  it('formats money with ¥ and two decimals and times in the configured timezone', () => {
    expect(money(38.155)).toBe('¥38.16');
    expect(money(-5)).toBe('-¥5.00');
    expect(formatTime(planned, 'Asia/Shanghai')).toBe('2026-11-26 02:00 (Asia/Shanghai)');
    expect(formatTime(planned, 'UTC')).toBe('2026-11-25 18:00 (UTC)');
  });

  it('has a template for every event type in every locale', () => {
    for (const texts of Object.values(LOCALES)) {
      for (const t of EVENT_TYPES) expect(typeof texts.events[t]?.title, `${texts.lang} ${t}`).toBe('function');
    }
  });

  it.each(EVENT_TYPES.flatMap((t) => [['en', t], ['zh-CN', t]] as const))('renders %s %s with subject, text, html and markdown', (locale, type) => {
    for (const status of ['firing', 'resolved'] as const) {
      const r = render(sampleEvent(type, { status }) as GuardEvent, { ...base, locale });
      for (const part of [r.subject, r.text, r.html, r.markdown]) expect(part.length).toBeGreaterThan(20);
      expect(r.subject.startsWith('[xgc-guard] ')).toBe(true);
      for (const part of [r.text, r.markdown]) {
        expect(part).not.toContain('undefined');
        expect(part).not.toContain('NaN');
        expect(part).not.toContain('[object');
      }
    }
  });

  it('a zh-CN message says nothing in English but names, units and codes', () => {
    for (const type of EVENT_TYPES) {
      const r = render(sampleEvent(type) as GuardEvent, { ...base, locale: 'zh-CN' });
      // strip what stays as is: names, ids, GPU models, policy names, times, the tool's name, error texts from the cloud
      const prose = r.text
        .replace(/\(Asia\/Shanghai\)/g, '')
        .replace(/xgc-guard|sd-main|ins-\w+|train #keep|#keep|RTX 4090( D)?|GPU|API|nightly|idle-release|low-balance|daily-cap|runway|override add|--\w+|http\.public_url|https?:\/\/\S+/g, '')
        .replace(/code 1000: busy|state changed since the decision|schedule 0 2 \* \* \*|schedule|idle for 45m|XgcTimeout|running|snooze|2h|"仍在使用"/g, '');
      expect(prose, `${type}: ${prose}`).not.toMatch(/[A-Za-z]{3,}/);
    }
  });

  it('action_planned in English names the instance, id, GPU, price, policy, saving per hour, planned time and the snooze links', () => {
    const r = render(sampleEvent('action_planned'), { ...base, links });
    expect(r.subject).toBe('[xgc-guard] sd-main: GPU will be released at 2026-11-26 02:00 (Asia/Shanghai) (policy nightly)');
    for (const s of ['sd-main (ins-7f3a)', 'RTX 4090 D × 1', 'Price: ¥1.59/h', 'nightly', 'schedule 0 2 * * *', 'Estimated saving: ¥1.59/h', links.h1, links.h2, links.skip]) {
      expect(r.text).toContain(s);
    }
    expect(r.text).toContain('snooze with a link below');
    expect(r.html).toContain(`href="${links.skip}"`);
    expect(r.markdown).toContain(`[Snooze 1 hour](${links.h1})`);
  });

  it('action_planned in Chinese speaks Chinese and shows the saving as a rate', () => {
    const r = render(sampleEvent('action_planned'), { ...base, locale: 'zh-CN', links });
    expect(r.subject).toBe('[xgc-guard] 实例 sd-main 将于 2026-11-26 02:00 (Asia/Shanghai) 释放 GPU（策略 nightly）');
    expect(r.text).toContain('暂缓 1 小时');
    expect(r.text).toContain('请点击下方链接暂缓');
    expect(r.text).toContain('预计节省: ¥1.59/小时');
    expect(r.html).toContain('lang="zh-CN"');
  });

  it.each([
    ['en', 'link below', ['press Snooze on its row in the dashboard', 'xgc-guard override add --instance ins-7f3a --kind snooze --for 2h', 'http.public_url']],
    ['zh-CN', '点击下方链接', ['在控制台该实例一行点击「暂缓」', 'xgc-guard override add --instance ins-7f3a --kind snooze --for 2h', 'http.public_url']],
  ] as const)('action_planned without links (%s) does not promise a link and says how to snooze', (locale, promise, how) => {
    const r = render(sampleEvent('action_planned'), { ...base, locale });
    for (const part of [r.text, r.html, r.markdown]) {
      expect(part).not.toContain(promise);
      expect(part).not.toContain('/snooze?t=');
    }
    for (const s of how) expect(r.text).toContain(s);
  });

  it('a shutdown saves nothing, so no saving is shown; a dry run says "would save"', () => {
    const { saving_per_hour: _drop, ...noSaving } = sample.action_planned;
    expect(render({ type: 'action_planned', dedupKey: 'k', data: { ...noSaving, action: 'shutdown' } }, base).text).not.toMatch(/saving/i);
    const dry = render({ type: 'action_taken', dedupKey: 'k', data: { ...sample.action_taken, mode: 'dry_run' } }, base);
    expect(dry.subject).toBe('[xgc-guard] [dry run] Would release the GPU of sd-main');
    expect(dry.text).toContain('Would save: ¥1.59/h');
  });

  it('balance_low firing, repeat and resolved read differently in both languages', () => {
    const d = sample.balance_low;
    expect(render({ type: 'balance_low', dedupKey: 'k', data: d }, base).subject).toBe('[xgc-guard] Low balance: ¥23.50 is below ¥30.00');
    expect(render({ type: 'balance_low', dedupKey: 'k', data: d, reason: 'repeat' }, base).subject).toContain('(reminder)');
    expect(render({ type: 'balance_low', dedupKey: 'k', status: 'resolved', data: { ...d, balance: 500 } }, base).subject).toBe('[xgc-guard] Balance recovered: ¥500.00');
    expect(render({ type: 'balance_low', dedupKey: 'k', data: d }, { ...base, locale: 'zh-CN' }).subject).toBe('[xgc-guard] 余额不足：¥23.50，低于 ¥30.00');
  });

  it('a runway resolved with nothing burning (hours null after JSON) says restored, not "—"', () => {
    const r = render({ type: 'runway_warn', dedupKey: 'k', status: 'resolved', data: { ...sample.runway_warn, hours_left: null } }, base);
    expect(r.subject).toBe('[xgc-guard] Runway restored');
    expect(r.text).not.toContain('Burn rate');
  });

  it('the digest lists yesterday spend, savings, balance, runway and top instances', () => {
    const r = render(sampleEvent('daily_digest'), { ...base, locale: 'zh-CN' });
    expect(r.subject).toBe('[xgc-guard] 2026-11-25 日报：预估 ¥40.50，实扣 ¥38.16');
    for (const s of ['节省: ¥12.00', '余额: ¥300.00', '80.0 小时', 'sd-main (ins-7f3a)']) expect(r.text).toContain(s);
  });

  it('runway_critical says when the balance reaches ¥0, what will be destroyed and how much to top up', () => {
    const en = render(sampleEvent('runway_critical'), base);
    expect(en.subject).toBe('[xgc-guard] Critical: the balance reaches ¥0 at 2026-11-26 02:00 (Asia/Shanghai); 1 instance would be destroyed');
    for (const s of ['train #keep (ins-keep)', 'Top up at least ¥20.44', '2026-11-26 01:30 (Asia/Shanghai)', '#keep']) expect(en.text).toContain(s);
    expect(en.severity).toBe('critical');
    const zh = render(sampleEvent('runway_critical'), { ...base, locale: 'zh-CN' });
    expect(zh.subject).toContain('紧急：余额将于 2026-11-26 02:00 (Asia/Shanghai) 耗尽');
    expect(zh.text).toContain('请至少充值 ¥20.44');
    const off = render({ type: 'runway_critical', dedupKey: 'k', data: { ...sample.runway_critical, last_resort_at: null } }, base);
    expect(off.text).toContain('last-resort release is off');
  });

  it('instances_destroyed lists each instance with its last state', () => {
    const r = render(sampleEvent('instances_destroyed'), { ...base, locale: 'zh-CN' });
    expect(r.subject).toBe('[xgc-guard] 紧急：余额 -¥0.23 时 1 个实例已被销毁');
    expect(r.text).toContain('train #keep (ins-keep) | RTX 4090 × 1 | running');
  });

  it('wake_done names the GPU, the wait and the web URL without a token; a data-only wake says so', () => {
    const r = render({ type: 'wake_done', dedupKey: 'k', data: { ...sample.wake_done, web_url: 'https://x:pw@ins-8888.container.x-gpu.com/lab?token=s3cr3t#a' } }, base);
    expect(r.subject).toBe('[xgc-guard] sd-main is running on RTX 4090 × 1');
    expect(r.text).toContain('4m');
    expect(r.text).toContain('Web: https://ins-8888.container.x-gpu.com/lab');
    for (const part of [r.text, r.html, r.markdown]) {
      expect(part).not.toContain('s3cr3t');
      expect(part).not.toContain('pw@');
    }
    const data = render({ type: 'wake_done', dedupKey: 'k', data: { ...sample.wake_done, gpu_count: 0 } }, { ...base, locale: 'zh-CN' });
    expect(data.subject).toBe('[xgc-guard] sd-main 已开机（无 GPU，仅数据）');
    expect(data.text).toContain('GPU: 无（仅数据）');
  });

  it('wake_failed says how long it waited, which models it tried and why it gave up', () => {
    const r = render(sampleEvent('wake_failed'), { ...base, locale: 'zh-CN' });
    expect(r.subject).toBe('[xgc-guard] 未能唤醒 sd-main：等待 2 小时后放弃');
    expect(r.text).toContain('RTX 4090 D / RTX 4090');
    expect(r.text).toContain('尝试次数: 14');
  });

  it('renders a reason code in the message locale and falls back to the text when the code is unknown', () => {
    const reason_code = { code: 'idle.release', params: { idle_ms: 46 * 60_000, idle_for_ms: 45 * 60_000, since: '01:14' }, details: [{ code: 'gpu.idle', params: { util_pct: 3, samples: 6, busy_pct: 10 } }] };
    const data = { ...sample.action_taken, reason: 'idle 46m >= 45m since 01:14; gpu: GPU at most 3% over 6 sample(s) (busy at 10%)', reason_code };
    const zh = render({ type: 'action_taken', dedupKey: 'k', data }, { ...base, locale: 'zh-CN' });
    expect(zh.text).toContain('原因: 已空闲 46 分钟（≥ 45 分钟），自 01:14 起；GPU：6 次采样最高 3%（≥ 10% 视为忙碌）');
    const en = render({ type: 'action_taken', dedupKey: 'k', data }, base);
    expect(en.text).toContain('Reason: idle 46m ≥ 45m since 01:14; gpu: GPU at most 3% over 6 sample(s) (busy at 10%)');
    const unknown = render({ type: 'action_taken', dedupKey: 'k', data: { ...data, reason_code: { code: 'idle.someday', params: {} } } }, { ...base, locale: 'zh-CN' });
    expect(unknown.text).toContain(`原因: ${data.reason}`);
  });

  it('escapes HTML and markdown in names', () => {
    const evil = { ...sampleInstance, name: '<script>alert(1)</script>[x](http://evil)' };
    const r = render({ type: 'action_taken', dedupKey: 'k', data: { ...sample.action_taken, instance: evil } }, base);
    expect(r.html).not.toContain('<script>');
    expect(r.html).toContain('&lt;script&gt;');
    expect(r.markdown).not.toContain('[x](http://evil)');
  });
});

describe('reading stored events', () => {
  const row = (type: string) => ({ type, dedupKey: 'k' });

  it('reads a current payload back as the typed event', () => {
    const e = readEvent(JSON.stringify({ type: 'balance_low', dedupKey: 'b', status: 'firing', data: sample.balance_low }), row('balance_low'));
    expect(e).toMatchObject({ type: 'balance_low', dedupKey: 'b', data: { balance: 23.5, threshold: 30 } });
    expect('opaque' in e).toBe(false);
  });

  it('reads a payload of the previous version (amount, who, extra keys) as typed, dropping what is gone', () => {
    const old = { type: 'action_planned', dedupKey: 'p', fingerprint: '', status: 'firing', data: { instance: sampleInstance, policy: 'nightly', action: 'release_gpu', reason: 'r', planned_at: planned, amount: 1.59 } };
    const e = readEvent(JSON.stringify(old), row('action_planned'));
    expect(e).toMatchObject({ type: 'action_planned', data: { policy: 'nightly', planned_at: planned } });
    expect(e.data).not.toHaveProperty('amount');
    expect(render(e, base).text).not.toMatch(/saving/i);
  });

  it.each([
    ['an unknown type', 'low_balance', '{}'],
    ['corrupt JSON', 'balance_low', '{"type":'],
    ['data of another shape', 'balance_low', JSON.stringify({ type: 'balance_low', data: { balance: 'lots' } })],
    ['a JSON array', 'guard_blind', '[1,2]'],
  ])('degrades %s to a generic message instead of crashing', (_name, type, payload) => {
    const e = readEvent(payload, row(type));
    expect(e).toMatchObject({ opaque: true, type, dedupKey: 'k' });
    expect(render(e, base).subject).toBe(`[xgc-guard] Notification: ${type}`);
    expect(render(e, { ...base, locale: 'zh-CN' }).text).toContain('无法被当前版本读取');
  });
});

describe('the saving an action message shows', () => {
  it.each([
    ['release_gpu', 1.59, 0.0012, 1.5888],
    ['destroy', 1.59, 0.0012, 1.59],
    ['shutdown', 1.59, 0.0012, undefined], // keeps the GPU and its billing
    ['notify', 1.59, 0.0012, undefined],
    ['boot', 0.0012, 0.0012, undefined],
    ['release_gpu', 0.0012, 0.0012, undefined], // already released: nothing left to save
  ] as const)('%s at ¥%s/h (disk ¥%s/h) saves %s per hour', (action, rate, retainPrice, want) => {
    expect(actionSavingPerHour(action, { rate, retainPrice })).toBe(want);
  });
});
