/**
 * Templates: one `render(event, opts)` turns an outbox event into subject, plain text, HTML and markdown,
 * in zh-CN or en, with money as `¥38.16` and times in the configured timezone. Pure (links are passed in).
 */
import { escapeHtml, escapeMarkdown, formatTime, money } from './format.js';
import type { GuardEvent, Locale, Rendered, SendReason, SnoozeLinks } from './types.js';

/** Options for `render`. */
export interface RenderOptions {
  locale: Locale;
  timezone: string;
  /** Dashboard base URL, linked at the bottom when set. */
  publicUrl?: string;
  /** Snooze URLs for action_planned. */
  links?: SnoozeLinks;
}

/** What a template produces before it is laid out as text, HTML and markdown. */
interface Model {
  title: string;
  summary: string;
  facts: Array<[string, string]>;
  buttons: Array<{ label: string; url: string }>;
  table?: { head: string[]; rows: string[][] };
  note?: string;
}

type Data = Record<string, unknown>;

const str = (v: unknown): string => (v === undefined || v === null ? '' : String(v));
const num = (v: unknown): number | undefined => {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  return Number.isFinite(n) ? n : undefined;
};
const obj = (v: unknown): Data => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Data) : {});

const ACTIONS: Record<string, { en: string; enPast: string; enFuture: string; zh: string }> = {
  release_gpu: { en: 'release the GPU of', enPast: 'Released the GPU of', enFuture: 'GPU will be released', zh: '释放 GPU' },
  shutdown: { en: 'shut down', enPast: 'Shut down', enFuture: 'will be shut down', zh: '关机' },
  destroy: { en: 'destroy', enPast: 'Destroyed', enFuture: 'will be destroyed', zh: '销毁' },
  notify: { en: 'notify about', enPast: 'Notified about', enFuture: 'will be reported', zh: '通知' },
};
function actionWords(a: unknown) {
  const k = str(a) || 'release_gpu';
  return ACTIONS[k] ?? { en: k, enPast: `Did ${k} on`, enFuture: `${k} planned`, zh: k };
}

function hours(v: unknown, zh: boolean): string {
  const n = num(v);
  if (n === undefined) return '—';
  return zh ? `${n.toFixed(1)} 小时` : `${n.toFixed(1)} h`;
}

/** Facts about the instance an event is about (name and id, GPU, price per hour). */
function instanceFacts(d: Data, zh: boolean): Array<[string, string]> {
  const i = obj(d.instance);
  const out: Array<[string, string]> = [];
  if (i.name !== undefined || i.id !== undefined) out.push([zh ? '实例' : 'Instance', `${str(i.name) || '—'} (${str(i.id)})`]);
  if (i.gpu_model) out.push(['GPU', `${str(i.gpu_model)}${num(i.gpu_count) ? ` × ${num(i.gpu_count)}` : ''}`]);
  if (num(i.price_per_hour) !== undefined) out.push([zh ? '价格' : 'Price', `${money(i.price_per_hour)}/${zh ? '小时' : 'h'}`]);
  return out;
}

function policyFacts(d: Data, zh: boolean): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  if (d.policy) out.push([zh ? '策略' : 'Policy', str(d.policy)]);
  if (d.reason) out.push([zh ? '原因' : 'Reason', str(d.reason)]);
  return out;
}

function build(e: GuardEvent & { reason?: SendReason }, o: RenderOptions): Model {
  const zh = o.locale === 'zh-CN';
  const d = e.data ?? {};
  const tz = o.timezone;
  const inst = obj(d.instance);
  const name = str(inst.name) || str(inst.id) || '?';
  const resolved = e.status === 'resolved';
  const facts: Array<[string, string]> = [];
  const m: Model = { title: '', summary: '', facts, buttons: [] };

  switch (e.type) {
    case 'action_planned': {
      const a = actionWords(d.action);
      const at = formatTime(d.planned_at, tz);
      m.title = zh ? `实例 ${name} 将于 ${at} ${a.zh}（策略 ${str(d.policy)}）` : `${name}: ${a.enFuture} at ${at} (policy ${str(d.policy)})`;
      m.summary = zh
        ? `策略「${str(d.policy)}」计划在 ${at} 对实例 ${name} 执行「${a.zh}」。如需继续使用，请点击下方链接暂缓。`
        : `Policy "${str(d.policy)}" will ${a.en} instance ${name} at ${at}. If you still need it, snooze with a link below.`;
      facts.push(...instanceFacts(d, zh), ...policyFacts(d, zh), [zh ? '计划时间' : 'Planned at', at]);
      if (num(d.amount) !== undefined) facts.push([zh ? '预计节省' : 'Estimated saving', money(d.amount)]);
      if (o.links) {
        m.buttons.push(
          { label: zh ? '暂缓 1 小时' : 'Snooze 1 hour', url: o.links.h1 },
          { label: zh ? '暂缓 2 小时' : 'Snooze 2 hours', url: o.links.h2 },
          { label: zh ? '跳过本次' : 'Skip this time', url: o.links.skip },
        );
      } else {
        m.note = zh ? '可在控制台或通过 API 添加豁免（override）以保持运行。' : 'Add an override in the dashboard or API to keep it running.';
      }
      break;
    }
    case 'action_taken': {
      const a = actionWords(d.action);
      const dry = d.mode === 'dry_run';
      m.title = zh ? `${dry ? '[演练] 将会' : '已'}${a.zh}：${name}` : dry ? `[dry run] Would ${a.en} ${name}` : `${a.enPast} ${name}`;
      m.summary = zh
        ? `策略「${str(d.policy)}」${dry ? '（演练模式，未实际执行）' : ''}对实例 ${name} 执行了「${a.zh}」。`
        : `Policy "${str(d.policy)}" ${dry ? 'would have acted (dry run, nothing was done) on' : 'acted on'} instance ${name}: ${str(d.action) || 'release_gpu'}.`;
      facts.push(...instanceFacts(d, zh), ...policyFacts(d, zh));
      if (d.at !== undefined) facts.push([zh ? '时间' : 'At', formatTime(d.at, tz)]);
      if (num(d.amount) !== undefined) facts.push([zh ? '预计节省' : 'Estimated saving', money(d.amount)]);
      break;
    }
    case 'action_failed':
    case 'action_aborted': {
      const a = actionWords(d.action);
      const failed = e.type === 'action_failed';
      m.title = zh ? `${a.zh}${failed ? '失败' : '已中止'}：${name}` : `${failed ? 'Failed' : 'Aborted'}: ${a.en} ${name}`;
      m.summary = zh
        ? `策略「${str(d.policy)}」对实例 ${name} 的「${a.zh}」${failed ? '执行失败，实例可能仍在计费。' : '已中止（安全检查未通过或状态已变化）。'}`
        : failed
          ? `Policy "${str(d.policy)}" could not ${a.en} instance ${name}; it may still be billing.`
          : `Policy "${str(d.policy)}" did not ${a.en} instance ${name}: a safety rail stopped it or its state changed.`;
      facts.push(...instanceFacts(d, zh), ...policyFacts(d, zh));
      if (d.error) facts.push([zh ? '错误' : 'Error', str(d.error)]);
      break;
    }
    case 'balance_low': {
      if (resolved) {
        m.title = zh ? `余额已恢复：${money(d.balance)}` : `Balance recovered: ${money(d.balance)}`;
        m.summary = zh ? `账户余额已回到 ${money(d.threshold)} 以上。` : `The account balance is back above ${money(d.threshold)}.`;
      } else {
        m.title = zh ? `余额不足：${money(d.balance)}，低于 ${money(d.threshold)}` : `Low balance: ${money(d.balance)} is below ${money(d.threshold)}`;
        m.summary = zh
          ? `账户余额 ${money(d.balance)} 已低于阈值 ${money(d.threshold)}。余额为负时平台会销毁实例，请及时充值。`
          : `The account balance ${money(d.balance)} is below ${money(d.threshold)}. A negative balance makes the platform destroy instances: please recharge.`;
      }
      facts.push([zh ? '余额' : 'Balance', money(d.balance)], [zh ? '阈值' : 'Threshold', money(d.threshold)]);
      if (d.hours_left !== undefined) facts.push([zh ? '预计可用' : 'Runway', hours(d.hours_left, zh)]);
      if (d.policy) facts.push([zh ? '策略' : 'Policy', str(d.policy)]);
      break;
    }
    case 'runway_warn':
    case 'runway_act': {
      const act = e.type === 'runway_act';
      if (resolved) {
        m.title = zh ? `余额可用时长已恢复：${hours(d.hours_left, zh)}` : `Runway back to ${hours(d.hours_left, zh)}`;
        m.summary = zh ? '按当前消耗速度，余额足够使用。' : 'At the current burn rate the balance lasts long enough again.';
      } else {
        m.title = zh
          ? `余额约 ${hours(d.hours_left, zh)} 后耗尽${act ? '：正在释放 GPU' : ''}`
          : `Balance runs out in about ${hours(d.hours_left, zh)}${act ? ': releasing GPUs' : ''}`;
        m.summary = zh
          ? `按当前每小时 ${money(d.burn_per_hour)} 的消耗，余额 ${money(d.balance)} 约可使用 ${hours(d.hours_left, zh)}。${act ? '守护将按顺序释放 GPU，避免余额为负导致实例被销毁。' : '请充值或关闭不用的实例。'}`
          : `At ${money(d.burn_per_hour)}/h the balance of ${money(d.balance)} lasts about ${hours(d.hours_left, zh)}. ${act ? 'The guard releases GPUs in order so a negative balance does not destroy instances.' : 'Recharge or stop instances you do not need.'}`;
      }
      facts.push([zh ? '余额' : 'Balance', money(d.balance)], [zh ? '预计可用' : 'Runway', hours(d.hours_left, zh)]);
      if (d.burn_per_hour !== undefined) facts.push([zh ? '每小时消耗' : 'Burn rate', `${money(d.burn_per_hour)}/${zh ? '小时' : 'h'}`]);
      if (d.empty_at !== undefined) facts.push([zh ? '预计耗尽' : 'Runs out at', formatTime(d.empty_at, tz)]);
      facts.push(...policyFacts(d, zh));
      break;
    }
    case 'budget_exceeded': {
      const month = d.period === 'month';
      const per = zh ? (month ? '本月' : '今日') : month ? 'Monthly' : 'Daily';
      if (resolved) {
        m.title = zh ? `${per}预算已恢复正常` : `${per} budget back within limit`;
        m.summary = zh ? '新的周期开始，预算计数已重置。' : 'A new period started; spend is within the limit again.';
      } else {
        m.title = zh ? `${per}预算超出：${money(d.spent)} / ${money(d.limit)}` : `${per} budget exceeded: ${money(d.spent)} of ${money(d.limit)}`;
        m.summary = zh
          ? `预估花费 ${money(d.spent)} 已超过 ${per}预算 ${money(d.limit)}。`
          : `Estimated spend ${money(d.spent)} is over the ${per.toLowerCase()} limit of ${money(d.limit)}.`;
      }
      facts.push([zh ? '已花费' : 'Spent', money(d.spent)], [zh ? '预算' : 'Limit', money(d.limit)], ...policyFacts(d, zh));
      break;
    }
    case 'guard_blind': {
      m.title = zh ? `守护无法读取云端：API 连续 ${str(d.ticks) || '?'} 次失败` : `Guard is blind: the cloud API failed ${str(d.ticks) || '?'} times in a row`;
      m.summary = zh
        ? '在恢复之前，守护不会根据缺失的数据做任何决定，也无法保护你的余额。请检查 API 令牌和网络。'
        : 'Until it recovers the guard decides nothing from missing data and cannot protect your balance. Check the API token and the network.';
      if (d.since !== undefined) facts.push([zh ? '开始于' : 'Since', formatTime(d.since, tz)]);
      if (d.error) facts.push([zh ? '错误' : 'Error', str(d.error)]);
      break;
    }
    case 'guard_recovered': {
      m.title = zh ? '守护已恢复：云端 API 恢复响应' : 'Guard recovered: the cloud API answers again';
      m.summary = zh ? '数据读取恢复正常，策略重新生效。' : 'Observation works again and policies are back in effect.';
      if (d.firing_since !== undefined) facts.push([zh ? '失联开始' : 'Blind since', formatTime(d.firing_since, tz)]);
      break;
    }
    case 'daily_digest': {
      m.title = zh
        ? `${str(d.day)} 日报：预估 ${money(d.estimated)}，实扣 ${money(d.observed)}`
        : `Daily report ${str(d.day)}: ${money(d.estimated)} estimated, ${money(d.observed)} observed`;
      m.summary = zh ? `昨日（${str(d.day)}）的花费与节省。` : `Spend and savings for ${str(d.day)}.`;
      facts.push(
        [zh ? '预估花费' : 'Estimated spend', money(d.estimated)],
        [zh ? '实际扣费' : 'Observed spend', money(d.observed)],
        [zh ? '节省' : 'Saved', money(d.saved)],
      );
      if (num(d.recharged)) facts.push([zh ? '充值' : 'Recharged', money(d.recharged)]);
      facts.push([zh ? '余额' : 'Balance', d.balance === null || d.balance === undefined ? '—' : money(d.balance)]);
      facts.push([zh ? '预计可用' : 'Runway', d.runway_hours === null || d.runway_hours === undefined ? '—' : hours(d.runway_hours, zh)]);
      if (num(d.actions) !== undefined) facts.push([zh ? '执行动作' : 'Actions', str(d.actions)]);
      const top = Array.isArray(d.top_instances) ? (d.top_instances as unknown[]).map(obj) : [];
      if (top.length) {
        m.table = {
          head: zh ? ['实例', 'GPU', '预估花费'] : ['Instance', 'GPU', 'Estimated'],
          rows: top.map((t) => [`${str(t.name)} (${str(t.id)})`, str(t.gpu_model) || '—', money(t.estimated)]),
        };
      }
      break;
    }
    default: {
      m.title = `${str(e.type)}`;
      m.summary = '';
    }
  }
  if (resolved && !['balance_low', 'runway_warn', 'runway_act', 'budget_exceeded', 'guard_recovered'].includes(e.type)) {
    m.title = `${zh ? '已恢复' : 'Resolved'}: ${m.title}`;
  }
  if (e.reason === 'repeat') m.title = `${m.title}${zh ? '（提醒）' : ' (reminder)'}`;
  return m;
}

/** Render an event for every channel format in the given locale and timezone. */
export function render(event: GuardEvent & { reason?: SendReason }, opts: RenderOptions): Rendered {
  const m = build(event, opts);
  const zh = opts.locale === 'zh-CN';
  const footer = zh ? 'xgc-guard 仙宫云费用守护' : 'xgc-guard, cost guard for XianGong Cloud';
  const dash = opts.publicUrl ? opts.publicUrl.replace(/\/+$/, '') + '/' : undefined;
  const subject = `[xgc-guard] ${m.title}`;

  const text = [
    m.title,
    '',
    m.summary,
    '',
    ...m.facts.map(([k, v]) => `${k}: ${v}`),
    ...(m.table ? ['', m.table.head.join(' | '), ...m.table.rows.map((r) => r.join(' | '))] : []),
    ...(m.buttons.length ? ['', ...m.buttons.map((b) => `${b.label}: ${b.url}`)] : []),
    ...(m.note ? ['', m.note] : []),
    '',
    `-- ${footer}${dash ? ` ${dash}` : ''}`,
  ]
    .join('\n')
    .replace(/\n{3,}/g, '\n\n');

  const md = [
    `**${escapeMarkdown(m.title)}**`,
    '',
    escapeMarkdown(m.summary),
    '',
    ...m.facts.map(([k, v]) => `- ${escapeMarkdown(k)}: ${escapeMarkdown(v)}`),
    ...(m.table
      ? ['', ...m.table.rows.map((r, i) => `${i + 1}. ${r.map(escapeMarkdown).join(' · ')}`)]
      : []),
    ...(m.buttons.length ? ['', m.buttons.map((b) => `[${escapeMarkdown(b.label)}](${b.url})`).join(' | ')] : []),
    ...(m.note ? ['', escapeMarkdown(m.note)] : []),
    '',
    dash ? `[${escapeMarkdown(footer)}](${dash})` : escapeMarkdown(footer),
  ]
    .join('\n')
    .replace(/\n{3,}/g, '\n\n');

  const h = escapeHtml;
  const cell = 'padding:4px 12px 4px 0;vertical-align:top';
  const html = [
    `<!doctype html><html lang="${zh ? 'zh-CN' : 'en'}"><head><meta charset="utf-8"><title>${h(subject)}</title></head>`,
    '<body style="font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;color:#1f2328;line-height:1.5">',
    `<h2 style="margin:0 0 12px">${h(m.title)}</h2>`,
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
    `<p style="color:#59636e;font-size:12px;margin-top:24px">${dash ? `<a href="${h(dash)}">${h(footer)}</a>` : h(footer)}</p>`,
    '</body></html>',
  ].join('');

  return { subject, text, html, markdown: md };
}
