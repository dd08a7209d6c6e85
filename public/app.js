// xgc-guard dashboard: plain ES module, no build step, no dependencies besides uPlot (a global from /assets/uplot.js).
// All data is put into the page as text nodes (never innerHTML). Times come from the server's clock (/readyz `now`),
// so countdowns agree with the demo's accelerated world.

const TOKEN_KEY = 'xgc-guard.token';
const LOCALE_KEY = 'xgc-guard.locale';
const REFRESH_MS = 5000;
const PALETTE = ['#4f6bed', '#2fa37a', '#e8a33d', '#d4577b', '#8a63d2', '#2c9fc4', '#a0785a', '#7a8b99', '#c2b93a', '#5ab85a'];

const TEXT = {
  en: {
    otherLocale: '中文',
    demo: 'demo',
    dryRunMode: 'dry run: acts on nothing',
    readOnly: 'read-only',
    signOut: 'Forget token',
    tokenTitle: 'API token',
    tokenHelp: 'This guard needs its API token (GUARD_API_TOKEN). It is kept in this tab only.',
    tokenSave: 'Open dashboard',
    tokenRejected: 'That token was not accepted.',
    balance: 'Balance',
    burnRate: 'Burn rate',
    runway: 'Runway',
    health: 'Guard health',
    instances: 'Instances',
    spend30: 'Spend per day · 30 days',
    overrides: 'Active overrides',
    actions: 'Recent actions',
    colName: 'Instance', colStatus: 'Status', colGpu: 'GPU', colRate: '¥/h', colIdle: 'Idle', colToday: 'Today',
    colNext: 'Next planned action', colControl: 'Keep running',
    colTime: 'Time', colInstance: 'Instance', colPolicy: 'Policy', colAction: 'Action', colState: 'State', colReason: 'Reason', colSaved: 'Saved',
    perDay: (v) => `≈ ${v} per day`,
    today: (v) => `today ${v}`,
    asOf: (t) => `as of ${t}`,
    hoursLeft: (h) => `${h} h`,
    noBurn: 'no burn',
    thresholds: (w, a) => `warn at ${w} h · act at ${a} h`,
    noRunwayPolicy: 'no runway policy',
    lastTick: 'Last tick', blindTicks: 'Blind ticks', outbox: 'Outbox', role: 'Role',
    outboxText: (p, d) => `${p} pending · ${d} dead`,
    ago: (d) => `${d} ago`,
    in: (d) => `in ${d}`,
    due: 'due now',
    since: (d) => `for ${d}`,
    never: 'never',
    none: 'none',
    noInstances: 'No instances.',
    noActions: 'No actions yet.',
    noOverrides: 'No active overrides.',
    count: (n) => `${n} total`,
    snooze1h: 'Snooze 1h', snooze2h: 'Snooze 2h', exempt: 'Exempt', exemptConfirm: 'Sure? exempt', revoke: 'Revoke',
    forever: 'forever',
    until: (t) => `until ${t}`,
    by: (w) => `by ${w}`,
    dryRun: 'dry run',
    released: 'released',
    total: (e, o) => `estimated ${e} · observed ${o}`,
    savedTotal: (s) => `saved ${s} in 30 days`,
    estimated: 'estimated', observed: 'observed', other: 'other',
    created: 'Override created.', revoked: 'Override revoked.',
    updated: (d) => `updated ${d} ago`,
    offline: 'cannot reach the guard',
    failed: (m) => `Failed: ${m}`,
    units: { d: 'd', h: 'h', m: 'm', s: 's' },
    status: {},
    verdict: { idle: 'idle', busy: 'busy', unknown: 'unknown' },
    action: { release_gpu: 'release GPU', shutdown: 'shut down', destroy: 'destroy', notify: 'notify' },
    state: {},
    kind: { snooze: 'snooze', exempt: 'exempt' },
    outcome: {},
  },
  'zh-CN': {
    otherLocale: 'EN',
    demo: '演示',
    dryRunMode: '演练模式：不执行任何操作',
    readOnly: '只读',
    signOut: '清除令牌',
    tokenTitle: 'API 令牌',
    tokenHelp: '访问此守护程序需要 API 令牌（GUARD_API_TOKEN），仅保存在当前标签页中。',
    tokenSave: '打开控制台',
    tokenRejected: '令牌无效。',
    balance: '余额',
    burnRate: '消耗速度',
    runway: '可用时长',
    health: '守护状态',
    instances: '实例',
    spend30: '每日花费 · 30 天',
    overrides: '生效中的例外',
    actions: '最近操作',
    colName: '实例', colStatus: '状态', colGpu: 'GPU', colRate: '¥/小时', colIdle: '空闲', colToday: '今日',
    colNext: '下一步计划', colControl: '保持运行',
    colTime: '时间', colInstance: '实例', colPolicy: '策略', colAction: '操作', colState: '状态', colReason: '原因', colSaved: '节省',
    perDay: (v) => `约 ${v} / 天`,
    today: (v) => `今日 ${v}`,
    asOf: (t) => `更新于 ${t}`,
    hoursLeft: (h) => `${h} 小时`,
    noBurn: '当前无消耗',
    thresholds: (w, a) => `${w} 小时预警 · ${a} 小时执行`,
    noRunwayPolicy: '未配置 runway 策略',
    lastTick: '上次巡检', blindTicks: '盲巡检', outbox: '通知队列', role: '角色',
    outboxText: (p, d) => `待发 ${p} · 失败 ${d}`,
    ago: (d) => `${d}前`,
    in: (d) => `${d}后`,
    due: '即将执行',
    since: (d) => `已 ${d}`,
    never: '从未',
    none: '无',
    noInstances: '没有实例。',
    noActions: '暂无操作。',
    noOverrides: '没有生效中的例外。',
    count: (n) => `共 ${n} 个`,
    snooze1h: '暂缓 1 小时', snooze2h: '暂缓 2 小时', exempt: '豁免', exemptConfirm: '确认豁免？', revoke: '撤销',
    forever: '永久',
    until: (t) => `至 ${t}`,
    by: (w) => `由 ${w}`,
    dryRun: '演练',
    released: '已释放',
    total: (e, o) => `估算 ${e} · 实际 ${o}`,
    savedTotal: (s) => `30 天节省 ${s}`,
    estimated: '估算', observed: '实际', other: '其他',
    created: '已创建例外。', revoked: '已撤销例外。',
    updated: (d) => `${d}前更新`,
    offline: '无法连接守护程序',
    failed: (m) => `失败：${m}`,
    units: { d: '天', h: '小时', m: '分', s: '秒' },
    status: {
      deploying: '部署中', running: '运行中', booting: '开机中', shutting_down: '关机中', shutdown: '已关机',
      destroying: '销毁中', destroyed: '已销毁', saving_image: '保存镜像中', freezing: '冻结中', freeze: '已冻结', replacing_image: '更换镜像中',
    },
    verdict: { idle: '空闲', busy: '忙碌', unknown: '未知' },
    action: { release_gpu: '释放 GPU', shutdown: '关机', destroy: '销毁', notify: '通知' },
    state: { decided: '已决定', sent: '已发送', confirmed: '已确认', failed: '失败', aborted: '已中止', deferred: '已推迟' },
    kind: { snooze: '暂缓', exempt: '豁免' },
    outcome: { ok: '正常', blind: '盲', error: '错误' },
  },
};

const state = {
  locale: 'en',
  tz: 'Asia/Shanghai',
  role: 'open',
  session: null,
  data: {},
  errors: {},
  server: null, // { now: epoch ms of the world, perf: performance.now() when it arrived }
  rate: 1, // world ms per browser ms (the demo runs faster)
  lastOk: null,
  needToken: false,
  armed: null, // { key, until } for two-click buttons
  chart: null,
  chartKey: '',
  spark: null,
  inflight: false,
};

// ---------- small helpers ----------

const $ = (id) => document.getElementById(id);
const t = (key) => TEXT[state.locale][key] ?? TEXT.en[key] ?? key;
const label = (group, v) => TEXT[state.locale][group]?.[v] ?? String(v ?? '—').replace(/_/g, ' ');

/** Build an element; children are strings (as text nodes) or nodes. */
function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'data') for (const [dk, dv] of Object.entries(v)) el.dataset[dk] = String(dv);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) el.append(c instanceof Node ? c : String(c));
  return el;
}

function money(v) {
  const n = typeof v === 'number' ? v : Number(v);
  if (v === null || v === undefined || !Number.isFinite(n)) return '—';
  return `${n < 0 ? '-' : ''}¥${Math.abs(n).toFixed(2)}`;
}

/** A rate: like money, but a tiny non-zero rate (a retained disk) reads `<¥0.01` rather than `¥0.00`. */
function rateMoney(v) {
  const n = Number(v);
  return n > 0 && n < 0.005 ? '<¥0.01' : money(v);
}

function toMs(v) {
  if (typeof v === 'number') return v;
  if (typeof v !== 'string' || v === '') return null;
  const n = Date.parse(v);
  return Number.isFinite(n) ? n : null;
}

/** World time now, extrapolated from the server's last `now` at the observed world speed. */
function worldNow() {
  if (!state.server) return Date.now();
  return state.server.now + (performance.now() - state.server.perf) * state.rate;
}

/** A time as `03-10 14:05` (or `14:05`) in the server's timezone. */
function fmtTime(v, withDate = true) {
  const ms = toMs(v);
  if (ms === null) return '—';
  let parts;
  try {
    parts = new Intl.DateTimeFormat('en-CA', { timeZone: state.tz, month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).formatToParts(new Date(ms));
  } catch {
    parts = new Intl.DateTimeFormat('en-CA', { month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).formatToParts(new Date(ms));
  }
  const p = (type) => parts.find((x) => x.type === type)?.value ?? '';
  return withDate ? `${p('month')}-${p('day')} ${p('hour')}:${p('minute')}` : `${p('hour')}:${p('minute')}`;
}

/** A duration as `2h 05m` / `2小时05分`, at most two units. */
function fmtDur(ms) {
  const u = t('units');
  const zh = state.locale === 'zh-CN';
  const s = Math.max(0, Math.round(ms / 1000));
  const d = Math.floor(s / 86400), hh = Math.floor((s % 86400) / 3600), mm = Math.floor((s % 3600) / 60), ss = s % 60;
  const sep = zh ? '' : ' ';
  const two = (n) => String(n).padStart(2, '0');
  if (d > 0) return `${d}${u.d}${sep}${hh}${u.h}`;
  if (hh > 0) return `${hh}${u.h}${sep}${two(mm)}${u.m}`;
  if (mm > 0) return `${mm}${u.m}${sep}${two(ss)}${u.s}`;
  return `${ss}${u.s}`;
}

function num(v, digits = 1) {
  return typeof v === 'number' && Number.isFinite(v) ? v.toFixed(digits) : '—';
}

function toast(msg, isError = false) {
  const el = $('toast');
  el.textContent = msg;
  el.classList.toggle('error', isError);
  el.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => (el.hidden = true), 3500);
}

// ---------- API ----------

class AuthError extends Error {}
class ApiError extends Error {
  constructor(status, code, message) {
    super(message || code || `HTTP ${status}`);
    this.status = status;
    this.code = code;
  }
}

async function api(path, { method = 'GET', body, accept = [] } = {}) {
  const headers = { accept: 'application/json' };
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' });
  if (res.status === 401) throw new AuthError('unauthorized');
  const text = await res.text();
  let json = null;
  if (text) {
    try {
      json = JSON.parse(text);
    } catch {
      json = null;
    }
  }
  if (!res.ok && !accept.includes(res.status)) throw new ApiError(res.status, json?.error?.code, json?.error?.message);
  return json;
}

// ---------- refresh loop ----------

const SOURCES = {
  balance: '/api/v1/balance',
  spend: '/api/v1/spend?from=-30d&to=now&by=day&split=instance',
  instances: '/api/v1/instances',
  actions: '/api/v1/actions?limit=20',
  overrides: '/api/v1/overrides',
  policies: '/api/v1/policies',
};

async function refresh() {
  if (state.inflight || state.needToken) return;
  state.inflight = true;
  try {
    if (!state.session) {
      try {
        state.session = await api('/api/v1/session');
      } catch (err) {
        // An older daemon without /api/v1/session: assume an open API and keep the browser's language.
        if (!(err instanceof ApiError)) throw err;
        state.session = { role: 'open', fallback: true };
      }
      applySession();
    }
    const names = Object.keys(SOURCES);
    const [ready, ...rest] = await Promise.allSettled([api('/readyz', { accept: [503] }), ...names.map((n) => api(SOURCES[n]))]);
    const all = [ready, ...rest];
    if (all.some((r) => r.status === 'rejected' && r.reason instanceof AuthError)) throw new AuthError('unauthorized');
    if (ready.status === 'fulfilled' && ready.value) noteServerTime(ready.value.now);
    state.data.ready = ready.status === 'fulfilled' ? ready.value : state.data.ready;
    state.errors.ready = ready.status === 'rejected' ? ready.reason.message : null;
    names.forEach((n, i) => {
      const r = rest[i];
      if (r.status === 'fulfilled') state.data[n] = r.value;
      state.errors[n] = r.status === 'rejected' ? r.reason.message : null;
    });
    if (all.every((r) => r.status === 'rejected')) throw new Error(t('offline'));
    state.lastOk = performance.now();
    $('status-line').classList.remove('bad');
    showPanels();
    renderAll();
  } catch (err) {
    if (err instanceof AuthError) {
      showTokenForm(sessionStorage.getItem(TOKEN_KEY) ? t('tokenRejected') : null);
    } else {
      $('status-line').textContent = t('offline');
      $('status-line').classList.add('bad');
    }
  } finally {
    state.inflight = false;
  }
}

/** Keep the server's world time and estimate how fast it runs compared with this browser. */
function noteServerTime(iso) {
  const now = toMs(iso);
  if (now === null) return;
  const perf = performance.now();
  const prev = state.server;
  if (prev && perf - prev.perf > 1000) {
    const r = (now - prev.now) / (perf - prev.perf);
    if (Number.isFinite(r) && r >= 0) state.rate = state.rate === 1 && !prev.rated ? r : state.rate * 0.5 + r * 0.5;
  }
  state.server = { now, perf, rated: Boolean(prev) };
}

function applySession() {
  const s = state.session ?? {};
  state.tz = s.timezone || state.tz;
  state.role = s.role || 'open';
  const chosen = localStorage.getItem(LOCALE_KEY);
  state.locale = TEXT[chosen] ? chosen : TEXT[s.locale] ? s.locale : state.locale;
  document.body.classList.toggle('read-only', state.role === 'read');
  applyLocale();
}

function applyLocale() {
  document.documentElement.lang = state.locale;
  for (const el of document.querySelectorAll('[data-t]')) el.textContent = t(el.dataset.t);
  $('locale-toggle').textContent = t('otherLocale');
  $('token-forget').textContent = t('signOut');
  $('token-forget').hidden = !sessionStorage.getItem(TOKEN_KEY);
  const demo = $('demo-badge');
  demo.hidden = !state.session?.demo;
  demo.textContent = t('demo');
  const dry = $('dry-badge');
  dry.hidden = !state.session?.dry_run;
  dry.textContent = t('dryRunMode');
  const role = $('role-badge');
  role.hidden = state.role !== 'read';
  role.textContent = t('readOnly');
  $('token-input').placeholder = 'GUARD_API_TOKEN';
}

function showPanels() {
  $('token-panel').hidden = true;
  $('panels').hidden = false;
}

function showTokenForm(error) {
  state.needToken = true;
  state.session = null;
  $('panels').hidden = true;
  $('token-panel').hidden = false;
  $('token-forget').hidden = true;
  const e = $('token-error');
  e.hidden = !error;
  e.textContent = error ?? '';
  $('token-input').focus();
}

// ---------- rendering ----------

function renderAll() {
  renderBalance();
  renderRunway();
  renderHealth();
  renderInstances();
  renderSpend();
  renderOverrides();
  renderActions();
  tick();
}

function cardError(cardId, key) {
  const card = $(cardId);
  let el = card.querySelector('.card-error');
  const msg = state.errors[key];
  if (!msg) {
    el?.remove();
    return;
  }
  if (!el) {
    el = h('p', { class: 'card-error' });
    card.append(el);
  }
  el.textContent = t('failed')(msg);
}

function renderBalance() {
  const b = state.data.balance;
  cardError('card-balance', 'balance');
  if (!b) return;
  $('balance-value').textContent = money(b.balance);
  $('balance-value').classList.toggle('neg', Number(b.balance) < 0);
  $('balance-at').textContent = b.at ? t('asOf')(fmtTime(b.at)) : '';
  $('burn-value').textContent = typeof b.burn_rate === 'number' ? `${money(b.burn_rate)}/h` : '—';
  $('burn-day').textContent = typeof b.burn_rate === 'number' ? t('perDay')(money(b.burn_rate * 24)) : '';
  const today = (state.data.instances?.instances ?? []).reduce((s, i) => s + (Number(i.today_estimated) || 0), 0);
  $('burn-today').textContent = state.data.instances ? t('today')(money(today)) : '';
  renderSpark(b.history ?? []);
}

function renderSpark(history) {
  const box = $('balance-spark');
  const pts = history.map((p) => [toMs(p.at), Number(p.balance)]).filter(([x, y]) => x !== null && Number.isFinite(y));
  pts.sort((a, b) => a[0] - b[0]);
  if (pts.length < 2 || !window.uPlot) {
    state.spark?.destroy();
    state.spark = null;
    box.replaceChildren();
    return;
  }
  const data = [pts.map((p) => p[0] / 1000), pts.map((p) => p[1])];
  const width = Math.max(80, box.clientWidth);
  if (state.spark && state.spark.width === width) {
    state.spark.setData(data);
    return;
  }
  state.spark?.destroy();
  state.spark = new uPlot(
    {
      width,
      height: 34,
      pxAlign: false,
      cursor: { show: false },
      select: { show: false },
      legend: { show: false },
      scales: { x: { time: false } },
      axes: [{ show: false }, { show: false }],
      series: [{}, { stroke: '#4f6bed', width: 1.5, fill: 'rgba(79,107,237,0.10)', points: { show: false } }],
    },
    data,
    box,
  );
}

function runwayPolicy() {
  return (state.data.policies?.policies ?? []).find((p) => p.type === 'runway') ?? null;
}

function renderRunway() {
  const b = state.data.balance;
  const p = runwayPolicy();
  const warn = Number(p?.config?.warn_hours);
  const act = Number(p?.config?.act_hours);
  const hours = b?.runway_hours;
  const value = $('runway-value');
  value.classList.remove('ok', 'warn', 'act');
  if (b && (hours === null || hours === undefined || !Number.isFinite(Number(hours)))) {
    value.textContent = '∞';
    value.classList.add('ok');
  } else if (b) {
    const hv = Number(hours);
    value.textContent = t('hoursLeft')(hv >= 100 ? hv.toFixed(0) : hv.toFixed(1));
    value.classList.add(Number.isFinite(act) && hv <= act ? 'act' : Number.isFinite(warn) && hv <= warn ? 'warn' : 'ok');
  }
  const hasThresholds = Number.isFinite(warn) && Number.isFinite(act);
  $('runway-thresholds').textContent = !b ? '' : hasThresholds ? t('thresholds')(num(warn, 0), num(act, 0)) : t('noRunwayPolicy');
  const max = Math.max(hasThresholds ? warn * 2 : 24, 24);
  const hv = Number.isFinite(Number(hours)) && hours !== null ? Number(hours) : max;
  const fill = $('runway-fill');
  fill.style.width = `${Math.min(100, Math.max(0, (hv / max) * 100))}%`;
  fill.className = `fill ${value.classList.contains('act') ? 'act' : value.classList.contains('warn') ? 'warn' : 'ok'}`;
  $('runway-warn').hidden = !hasThresholds;
  $('runway-act').hidden = !hasThresholds;
  if (hasThresholds) {
    $('runway-warn').style.left = `${Math.min(100, (warn / max) * 100)}%`;
    $('runway-act').style.left = `${Math.min(100, (act / max) * 100)}%`;
  }
  cardError('card-runway', 'policies');
}

function renderHealth() {
  const r = state.data.ready;
  cardError('card-health', 'ready');
  const box = $('health-facts');
  if (!r) return;
  const tick = r.last_tick;
  const rows = [
    [
      t('lastTick'),
      tick
        ? h('span', {}, h('span', { class: 'countup', data: { at: tick.at } }, ''), ' · ', h('span', { class: `outcome o-${tick.outcome}` }, label('outcome', tick.outcome)))
        : t('never'),
    ],
    [t('blindTicks'), h('span', { class: Number(r.blind_ticks) > 0 ? 'warn-text' : '' }, r.blind_ticks ?? '—')],
    [t('outbox'), r.outbox ? h('span', { class: Number(r.outbox.dead) > 0 ? 'warn-text' : '' }, t('outboxText')(r.outbox.pending ?? 0, r.outbox.dead ?? 0)) : '—'],
    [t('role'), `${r.role ?? '—'} · ${r.db ?? '—'}`],
  ];
  box.replaceChildren(...rows.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
}

function canWrite() {
  return state.role !== 'read';
}

function renderInstances() {
  const list = state.data.instances?.instances ?? [];
  cardError('card-instances', 'instances');
  $('instances-count').textContent = state.data.instances ? t('count')(list.length) : '';
  const body = $('instances-body');
  if (!list.length) {
    body.replaceChildren(h('tr', {}, h('td', { colspan: 8, class: 'empty' }, t('noInstances'))));
    return;
  }
  const rows = list.map((i) => {
    const tags = (i.overrides ?? []).map((o) => h('span', { class: `tag k-${o.kind}` }, label('kind', o.kind)));
    const gpus = Number(i.gpu_count) || 0;
    const idle = i.idle ?? {};
    const idleSince = toMs(idle.since);
    const next = i.next_action;
    return h(
      'tr',
      { data: { instanceId: i.id } },
      h('td', {}, h('div', { class: 'iname' }, i.name || i.id, ...tags), h('div', { class: 'muted small mono' }, i.id)),
      h('td', {}, h('span', { class: `pill s-${i.status}` }, label('status', i.status))),
      h('td', {}, gpus > 0 ? `${i.gpu_model ?? ''} ×${gpus}` : h('span', { class: 'muted' }, `${i.gpu_model ?? ''} · ${t('released')}`)),
      h('td', { class: 'num', title: `${money(i.price_per_hour)}/h` }, rateMoney(i.billed_rate ?? i.price_per_hour)),
      h(
        'td',
        {},
        h('span', { class: `verdict v-${idle.verdict ?? 'unknown'}` }, label('verdict', idle.verdict ?? 'unknown')),
        idleSince !== null ? h('span', { class: 'muted small countup-since', data: { at: idle.since } }, '') : null,
      ),
      h('td', { class: 'num' }, money(i.today_estimated)),
      h(
        'td',
        { title: next?.reason ?? '' },
        next
          ? h(
              'div',
              { class: 'next' },
              h('span', { class: `act a-${next.action}` }, label('action', next.action)),
              h('span', { class: 'muted small' }, ` · ${next.policy}`),
              h('div', { class: 'small' }, next.at ? h('span', { class: 'countdown', data: { at: next.at } }, '') : '—'),
            )
          : h('span', { class: 'muted' }, '—'),
      ),
      canWrite() ? h('td', { class: 'controls write-only' }, ...instanceButtons(i)) : null,
    );
  });
  body.replaceChildren(...rows);
}

function instanceButtons(i) {
  const armedKey = `exempt:${i.id}`;
  const armed = state.armed && state.armed.key === armedKey && state.armed.until > performance.now();
  return [
    h('button', { type: 'button', class: 'btn small', data: { action: 'snooze-1h', instance: i.id } }, t('snooze1h')),
    h('button', { type: 'button', class: 'btn small', data: { action: 'snooze-2h', instance: i.id } }, t('snooze2h')),
    h('button', { type: 'button', class: `btn small ${armed ? 'danger' : 'ghost'}`, data: { action: 'exempt', instance: i.id } }, armed ? t('exemptConfirm') : t('exempt')),
  ];
}

/** What an override covers: an instance's name (its id when unknown) or a name glob. */
function overrideTarget(o) {
  const id = o.instance_id ?? o.target?.instance_id;
  if (id) return o.name || instanceName(id);
  return o.target?.name ?? o.name ?? '—';
}

function renderOverrides() {
  const list = state.data.overrides?.overrides ?? [];
  cardError('card-overrides', 'overrides');
  const box = $('overrides-list');
  if (!list.length) {
    box.replaceChildren(h('li', { class: 'empty' }, t('noOverrides')));
    return;
  }
  box.replaceChildren(
    ...list.map((o) =>
      h(
        'li',
        { data: { overrideId: o.id } },
        h(
          'div',
          { class: 'ov-main' },
          h('span', { class: `tag k-${o.kind}` }, label('kind', o.kind)),
          h('strong', {}, overrideTarget(o)),
          o.policies?.length ? h('span', { class: 'muted small' }, o.policies.join(', ')) : null,
        ),
        h(
          'div',
          { class: 'ov-sub muted small' },
          o.forever || !o.until ? t('forever') : h('span', {}, t('until')(fmtTime(o.until)), ' · ', h('span', { class: 'countdown', data: { at: o.until } }, '')),
          o.reason ? ` · ${o.reason}` : '',
          o.who ? ` · ${t('by')(o.who)}` : '',
        ),
        canWrite() ? h('button', { type: 'button', class: 'btn small ghost write-only', data: { action: 'revoke', override: o.id } }, t('revoke')) : null,
      ),
    ),
  );
}

function renderActions() {
  const list = state.data.actions?.actions ?? [];
  cardError('card-actions', 'actions');
  const total = state.data.spend?.total;
  $('actions-saved').textContent = total && Number.isFinite(Number(total.saved)) ? t('savedTotal')(money(total.saved)) : '';
  const body = $('actions-body');
  if (!list.length) {
    body.replaceChildren(h('tr', {}, h('td', { colspan: 7, class: 'empty' }, t('noActions'))));
    return;
  }
  body.replaceChildren(
    ...list.map((a) =>
      h(
        'tr',
        {},
        h('td', { class: 'nowrap' }, fmtTime(a.at)),
        h('td', {}, a.instance_name || a.instance_id || '—'),
        h('td', {}, a.policy ?? '—'),
        h('td', { class: 'nowrap' }, h('span', { class: `act a-${a.action}` }, label('action', a.action)), a.mode === 'dry_run' ? h('span', { class: 'tag dry' }, t('dryRun')) : null),
        h('td', {}, h('span', { class: `state st-${a.state}` }, label('state', a.state))),
        h('td', { class: 'reason' }, a.reason ?? ''),
        h('td', { class: 'num' }, Number(a.saved) > 0 ? money(a.saved) : h('span', { class: 'muted' }, '—')),
      ),
    ),
  );
}

// ---------- spend chart ----------

function instanceName(id) {
  const i = (state.data.instances?.instances ?? []).find((x) => x.id === id);
  return i?.name || id;
}

function renderSpend() {
  const s = state.data.spend;
  cardError('card-spend', 'spend');
  if (!s) return;
  $('spend-total').textContent = s.total ? t('total')(money(s.total.estimated), money(s.total.observed)) : '';
  const rows = [...(s.rows ?? [])].map((r) => ({ ...r, x: toMs(r.key) })).filter((r) => r.x !== null).sort((a, b) => a.x - b.x);
  // Stack order: the instance with the most spend at the bottom.
  const totals = new Map();
  for (const r of rows) for (const [id, v] of Object.entries(r.instances ?? {})) totals.set(id, (totals.get(id) ?? 0) + (Number(v) || 0));
  const ids = [...totals.entries()].filter(([, v]) => v > 0).sort((a, b) => b[1] - a[1]).map(([id]) => id);
  const layers = ids.map((id) => ({ id, name: instanceName(id), values: rows.map((r) => Number(r.instances?.[id]) || 0) }));
  const other = rows.map((r, k) => Math.max(0, (Number(r.estimated) || 0) - layers.reduce((sum, l) => sum + l.values[k], 0)));
  if (other.some((v) => v > 0.005)) layers.push({ id: '', name: layers.length ? t('other') : t('estimated'), values: other });
  layers.forEach((l, k) => (l.color = PALETTE[k % PALETTE.length]));

  // uPlot bars start at zero, so stacking = cumulative sums drawn from the tallest down.
  const cum = [];
  let acc = rows.map(() => 0);
  for (const l of layers) {
    acc = acc.map((v, k) => v + l.values[k]);
    cum.push(acc);
  }
  const xs = rows.map((r) => r.x / 1000);
  // A day with neither estimated nor observed spend has no data yet (before the guard ran): no point.
  const observed = rows.map((r) => (r.observed === null || r.observed === undefined || (!Number(r.observed) && !Number(r.estimated)) ? null : Number(r.observed)));
  const data = [xs, ...cum.slice().reverse(), observed];
  renderLegend(layers);
  drawChart(layers, data, rows);
}

/** A round upper bound for the y axis (0.87 -> 1, 6.4 -> 8, 13 -> 15). */
function niceCeil(v) {
  const p = 10 ** Math.floor(Math.log10(v));
  return [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10].map((m) => m * p).find((c) => c >= v - 1e-9) ?? 10 * p;
}

function renderLegend(layers) {
  const items = layers.map((l) => h('span', { class: 'li' }, h('i', { class: 'sw', data: { color: l.color } }), l.name));
  items.push(h('span', { class: 'li' }, h('i', { class: 'sw line' }), t('observed')));
  $('spend-legend').replaceChildren(...items);
  for (const sw of $('spend-legend').querySelectorAll('i[data-color]')) sw.style.background = sw.dataset.color;
}

function drawChart(layers, data, rows) {
  const box = $('spend-chart');
  if (!window.uPlot) return;
  const width = Math.max(300, box.clientWidth);
  const key = `${state.locale}|${state.tz}|${width}|${layers.map((l) => `${l.id}:${l.name}`).join(',')}`;
  if (state.chart && state.chartKey === key) {
    state.chart.setData(data);
    return;
  }
  state.chart?.destroy();
  box.replaceChildren();
  state.chartKey = key;
  const bars = uPlot.paths.bars({ size: [0.7, 28], gap: 1 });
  const reversed = layers.slice().reverse();
  const dayFmt = new Intl.DateTimeFormat('en-CA', { timeZone: state.tz, month: '2-digit', day: '2-digit' });
  const opts = {
    width,
    height: 230,
    padding: [10, 22, 0, 0],
    legend: { show: false },
    cursor: { drag: { x: false, y: false }, points: { show: false } },
    select: { show: false },
    scales: {
      x: { time: true, range: (u, min, max) => [min - 43200, max + 43200] },
      y: { range: (u, min, max) => [0, max > 0 ? niceCeil(max * 1.1) : 1] },
    },
    axes: [
      { stroke: '#5b6472', grid: { show: false }, ticks: { stroke: '#d9dee5' }, space: 48, values: (u, splits) => splits.map((v) => dayFmt.format(new Date(v * 1000)).replace(/^\d{4}-/, '')) },
      { stroke: '#5b6472', grid: { stroke: '#eef1f5' }, ticks: { show: false }, size: 56, values: (u, splits) => splits.map((v) => `¥${+v.toFixed(2)}`) },
    ],
    series: [
      {},
      ...reversed.map((l) => ({ label: l.name, fill: l.color, stroke: l.color, width: 0, paths: bars, points: { show: false } })),
      { label: t('observed'), stroke: '#1f2328', width: 1.5, dash: [4, 3], spanGaps: false, points: { show: true, size: 4, fill: '#1f2328' } },
    ],
    hooks: {
      setCursor: [(u) => showReadout(u, rows, layers)],
    },
  };
  state.chart = new uPlot(opts, data, box);
  state.chart.root.querySelector('canvas')?.setAttribute('aria-label', t('spend30'));
}

function showReadout(u, rows, layers) {
  const el = $('spend-readout');
  if (!el) return;
  const k = u.cursor.idx;
  if (k === null || k === undefined || !rows[k]) {
    el.textContent = '';
    return;
  }
  const r = rows[k];
  const parts = layers.filter((l) => l.values[k] >= 0.005).map((l) => `${l.name} ${money(l.values[k])}`);
  el.textContent = `${fmtTime(r.key).slice(0, 5)} · ${t('estimated')} ${money(r.estimated)} · ${t('observed')} ${money(r.observed)}${parts.length ? ` (${parts.join(', ')})` : ''}`;
}

// ---------- the one-second tick (countdowns, clocks) ----------

function tick() {
  const now = worldNow();
  if (state.server) $('server-time').textContent = `${fmtTime(now)} ${state.tz}`;
  for (const el of document.querySelectorAll('.countdown')) {
    const at = toMs(el.dataset.at);
    if (at === null) continue;
    const left = at - now;
    el.textContent = left <= 0 ? t('due') : t('in')(fmtDur(left));
    el.classList.toggle('soon', left < 15 * 60 * 1000);
  }
  for (const el of document.querySelectorAll('.countup')) {
    const at = toMs(el.dataset.at);
    if (at !== null) el.textContent = t('ago')(fmtDur(now - at));
  }
  for (const el of document.querySelectorAll('.countup-since')) {
    const at = toMs(el.dataset.at);
    if (at !== null) el.textContent = ` ${t('since')(fmtDur(now - at))}`;
  }
  if (state.lastOk !== null && !$('status-line').classList.contains('bad')) {
    $('status-line').textContent = t('updated')(fmtDur(performance.now() - state.lastOk));
  }
  if (state.armed && state.armed.until <= performance.now()) {
    state.armed = null;
    renderInstances();
  }
}

// ---------- writes ----------

async function onClick(ev) {
  const btn = ev.target.closest('button[data-action]');
  if (!btn || btn.disabled || !canWrite()) return;
  const { action, instance, override } = btn.dataset;
  let req;
  if (action === 'snooze-1h' || action === 'snooze-2h') {
    req = { method: 'POST', path: '/api/v1/overrides', body: { target: { instance_id: instance }, kind: 'snooze', for: action === 'snooze-1h' ? '1h' : '2h', reason: 'dashboard' } };
  } else if (action === 'exempt') {
    const key = `exempt:${instance}`;
    if (!state.armed || state.armed.key !== key) {
      state.armed = { key, until: performance.now() + 4000 };
      renderInstances();
      return;
    }
    state.armed = null;
    req = { method: 'POST', path: '/api/v1/overrides', body: { target: { instance_id: instance }, kind: 'exempt', forever: true, reason: 'dashboard' } };
  } else if (action === 'revoke') {
    req = { method: 'DELETE', path: `/api/v1/overrides/${encodeURIComponent(override)}` };
  } else return;
  btn.disabled = true;
  try {
    await api(req.path, { method: req.method, body: req.body });
    toast(action === 'revoke' ? t('revoked') : t('created'));
  } catch (err) {
    if (err instanceof AuthError) showTokenForm(t('tokenRejected'));
    else toast(t('failed')(err.message), true);
  } finally {
    btn.disabled = false;
  }
  await refresh();
}

// ---------- boot ----------

function boot() {
  const nav = (navigator.language || '').toLowerCase();
  const chosen = localStorage.getItem(LOCALE_KEY);
  state.locale = TEXT[chosen] ? chosen : nav.startsWith('zh') ? 'zh-CN' : 'en';
  applyLocale();

  $('locale-toggle').addEventListener('click', () => {
    state.locale = state.locale === 'en' ? 'zh-CN' : 'en';
    localStorage.setItem(LOCALE_KEY, state.locale);
    applyLocale();
    if (!$('panels').hidden) renderAll();
  });
  $('token-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const v = $('token-input').value.trim();
    if (!v) return;
    sessionStorage.setItem(TOKEN_KEY, v);
    $('token-input').value = '';
    state.needToken = false;
    state.session = null;
    refresh();
  });
  $('token-forget').addEventListener('click', () => {
    sessionStorage.removeItem(TOKEN_KEY);
    showTokenForm(null);
  });
  document.addEventListener('click', onClick);
  window.addEventListener('resize', () => {
    if (!$('panels').hidden) {
      renderSpend();
      renderBalance();
    }
  });

  refresh();
  // A second early sample of the server clock measures the demo's speed before the first countdown runs long.
  setTimeout(refresh, 1500);
  setInterval(refresh, REFRESH_MS);
  setInterval(tick, 1000);
}

boot();
