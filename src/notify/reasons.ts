/**
 * Reason codes: why a policy or probe decided, as a code and parameters beside the English reason text, rendered
 * here in the reader's locale. Pure and dependency-free (the dashboard may load this file in the browser).
 *
 * Placeholders `{name}` take `params[name]`; the name's suffix says how it is shown:
 * `_ms` a duration (`1h 30m`, `1 小时 30 分钟`), `_yuan` money (`¥1.59`), `_pct` a percentage (`12%`),
 * `_list` a comma-separated list of further codes rendered with the same params and joined; anything else as is.
 * `details` (optional) are rendered after the main text, joined by `; ` (probe details of an idle decision).
 * An unknown code or a missing parameter renders nothing, so the caller falls back to the English text.
 */

/** Languages the catalog speaks (the same as the notification locales). */
export type ReasonLocale = 'en' | 'zh-CN';

/** Parameters of a reason code. */
export type ReasonParams = Record<string, string | number>;

/** A reason as a code with its parameters (and, for idle decisions, the probe details). */
export interface ReasonCode {
  code: string;
  params: ReasonParams;
  details?: ReasonCode[];
}

/** The catalog: code -> one template per locale. */
export const REASONS: Readonly<Record<string, Readonly<Record<ReasonLocale, string>>>> = {
  // policies
  'idle.release': { en: 'idle {idle_ms} ≥ {idle_for_ms} since {since}', 'zh-CN': '已空闲 {idle_ms}（≥ {idle_for_ms}），自 {since} 起' },
  'idle.warn': { en: 'idle {idle_ms} of {idle_for_ms}', 'zh-CN': '已空闲 {idle_ms}，满 {idle_for_ms} 时执行' },
  'schedule.due': { en: 'schedule "{cron}" ({tz}) at {at}', 'zh-CN': '定时「{cron}」（{tz}）于 {at}' },
  'schedule.due_late': { en: 'schedule "{cron}" ({tz}) at {at}, caught up {late_ms} late', 'zh-CN': '定时「{cron}」（{tz}）于 {at}，延迟 {late_ms} 补执行' },
  'schedule.next': { en: '{policy} at {at}, in {in_ms}', 'zh-CN': '{policy} 于 {at}（{in_ms}后）' },
  'max_runtime.exceeded': { en: 'billed continuously for {ran_ms} ≥ {max_ms} (since {since})', 'zh-CN': '已连续计费 {ran_ms}（≥ {max_ms}），自 {since} 起' },
  'max_runtime.warn': { en: 'billed {ran_ms} of max {max_ms}', 'zh-CN': '已计费 {ran_ms}，上限 {max_ms}' },
  'runway.low': { en: 'runway {runway_ms} at {burn_yuan}/h (balance {balance_yuan})', 'zh-CN': '按每小时 {burn_yuan} 的消耗，余额 {balance_yuan} 约可用 {runway_ms}' },
  'runway.release': {
    en: 'runway {runway_ms} at {burn_yuan}/h (balance {balance_yuan}) < act_hours {act_hours}h; releasing {rate_yuan}/h',
    'zh-CN': '余额约可用 {runway_ms}（每小时 {burn_yuan}，余额 {balance_yuan}），低于 {act_hours} 小时；释放 {rate_yuan}/小时',
  },
  'budget.exceeded_day': { en: 'estimated spend {spent_yuan} this day > limit {limit_yuan}', 'zh-CN': '今日预估花费 {spent_yuan}，超过预算 {limit_yuan}' },
  'budget.exceeded_month': { en: 'estimated spend {spent_yuan} this month > limit {limit_yuan}', 'zh-CN': '本月预估花费 {spent_yuan}，超过预算 {limit_yuan}' },
  'balance.below': { en: 'balance {balance_yuan} < {threshold_yuan}', 'zh-CN': '余额 {balance_yuan} 低于 {threshold_yuan}' },
  'api.act_now': { en: 'requested through the API by {who}', 'zh-CN': '由 {who} 通过 API 请求' },
  // probes: jupyter
  'jupyter.busy': { en: 'jupyter: {signals_list}', 'zh-CN': 'Jupyter：{signals_list}' },
  'jupyter.kernel_executing': { en: 'a kernel is executing', 'zh-CN': '有内核正在执行' },
  'jupyter.kernel_starting': { en: 'a kernel is starting', 'zh-CN': '有内核正在启动' },
  'jupyter.kernel_activity': { en: 'recent kernel activity', 'zh-CN': '内核近期有活动' },
  'jupyter.connections': { en: '{connections} open kernel connection(s)', 'zh-CN': '{connections} 个内核连接' },
  'jupyter.terminal_activity': { en: 'recent terminal activity', 'zh-CN': '终端近期有活动' },
  'jupyter.session_activity': { en: 'recent session activity', 'zh-CN': '会话近期有活动' },
  'jupyter.idle': { en: 'jupyter: no activity for {idle_ms} ({kernels} kernels, {terminals} terminals)', 'zh-CN': 'Jupyter：{idle_ms}无活动（{kernels} 个内核，{terminals} 个终端）' },
  'jupyter.empty': { en: 'jupyter: no kernels, sessions or terminals', 'zh-CN': 'Jupyter：没有内核、会话或终端' },
  // probes: comfyui, sdwebui
  'comfyui.busy': { en: 'comfyui queue: {running} running, {pending} pending', 'zh-CN': 'ComfyUI 队列：{running} 个运行中，{pending} 个等待中' },
  'comfyui.idle': { en: 'comfyui queue empty', 'zh-CN': 'ComfyUI 队列为空' },
  'sdwebui.busy': { en: 'sdwebui job in progress ({progress_pct}, {jobs} job(s))', 'zh-CN': 'SD WebUI 正在生成（{progress_pct}，{jobs} 个任务）' },
  'sdwebui.idle': { en: 'sdwebui has no job in progress', 'zh-CN': 'SD WebUI 没有进行中的任务' },
  // probes: gpu over ssh
  'gpu.busy': { en: 'gpu: GPU at {util_pct} (busy at {busy_pct})', 'zh-CN': 'GPU：利用率 {util_pct}（≥ {busy_pct} 视为忙碌）' },
  'gpu.idle': { en: 'gpu: GPU at most {util_pct} over {samples} sample(s) (busy at {busy_pct})', 'zh-CN': 'GPU：{samples} 次采样最高 {util_pct}（≥ {busy_pct} 视为忙碌）' },
  'gpu.no_nvidia_smi': { en: 'gpu: nvidia-smi not found on the instance', 'zh-CN': 'GPU：实例上找不到 nvidia-smi' },
  'ssh.auth_failed': { en: 'gpu: ssh authentication failed for user {user}', 'zh-CN': 'GPU：SSH 用户 {user} 认证失败' },
  'ssh.timeout': { en: 'gpu: ssh timed out during handshake', 'zh-CN': 'GPU：SSH 握手超时' },
  // probes: heartbeat
  'heartbeat.busy': { en: 'heartbeat: agent reports busy', 'zh-CN': '心跳：代理报告忙碌' },
  'heartbeat.gpu_busy': { en: 'heartbeat: agent reports GPU at {util_pct}', 'zh-CN': '心跳：代理报告 GPU 利用率 {util_pct}' },
  'heartbeat.idle': { en: 'heartbeat: agent reports GPU at {util_pct} (below {busy_pct})', 'zh-CN': '心跳：代理报告 GPU 利用率 {util_pct}（低于 {busy_pct}）' },
  'heartbeat.idle_no_gpu': { en: 'heartbeat: agent reports no GPU figure', 'zh-CN': '心跳：代理未报告 GPU 利用率' },
  'heartbeat.none': { en: 'heartbeat: none received yet', 'zh-CN': '心跳：尚未收到' },
  'heartbeat.stale': { en: 'heartbeat stale: last one {age_ms} ago', 'zh-CN': '心跳已过期：上一次在 {age_ms}前' },
  // probes: any
  'probe.timeout': { en: '{probe}: timed out after {timeout_ms}', 'zh-CN': '{probe}：{timeout_ms}后超时' },
  'probe.failed': { en: '{probe}: probe failed: {error}', 'zh-CN': '{probe}：探测失败：{error}' },
};

const UNITS: Record<ReasonLocale, { d: string; h: string; m: string; s: string; sep: string; list: string }> = {
  en: { d: 'd', h: 'h', m: 'm', s: 's', sep: ' ', list: '; ' },
  'zh-CN': { d: ' 天', h: ' 小时', m: ' 分钟', s: ' 秒', sep: ' ', list: '；' },
};

/** A duration in ms as at most two units in `locale`: `1h 30m` / `1 小时 30 分钟`, `45s` / `45 秒`. */
export function formatDurationIn(ms: number, locale: ReasonLocale): string {
  const u = UNITS[locale];
  let s = Math.max(0, Math.round(ms / 1000));
  const parts: Array<[number, string]> = [];
  for (const [size, unit] of [
    [86_400, u.d],
    [3_600, u.h],
    [60, u.m],
    [1, u.s],
  ] as const) {
    const n = Math.floor(s / size);
    s -= n * size;
    if (n > 0 || (size === 1 && parts.length === 0)) parts.push([n, unit]);
  }
  return parts
    .slice(0, 2)
    .map(([n, unit]) => `${n}${unit}`)
    .join(u.sep);
}

/** The separator between list items and details in `locale`. */
export function listSeparator(locale: ReasonLocale): string {
  return UNITS[locale].list;
}

function value(name: string, params: ReasonParams, locale: ReasonLocale): string | undefined {
  const v = params[name];
  if (v === undefined) return undefined;
  if (name.endsWith('_list')) {
    const parts = String(v)
      .split(',')
      .map((c) => c.trim())
      .filter(Boolean)
      .map((code) => formatReason({ code, params }, locale));
    return parts.length && parts.every((p) => p !== undefined) ? parts.join(UNITS[locale].list) : undefined;
  }
  const n = typeof v === 'number' ? v : Number(v);
  if (name.endsWith('_ms')) return Number.isFinite(n) ? formatDurationIn(n, locale) : undefined;
  if (name.endsWith('_yuan')) return Number.isFinite(n) ? `${n < 0 ? '-' : ''}¥${Math.abs(n).toFixed(2)}` : undefined;
  if (name.endsWith('_pct')) return Number.isFinite(n) ? `${Math.round(n * 10) / 10}%` : undefined;
  return String(v);
}

/** `rc` in `locale`, or undefined when its code (or a detail's) is unknown or a parameter is missing. */
export function formatReason(rc: ReasonCode, locale: ReasonLocale): string | undefined {
  const template = typeof rc.code === 'string' && Object.hasOwn(REASONS, rc.code) ? REASONS[rc.code]![locale] : undefined;
  if (template === undefined || !rc.params || typeof rc.params !== 'object') return undefined;
  let missing = false;
  const main = template.replace(/\{(\w+)\}/g, (_m, name: string) => {
    const v = value(name, rc.params, locale);
    if (v === undefined) missing = true;
    return v ?? '';
  });
  if (missing) return undefined;
  const details = (rc.details ?? []).map((d) => formatReason(d, locale));
  if (details.some((d) => d === undefined)) return undefined;
  return [main, ...details].join(UNITS[locale].list);
}

/** The reason to show: the code rendered in `locale` when the catalog knows it, else the given text (or ''). */
export function reasonText(text: string | undefined, rc: ReasonCode | undefined, locale: ReasonLocale): string {
  return (rc ? formatReason(rc, locale) : undefined) ?? text ?? '';
}
