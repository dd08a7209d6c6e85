import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_PHRASES, formatDurationIn, formatReason, REASONS, reasonText, type ReasonCode } from '../../src/notify/reasons.js';

const rc = (code: string, params: ReasonCode['params'] = {}, details?: ReasonCode[]): ReasonCode => ({ code, params, details });

describe('reason codes', () => {
  it.each([
    [rc('idle.release', { idle_ms: 2_760_000, idle_for_ms: 2_700_000, since: '01:14' }), 'idle 46m ≥ 45m since 01:14', '已空闲 46 分钟（≥ 45 分钟），自 01:14 起'],
    [rc('idle.warn', { idle_ms: 1_200_000, idle_for_ms: 1_800_000 }), 'idle 20m of 30m', '已空闲 20 分钟，满 30 分钟 时执行'],
    [rc('schedule.due', { cron: '0 2 * * *', tz: 'Asia/Shanghai', at: '02:00' }), 'schedule "0 2 * * *" (Asia/Shanghai) at 02:00', '定时「0 2 * * *」（Asia/Shanghai）于 02:00'],
    [rc('schedule.due_late', { cron: '0 2 * * *', tz: 'UTC', at: '02:00', late_ms: 420_000 }), 'schedule "0 2 * * *" (UTC) at 02:00, caught up 7m late', '定时「0 2 * * *」（UTC）于 02:00，延迟 7 分钟 补执行'],
    [rc('max_runtime.exceeded', { ran_ms: 43_500_000, max_ms: 43_200_000, since: '08:00' }), 'billed continuously for 12h 5m ≥ 12h (since 08:00)', '已连续计费 12 小时 5 分钟（≥ 12 小时），自 08:00 起'],
    [rc('runway.low', { runway_ms: 5_400_000, burn_yuan: 3.18, balance_yuan: 4.77 }), 'runway 1h 30m at ¥3.18/h (balance ≈ ¥4.77 now)', '按每小时 ¥3.18 的消耗，当前余额约 ¥4.77，约可用 1 小时 30 分钟'],
    [rc('budget.exceeded_month', { spent_yuan: 812.4, limit_yuan: 800 }), 'estimated spend ¥812.40 this month > limit ¥800.00', '本月预估花费 ¥812.40，超过预算 ¥800.00'],
    [rc('balance.below', { balance_yuan: 23.5, threshold_yuan: 30 }), 'balance ¥23.50 < ¥30.00', '余额 ¥23.50 低于 ¥30.00'],
    [rc('api.act_now', { who: 'alice' }), 'requested through the API by alice', '由 alice 通过 API 请求'],
    [rc('jupyter.busy', { signals_list: 'jupyter.kernel_executing,jupyter.connections', connections: 2 }), 'jupyter: a kernel is executing; 2 open kernel connection(s)', 'Jupyter：有内核正在执行；2 个内核连接'],
    [rc('jupyter.idle', { idle_ms: 1_228_000, kernels: 1, terminals: 0 }), 'jupyter: no activity for 20m 28s (1 kernels, 0 terminals)', 'Jupyter：20 分钟 28 秒无活动（1 个内核，0 个终端）'],
    [rc('comfyui.busy', { running: 1, pending: 3 }), 'comfyui queue: 1 running, 3 pending', 'ComfyUI 队列：1 个运行中，3 个等待中'],
    [rc('sdwebui.busy', { progress_pct: 42, jobs: 1 }), 'sdwebui job in progress (42%, 1 job(s))', 'SD WebUI 正在生成（42%，1 个任务）'],
    [rc('gpu.busy', { util_pct: 87, busy_pct: 10 }), 'gpu: GPU at 87% (busy at 10%)', 'GPU：利用率 87%（≥ 10% 视为忙碌）'],
    [rc('heartbeat.stale', { age_ms: 300_000 }), 'heartbeat stale: last one 5m ago', '心跳已过期：上一次在 5 分钟前'],
    [rc('probe.timeout', { probe: 'jupyter', timeout_ms: 5000 }), 'jupyter: timed out after 5s', 'jupyter：5 秒后超时'],
  ])('%j reads "%s" / "%s"', (code, en, zh) => {
    expect(formatReason(code, 'en')).toBe(en);
    expect(formatReason(code, 'zh-CN')).toBe(zh);
  });

  // Every phrase the probes put in `error` (src/probes/http.ts describeError / errorPhrase, jupyter.ts, web.ts,
  // gpu-link.ts), with its zh-CN reading: a zh-CN page once showed "jupyter：探测失败：HTTP 502 from http://…".
  it.each([
    ['timed out', '超时'],
    ['connection refused', '连接被拒绝'],
    ['host not found', '找不到主机'],
    ['connection reset', '连接被重置'],
    ['connection closed', '连接被对方关闭'],
    ['network error EPIPE', '网络错误 EPIPE'],
    ['invalid JSON in response', '回答不是有效的 JSON'],
    ['answer larger than 1048576 bytes', '回答超过 1048576 字节'],
    ['unexpected answer', '回答格式不符'],
    ['invalid url', '地址无效'],
    ['unsupported protocol ftp:', '不支持的协议 ftp:'],
    ['HTTP 502', 'HTTP 502'],
    ['token rejected (HTTP 403)', '令牌被拒绝（HTTP 403）'],
    ['nvidia-smi exit 9', 'nvidia-smi 退出码 9'],
    ['failed (TypeError)', '失败（TypeError）'],
    ['failed', '失败'],
  ])('the probe failure "%s" reads "%s" in zh-CN and as is in English', (error, zh) => {
    expect(formatReason(rc('probe.failed', { probe: 'jupyter', error }), 'zh-CN')).toBe(`jupyter：探测失败：${zh}`);
    expect(formatReason(rc('probe.failed', { probe: 'jupyter', error }), 'en')).toBe(`jupyter: probe failed: ${error}`);
    expect(formatReason(rc('probe.failed', { probe: 'jupyter', error }), 'zh-CN'), 'no English phrase left').not.toMatch(/[a-z]{2,} [a-z]{2,}/);
  });

  it('shows an error phrase the catalog does not know as is (a raw SSH library message), and every entry is anchored', () => {
    expect(formatReason(rc('gpu.down_error', { error: 'All configured authentication methods failed' }), 'zh-CN')).toBe('SSH 失败：All configured authentication methods failed');
    for (const [re] of ERROR_PHRASES) expect(re.source, 'a whole-phrase match').toMatch(/^\^.*\$$/);
  });

  it('joins probe details after the main reason', () => {
    const idle = rc('idle.release', { idle_ms: 2_760_000, idle_for_ms: 2_700_000, since: '01:14' }, [rc('jupyter.empty'), rc('gpu.idle', { util_pct: 0, samples: 6, busy_pct: 10 })]);
    expect(formatReason(idle, 'zh-CN')).toBe('已空闲 46 分钟（≥ 45 分钟），自 01:14 起；Jupyter：没有内核、会话或终端；GPU：6 次采样最高 0%（≥ 10% 视为忙碌）');
  });

  it.each([
    ['an unknown code', rc('idle.forever')],
    ['a missing parameter', rc('balance.below', { balance_yuan: 3 })],
    ['a non-numeric duration', rc('idle.warn', { idle_ms: 'soon', idle_for_ms: 1 })],
    ['an unknown detail', rc('idle.warn', { idle_ms: 1, idle_for_ms: 1 }, [rc('nope')])],
    ['an unknown code inside a list', rc('jupyter.busy', { signals_list: 'jupyter.kernel_executing,jupyter.telepathy' })],
    ['a prototype key', rc('__proto__')],
  ])('%s falls back to the English text', (_name, code) => {
    expect(formatReason(code, 'zh-CN')).toBeUndefined();
    expect(reasonText('the English text', code, 'zh-CN')).toBe('the English text');
  });

  it('formats durations with at most two units in both locales', () => {
    expect([0, 45_000, 2_700_000, 5_400_000, 93_600_000].map((ms) => formatDurationIn(ms, 'en'))).toEqual(['0s', '45s', '45m', '1h 30m', '1d 2h']);
    expect([0, 45_000, 5_400_000, 93_600_000].map((ms) => formatDurationIn(ms, 'zh-CN'))).toEqual(['0 秒', '45 秒', '1 小时 30 分钟', '1 天 2 小时']);
  });

  it('every code has a template in both locales with the same placeholders', () => {
    for (const [code, t] of Object.entries(REASONS)) {
      const names = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
      expect(names(t['zh-CN']), code).toEqual(names(t.en));
    }
  });

  it('the catalog module imports nothing (the dashboard can load it as is)', () => {
    const src = readFileSync(new URL('../../src/notify/reasons.ts', import.meta.url), 'utf8');
    expect(src).not.toMatch(/^\s*import\s/m);
  });
});
