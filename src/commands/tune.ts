/** `xgc-guard tune`: the recorded history replayed under other idle windows, as a table (zh-CN or en) or JSON. */
import type { Command } from './types.js';
import { systemClock } from '../clock.js';
import { BadRequest } from '../errors.js';
import { isoInTz } from '../money.js';
import { parseTimeParam } from '../http/params.js';
import { DEFAULT_TUNE_WINDOWS, parseWindows, recommendationLine, tunePolicy, tuneReport, type TuneReport } from '../tune.js';
import { configOption, loadFromArgs, openExistingDb, str } from './common.js';

const TEXTS = {
  en: {
    title: (policy: string, from: string, to: string) => `tune ${policy}: ${from} .. ${to}`,
    head: ['idle_for', 'saved', 'vs configured', 'interruptions', 'median return'],
    current: '← configured',
    none: '—',
    history: (days: number) => `recorded history in the range: ${days} day(s)`,
    note: "saved: what the guard's savings report would show, each release counted until your next boot. vs configured: against the recording, a release counted only while the GPU was still held (until your next activity, your own release or the end of the range). What you would have done after meeting a released GPU is unknown.",
  },
  'zh-CN': {
    title: (policy: string, from: string, to: string) => `tune ${policy}：${from} .. ${to}`,
    head: ['空闲窗口', '可省', '比当前配置', '打断次数', '回来用时中位数'],
    current: '← 当前配置',
    none: '—',
    history: (days: number) => `范围内的记录：${days} 天`,
    note: '可省：守护的节省报表会显示的金额，每次释放计到你下一次开机。比当前配置：对照记录，释放只计到 GPU 在记录中仍被占用为止（下一次使用、你自己释放或范围结束）。遇到已释放的 GPU 之后你会怎么做，无从得知。',
  },
} as const;

const tune: Command = {
  summary: 'Replay the recorded history under other idle windows: what each would have saved, and how often it would have met you with a released GPU.',
  usage: 'Usage: xgc-guard tune [--config FILE] [--from -30d|ISO] [--to now|ISO] [--idle-for 10m,20m,30m,45m,1h,2h] [--policy NAME] [--json]',
  options: { ...configOption, from: { type: 'string' }, to: { type: 'string' }, 'idle-for': { type: 'string' }, policy: { type: 'string' }, json: { type: 'boolean' } },
  async run(values) {
    const { config } = loadFromArgs(values);
    const tz = config.timezone;
    const now = systemClock.now();
    const from = parseTimeParam(str(values.from) ?? '-30d', now, tz);
    const to = parseTimeParam(str(values.to) ?? 'now', now, tz);
    if (from === null) throw new BadRequest('--from', 'expected ISO 8601, "now" or a relative time like -30d');
    if (to === null) throw new BadRequest('--to', 'expected ISO 8601, "now" or a relative time like -2h');
    if (from >= to) throw new BadRequest('--from', 'must be before --to');
    const windows = parseWindows(str(values['idle-for']) ?? DEFAULT_TUNE_WINDOWS, '--idle-for');
    const policy = tunePolicy(config, str(values.policy), '--policy');
    const g = openExistingDb(config.db.path);
    let r: TuneReport;
    try {
      r = tuneReport(g.db, config, { from, to, now, windows, policy });
    } finally {
      g.close();
    }
    if (values.json) {
      console.log(JSON.stringify({ ...r, from: isoInTz(r.from, tz), to: isoInTz(r.to, tz) }, null, 2));
      return 0;
    }
    const t = TEXTS[config.locale];
    console.log(t.title(r.policy, isoInTz(r.from, tz), isoInTz(r.to, tz)));
    const cols = [10, 12, 15, 15, 17];
    console.log(t.head.map((h, k) => (k === 0 ? h.padEnd(cols[k]) : h.padStart(cols[k]))).join(''));
    for (const row of r.rows) {
      const ret = row.median_return_s === null ? t.none : formatSeconds(row.median_return_s);
      const vs = row.current ? t.none : `${row.more_than_current_yuan < 0 ? '−' : '+'}¥${Math.abs(row.more_than_current_yuan).toFixed(2)}`;
      const cells = [`¥${row.saved_yuan.toFixed(2)}`, vs, String(row.interruptions), ret];
      console.log(`${row.idle_for.padEnd(cols[0])}${cells.map((c, k) => c.padStart(cols[k + 1])).join('')}${row.current ? `  ${t.current}` : ''}`);
    }
    console.log(t.history(r.history_days));
    console.log(recommendationLine(r, config.locale));
    console.log(t.note);
    return 0;
  },
};
export default tune;

/** Seconds as `1h05m`, `12m30s` or `45s`. */
function formatSeconds(s: number): string {
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = Math.round(s % 60);
  if (h) return `${h}h${String(m).padStart(2, '0')}m`;
  if (m) return `${m}m${String(sec).padStart(2, '0')}s`;
  return `${sec}s`;
}
