/** Simplified Chinese message texts: labels, units, action words and one entry per event type. */
import type { ActionWords, Fmt, LocaleText } from './types.js';

const word = (w: string): ActionWords => ({ verb: w, past: w, future: w });

const runwayBack = {
  title: (d: { hours_left?: number | null }, f: Fmt) => (typeof d.hours_left === 'number' ? `余额可用时长已恢复：${f.hours(d.hours_left)}` : '余额可用时长已恢复'),
  summary: () => '按当前消耗速度，余额足够使用。',
};

const recovered = {
  title: () => '守护已恢复：云端 API 恢复响应',
  summary: () => '数据读取恢复正常，策略重新生效。',
};

/** The Simplified Chinese table. */
export const zhCN: LocaleText = {
  lang: 'zh-CN',
  labels: {
    instance: '实例',
    gpu: 'GPU',
    price: '价格',
    policy: '策略',
    reason: '原因',
    planned_at: '计划时间',
    saving: '预计节省',
    would_save: '可节省',
    at: '时间',
    error: '错误',
    balance: '余额',
    threshold: '阈值',
    runway: '预计可用',
    burn: '消耗速度',
    empty_at: '预计耗尽',
    spent: '已花费',
    limit: '预算',
    since: '开始于',
    blind_since: '失联开始',
    estimated_spend: '预估花费',
    observed_spend: '实际扣费',
    saved: '节省',
    recharged: '充值',
    actions: '执行动作',
    top_up: '建议充值',
    observed_at: '余额观测时间',
    estimate_now: '≈ 当前（估算）',
    last_resort_at: '最后手段释放时间',
    waited: '已等待',
    tries: '尝试次数',
    web_url: '网页',
    gpu_models: '尝试的 GPU 型号',
    status: '状态',
    last_status: '最后状态',
    last_seen: '最后一次看到',
    estimated: '预估花费',
  },
  units: { hour: ' 小时', perHour: '/小时', noGpu: '无（仅数据）' },
  actions: { release_gpu: word('释放 GPU'), shutdown: word('关机'), destroy: word('销毁'), notify: word('通知'), boot: word('开机') },
  unknownAction: word,
  words: {
    footer: 'xgc-guard 仙宫云费用守护',
    more: (n) => `（另有 ${n} 条）`,
    reminder: '（提醒）',
    resolvedPrefix: '已恢复：',
    snooze: { h1: '暂缓 1 小时', h2: '暂缓 2 小时', skip: '跳过本次' },
    opaqueTitle: (type) => `通知：${type}`,
    opaqueSummary: '此通知的存储格式无法被当前版本读取；请在控制台查看当前状态。',
    deadDeliveries: (n, channel) => `${n} 条发往 ${channel} 的通知发送失败（重试后已放弃）`,
  },
  events: {
    action_planned: {
      title: (d, f) => `实例 ${f.name(d.instance)} 将于 ${f.time(d.planned_at)} ${f.action(d.action).future}（策略 ${d.policy}）`,
      summary: (d, f, c) =>
        `策略「${d.policy}」计划在 ${f.time(d.planned_at)} 对实例 ${f.name(d.instance)} 执行「${f.action(d.action).verb}」。` + (c.hasLinks ? '如需继续使用，请点击下方链接暂缓。' : ''),
      note: (d, _f, c) =>
        c.hasLinks
          ? undefined
          : `如需继续使用：在控制台该实例一行点击「暂缓」，或运行 xgc-guard override add --instance ${d.instance.id} --kind snooze --for 2h --reason "仍在使用"。` +
            '配置 http.public_url 后，通知中会附带一键暂缓链接。',
    },
    action_taken: {
      title: (d, f) => `${d.mode === 'dry_run' ? '[演练] 将会' : '已'}${f.action(d.action).past}：${f.name(d.instance)}`,
      summary: (d, f) => `策略「${d.policy}」${d.mode === 'dry_run' ? '（演练模式，未实际执行）' : ''}对实例 ${f.name(d.instance)} 执行了「${f.action(d.action).verb}」。`,
    },
    action_failed: {
      title: (d, f) => `${f.action(d.action).verb}失败：${f.name(d.instance)}`,
      summary: (d, f) => `策略「${d.policy}」对实例 ${f.name(d.instance)} 的「${f.action(d.action).verb}」执行失败，实例可能仍在计费。`,
    },
    action_aborted: {
      title: (d, f) => `${f.action(d.action).verb}已中止：${f.name(d.instance)}`,
      summary: (d, f) => `策略「${d.policy}」对实例 ${f.name(d.instance)} 的「${f.action(d.action).verb}」已中止（安全检查未通过或状态已变化）。`,
    },
    balance_low: {
      title: (d, f) => `余额不足：${f.money(d.balance)}，低于 ${f.money(d.threshold)}`,
      summary: (d, f) =>
        `账户余额 ${f.money(d.balance)} 已低于阈值 ${f.money(d.threshold)}。` +
        (typeof d.burn_per_hour === 'number' && d.burn_per_hour > 0
          ? `按当前每小时 ${f.money(d.burn_per_hour)} 的消耗约可使用 ${f.hours(d.hours_left)}；充值 ${f.money(d.top_up)} 可维持 ${f.hours(d.top_up_hours)}。`
          : '') +
        '余额为负时平台会销毁实例，请及时充值。',
      resolved: {
        title: (d, f) => `余额已恢复：${f.money(d.balance)}`,
        summary: (d, f) => `账户余额已回到 ${f.money(d.threshold)} 以上。`,
      },
    },
    runway_warn: {
      title: (d, f) => `余额约 ${f.hours(d.hours_left)} 后耗尽`,
      summary: (d, f) => `按当前每小时 ${f.money(d.burn_per_hour)} 的消耗，余额 ${f.money(d.estimate ?? d.balance)}（≈ 当前）约可使用 ${f.hours(d.hours_left)}。请充值或关闭不用的实例。`,
      resolved: runwayBack,
    },
    runway_act: {
      title: (d, f) => `余额约 ${f.hours(d.hours_left)} 后耗尽：正在释放 GPU`,
      summary: (d, f) =>
        `按当前每小时 ${f.money(d.burn_per_hour)} 的消耗，余额 ${f.money(d.estimate ?? d.balance)}（≈ 当前）约可使用 ${f.hours(d.hours_left)}。守护将按顺序释放 GPU，避免余额为负导致实例被销毁。`,
      resolved: runwayBack,
    },
    runway_critical: {
      title: (d, f) => `紧急：余额将于 ${f.time(d.empty_at)} 耗尽，${d.instances.length} 个实例将被销毁`,
      summary: (d, f) =>
        `按当前每小时 ${f.money(d.burn_per_hour)} 的消耗，余额 ${f.money(d.estimate ?? d.balance)}（≈ 当前）约可使用 ${f.hours(d.hours_left)}。余额为负时平台会销毁实例（含磁盘）；#keep 和豁免只防守护的策略，防不了平台的销毁。` +
        `请至少充值 ${f.money(d.top_up)}${d.top_up_hours ? `（按当前消耗可用 ${f.hours(d.top_up_hours)}）` : ''}。` +
        (typeof d.last_resort_at === 'number' ? `否则守护将在 ${f.time(d.last_resort_at)} 释放它们的 GPU（释放后磁盘保留）。` : '最后手段释放已关闭：只有充值能阻止销毁。'),
      resolved: {
        title: (d, f) => `余额危急已解除：${f.money(d.balance)}`,
        summary: () => '受保护的实例不再面临被销毁。',
      },
    },
    instances_destroyed: {
      title: (d, f) => `紧急：余额 ${f.money(d.balance)} 时 ${d.instances.length} 个实例已被销毁`,
      summary: () => '以下实例在余额 ≤ ¥0 时消失或变为已销毁：余额为负时平台会销毁实例，磁盘数据无法恢复。创建新实例前请先充值。',
    },
    budget_exceeded: {
      title: (d, f) => `${d.period === 'month' ? '本月' : '今日'}预算超出：${f.money(d.spent)} / ${f.money(d.limit)}`,
      summary: (d, f) => `预估花费 ${f.money(d.spent)} 已超过${d.period === 'month' ? '本月' : '今日'}预算 ${f.money(d.limit)}。`,
    },
    guard_blind: {
      title: (d) => `守护无法读取云端：API 连续 ${d.ticks} 次失败`,
      summary: () => '在恢复之前，守护不会根据缺失的数据做任何决定，也无法保护你的余额。请检查 API 令牌和网络。',
    },
    guard_recovered: { ...recovered, resolved: recovered },
    wake_done: {
      title: (d, f) => (d.gpu_count === 0 ? `${f.name(d.instance)} 已开机（无 GPU，仅数据）` : `${f.name(d.instance)} 已开机：${f.gpu(d.gpu_model, d.gpu_count)}`),
      summary: (d, f) =>
        `守护在尝试 ${d.tries} 次、等待 ${f.duration(d.waited_ms)}后启动了实例 ${f.name(d.instance)}。` + (d.gpu_count === 0 ? '实例没有 GPU：可以访问文件，不产生 GPU 费用。' : ''),
    },
    wake_failed: {
      title: (d, f) => `未能唤醒 ${f.name(d.instance)}：等待 ${f.duration(d.waited_ms)}后放弃`,
      summary: (d, f) =>
        `在 ${f.duration(d.waited_ms)}内（尝试 ${d.tries} 次）没有空闲的 ${d.gpu_models.length ? d.gpu_models.join(' / ') : 'GPU'}${d.gpu_count > 1 ? ` × ${d.gpu_count}` : ''}，实例 ${f.name(d.instance)} 仍处于关机状态。`,
    },
    daily_digest: {
      title: (d, f) => `${d.day} 日报：预估 ${f.money(d.estimated)}，实扣 ${f.money(d.observed)}`,
      summary: (d) => `昨日（${d.day}）的花费与节省。`,
    },
  },
};
