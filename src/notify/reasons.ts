/**
 * Reason codes: why a policy or probe decided, as a code and parameters beside the English reason text, rendered
 * here in the reader's locale. Pure and dependency-free (the dashboard may load this file in the browser).
 *
 * Placeholders `{name}` take `params[name]`; the name's suffix says how it is shown:
 * `_ms` a duration (`1h 30m`, `1 小时 30 分钟`), `_yuan` money (`¥1.59`), `_pct` a percentage (`12%`),
 * `_list` a comma-separated list of further codes rendered with the same params and joined; `error` a failure
 * phrase, translated when it is one of ERROR_PHRASES (else shown as is); anything else as is.
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
  'stopped_with_gpu.release': {
    en: 'stopped {stopped_ms} (since {since}) with its GPU still billed at {rate_yuan}/h',
    'zh-CN': '已关机 {stopped_ms}（自 {since} 起），GPU 仍按 {rate_yuan}/小时计费',
  },
  'stopped_with_gpu.warn': { en: 'stopped {stopped_ms} of {after_ms}; GPU still billed at {rate_yuan}/h', 'zh-CN': '已关机 {stopped_ms}（满 {after_ms} 时释放）；GPU 仍按 {rate_yuan}/小时计费' },
  'runway.critical': {
    en: 'runway {runway_ms} at {burn_yuan}/h (balance ≈ {balance_yuan} now) and what still burns is protected: the platform destroys every instance at ¥0',
    'zh-CN': '余额约可用 {runway_ms}（每小时 {burn_yuan}，当前余额约 {balance_yuan}），仍在计费的实例受保护：余额归零时平台将销毁所有实例',
  },
  'runway.last_resort': {
    en: 'last resort: runway {runway_ms} ≤ {last_resort_ms} at {burn_yuan}/h (balance ≈ {balance_yuan} now); releasing protected {rate_yuan}/h before the platform destroys it',
    'zh-CN': '最后手段：余额仅够 {runway_ms}（≤ {last_resort_ms}，每小时 {burn_yuan}，当前余额约 {balance_yuan}）；在平台销毁前释放受保护实例（{rate_yuan}/小时）',
  },
  'runway.low': { en: 'runway {runway_ms} at {burn_yuan}/h (balance ≈ {balance_yuan} now)', 'zh-CN': '按每小时 {burn_yuan} 的消耗，当前余额约 {balance_yuan}，约可用 {runway_ms}' },
  'runway.release': {
    en: 'runway {runway_ms} at {burn_yuan}/h (balance ≈ {balance_yuan} now) < act_hours {act_hours}h; releasing {rate_yuan}/h',
    'zh-CN': '余额约可用 {runway_ms}（每小时 {burn_yuan}，当前余额约 {balance_yuan}），低于 {act_hours} 小时；释放 {rate_yuan}/小时',
  },
  'budget.exceeded_day': { en: 'estimated spend {spent_yuan} this day > limit {limit_yuan}', 'zh-CN': '今日预估花费 {spent_yuan}，超过预算 {limit_yuan}' },
  'budget.exceeded_month': { en: 'estimated spend {spent_yuan} this month > limit {limit_yuan}', 'zh-CN': '本月预估花费 {spent_yuan}，超过预算 {limit_yuan}' },
  'balance.below': { en: 'balance {balance_yuan} < {threshold_yuan}', 'zh-CN': '余额 {balance_yuan} 低于 {threshold_yuan}' },
  'balance.empty': { en: 'balance {balance_yuan} ≤ ¥0: the platform destroys instances', 'zh-CN': '余额 {balance_yuan} ≤ ¥0：平台将销毁实例' },
  'wake.requested': { en: 'wake requested by {who}', 'zh-CN': '由 {who} 请求唤醒' },
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
  'gpu.busy_cpu': { en: 'gpu: CPU load {load} held over {samples} samples (busy at {busy_load})', 'zh-CN': 'GPU 探针：CPU 负载 {load} 持续 {samples} 次采样（≥ {busy_load} 视为忙碌）' },
  'gpu.busy_net': { en: 'gpu: network {rate} held over {readings} readings (busy at {busy_rate})', 'zh-CN': 'GPU 探针：网络 {rate} 持续 {readings} 次读数（≥ {busy_rate} 视为忙碌）' },
  'gpu.busy_login_now': { en: 'gpu: SSH login on {tty} typed within the last minute', 'zh-CN': 'GPU 探针：SSH 登录 {tty} 一分钟内有输入' },
  'gpu.busy_login': { en: 'gpu: SSH login on {tty} typed {idle_ms} ago', 'zh-CN': 'GPU 探针：SSH 登录 {tty} 在 {idle_ms}前有输入' },
  'gpu.idle_window': { en: 'gpu: GPU at most {util_pct}', 'zh-CN': 'GPU：利用率最高 {util_pct}' },
  'gpu.part_load': { en: 'load {load}', 'zh-CN': '负载 {load}' },
  'gpu.part_net': { en: 'network {rate}', 'zh-CN': '网络 {rate}' },
  'gpu.part_no_login': { en: 'no login', 'zh-CN': '无登录' },
  'gpu.part_logins_idle': { en: '{logins} login(s), none typed within {window_ms}', 'zh-CN': '{logins} 个登录，{window_ms}内均无输入' },
  'gpu.no_sample_window': { en: 'gpu: no GPU sample in the window', 'zh-CN': 'GPU：窗口内没有采样' },
  'gpu.not_seen': { en: 'gpu: GPU not seen', 'zh-CN': 'GPU：看不到 GPU' },
  'gpu.connecting': { en: 'connecting over SSH', 'zh-CN': '正在通过 SSH 连接' },
  'gpu.no_sample': { en: 'no sample yet', 'zh-CN': '尚无采样' },
  'gpu.stale': { en: 'last sample {age_ms} ago', 'zh-CN': '上次采样在 {age_ms}前' },
  'gpu.down_no_endpoint': { en: 'no SSH endpoint in the API answer yet', 'zh-CN': 'API 尚未提供 SSH 地址' },
  'gpu.down_no_credentials': { en: 'no private key configured and no instance password', 'zh-CN': '未配置私钥，实例也没有密码' },
  'gpu.down_refused': { en: 'SSH connection to {host_port} refused', 'zh-CN': 'SSH 连接 {host_port} 被拒绝' },
  'gpu.down_timeout': { en: 'SSH handshake timed out', 'zh-CN': 'SSH 握手超时' },
  'gpu.down_auth_failed': { en: 'SSH authentication failed for user {user}', 'zh-CN': 'SSH 用户 {user} 认证失败' },
  'gpu.down_host_key_changed': { en: 'SSH host key of {host_port} changed; not connecting', 'zh-CN': '{host_port} 的 SSH 主机密钥已变更，不再连接' },
  'gpu.down_no_nvidia_smi': { en: 'nvidia-smi not found on the instance', 'zh-CN': '实例上找不到 nvidia-smi' },
  'gpu.down_closed': { en: 'the SSH connection was lost', 'zh-CN': 'SSH 连接已断开' },
  'gpu.down_error': { en: 'SSH failed: {error}', 'zh-CN': 'SSH 失败：{error}' },
  'idle.gpu_not_seen': { en: 'GPU not seen: acts only after a warning', 'zh-CN': '看不到 GPU：先发警告再执行' },
  'probe.text': { en: '{probe}: {text}', 'zh-CN': '{probe}：{text}' },
  'probe.stale': { en: '{probe}: stale, last answer {age_ms} ago', 'zh-CN': '{probe}：已过期，上次回答在 {age_ms}前' },
  'probe.unexpected': { en: '{probe}: unexpected answer', 'zh-CN': '{probe}：回答格式不符' },
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

/**
 * The failure phrases probes put in an `error` parameter (src/probes/http.ts describeError and errorPhrase, the
 * Jupyter and web probes, the GPU link), in zh-CN. English shows them as they are; an unlisted phrase (a raw SSH
 * library message) is shown as is in both locales.
 */
export const ERROR_PHRASES: ReadonlyArray<readonly [RegExp, string]> = [
  [/^timed out$/, '超时'],
  [/^connection refused$/, '连接被拒绝'],
  [/^host not found$/, '找不到主机'],
  [/^connection reset$/, '连接被重置'],
  [/^connection closed$/, '连接被对方关闭'],
  [/^network error (\w+)$/, '网络错误 $1'],
  [/^invalid JSON in response$/, '回答不是有效的 JSON'],
  [/^answer larger than (\d+) bytes$/, '回答超过 $1 字节'],
  [/^unexpected answer$/, '回答格式不符'],
  [/^invalid url$/, '地址无效'],
  [/^unsupported protocol ([\w:]+)$/, '不支持的协议 $1'],
  [/^HTTP (\d{3})$/, 'HTTP $1'],
  [/^token rejected \(HTTP (\d{3})\)$/, '令牌被拒绝（HTTP $1）'],
  [/^nvidia-smi exit (\w+)$/, 'nvidia-smi 退出码 $1'],
  [/^failed \((\w+)\)$/, '失败（$1）'],
  [/^failed$/, '失败'],
];

function errorIn(phrase: string, locale: ReasonLocale): string {
  if (locale === 'en') return phrase;
  for (const [re, zh] of ERROR_PHRASES) if (re.test(phrase)) return phrase.replace(re, zh);
  return phrase;
}

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
  if (name === 'error') return errorIn(String(v), locale);
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

/** A stored reason code (JSON text) back as a ReasonCode, or undefined when absent or not one. */
export function parseReasonCode(json: string | null | undefined): ReasonCode | undefined {
  if (!json) return undefined;
  try {
    const v = JSON.parse(json) as unknown;
    return isReasonCode(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

/** Whether `v` has the shape of a ReasonCode (code string, params object, details of the same shape). */
export function isReasonCode(v: unknown): v is ReasonCode {
  if (!v || typeof v !== 'object') return false;
  const r = v as Partial<ReasonCode>;
  if (typeof r.code !== 'string' || !r.params || typeof r.params !== 'object' || Array.isArray(r.params)) return false;
  if (!Object.values(r.params).every((p) => typeof p === 'string' || typeof p === 'number')) return false;
  return r.details === undefined || (Array.isArray(r.details) && r.details.every(isReasonCode));
}

/** The reason to show: the code rendered in `locale` when the catalog knows it, else the given text (or ''). */
export function reasonText(text: string | undefined, rc: ReasonCode | undefined, locale: ReasonLocale): string {
  return (rc ? formatReason(rc, locale) : undefined) ?? text ?? '';
}
