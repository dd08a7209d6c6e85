/**
 * `tune` (the CLI command and GET /api/v1/tune): the recorded history replayed under other idle windows of one idle
 * policy. Reads the database (src/db/tune-history.ts) and judges with the pure parts (src/policies/tune.ts).
 */
import type { Config, IdlePolicyConfig } from './config/schema.js';
import { formatDuration, parseDuration } from './config/duration.js';
import type { Db } from './db/open.js';
import { listOverrides } from './db/overrides.js';
import { firstProbeChange, tuneHistory } from './db/tune-history.js';
import { BadRequest } from './errors.js';
import { evaluateWindow, idleStretches, overridesCovering, policyApplies, recommend, releaseDelay, type IdleStretch, type TuneRow } from './policies/tune.js';

/** The windows compared when none are asked for (the configured one is always added). */
export const DEFAULT_TUNE_WINDOWS = '10m,20m,30m,45m,1h,2h';

/** Most windows one answer compares. */
export const MAX_TUNE_WINDOWS = 24;

/** The honesty note every answer carries (the CLI prints it in its locale). */
export const TUNE_NOTE =
  "saved_yuan is what the guard's savings report would show: each release counted until the user's next boot, as the savings card counts it; more_than_current_yuan compares with the recording, a release counted only while the GPU was still held (until the next activity, the user's own release or the end of the range); what a user would have done after meeting a released GPU is unknown";

/** Parse a comma list of durations (`10m,1h`); BadRequest naming `field` on a bad or empty item. */
export function parseWindows(text: string, field: string): number[] {
  const out: number[] = [];
  for (const raw of text.split(',')) {
    const ms = parseDuration(raw);
    if (ms === null || ms <= 0) throw new BadRequest(field, `"${raw.trim()}" is not a duration (expected a comma list like 10m,20m,1h)`);
    if (!out.includes(ms)) out.push(ms);
  }
  if (out.length > MAX_TUNE_WINDOWS) throw new BadRequest(field, `at most ${MAX_TUNE_WINDOWS} windows`);
  return out;
}

/** The idle policy `tune` replays: the named one, else the first idle policy; BadRequest naming `field` if none. */
export function tunePolicy(config: Config, name: string | undefined, field: string): IdlePolicyConfig {
  const idle = config.policies.filter((p): p is IdlePolicyConfig => p.type === 'idle');
  if (name === undefined) {
    if (!idle[0]) throw new BadRequest(field, 'the config has no idle policy to replay; add one (type: idle) or name one');
    return idle[0];
  }
  const p = idle.find((x) => x.name === name);
  if (!p) throw new BadRequest(field, `no idle policy named "${name}"${idle.length ? ` (idle policies: ${idle.map((x) => x.name).join(', ')})` : ''}`);
  return p;
}

/** The answer of `tune`, times in epoch ms. */
export interface TuneReport {
  from: number;
  to: number;
  policy: string;
  history_days: number;
  rows: TuneRow[];
  recommendation: ReturnType<typeof recommend>;
  note: string;
}

/** Replay [from, to) under `windows` (ms; the policy's own idle_for is added when missing), rows by window. */
export function tuneReport(db: Db, config: Config, q: { from: number; to: number; now: number; windows: number[]; policy: IdlePolicyConfig }): TuneReport {
  const { from, to, policy } = q;
  const windows = [...new Set([...q.windows, policy.idle_for])].sort((a, b) => a - b);
  const history = tuneHistory(db, from, to);
  const overrides = listOverrides(db, { all: true }, q.now);
  const byInstance = new Map<string, IdleStretch[]>();
  const covering = new Map<string, ReturnType<typeof overridesCovering>>();
  for (const inst of history.instances) {
    if (!policyApplies(policy, inst, config.keep_marker)) continue;
    byInstance.set(inst.id, idleStretches(inst, policy.probes, to));
    covering.set(inst.id, overridesCovering(overrides, inst, policy.name));
  }
  const stopDelayMs = releaseDelay(history.instances);
  const figures = windows.map((w) => ({
    ...evaluateWindow(byInstance, {
      idleForMs: w,
      minUptimeMs: policy.min_uptime,
      cooldownMs: config.limits.cooldown_after_boot,
      stopDelayMs,
      from,
      to,
      ticks: history.ticks,
      overridesFor: (id) => covering.get(id) ?? [],
    }),
    current: w === policy.idle_for,
  }));
  const curHeld = figures.find((f) => f.current)!.heldSaved;
  const rows: TuneRow[] = figures.map(({ heldSaved, ...f }) => ({ ...f, more_than_current_yuan: Math.round((heldSaved - curHeld) * 10_000) / 10_000 }));
  const first = firstProbeChange(db, to);
  const historyDays = first === null ? 0 : Math.round((Math.max(0, to - Math.max(from, first)) / 86_400_000) * 100) / 100;
  return { from, to, policy: policy.name, history_days: historyDays, rows, recommendation: recommend(rows, historyDays), note: TUNE_NOTE };
}

/** The recommendation as one line in `locale`. */
export function recommendationLine(r: TuneReport, locale: 'zh-CN' | 'en'): string {
  const cur = r.rows.find((x) => x.current)!;
  const rec = r.recommendation;
  if (rec.keep || rec.idle_for_s === null) {
    return locale === 'zh-CN'
      ? `建议：保持 ${cur.idle_for}（更短的窗口会让你更常遇到已释放的 GPU）`
      : `recommendation: keep ${cur.idle_for} (a shorter window would have met you with a released GPU more often)`;
  }
  const w = formatDuration(rec.idle_for_s * 1000);
  const more = rec.saved_more_yuan ?? 0;
  const money = `¥${Math.abs(more).toFixed(2)}`;
  if (locale === 'zh-CN') return `建议：改为 ${w}（比 ${cur.idle_for} ${more >= 0 ? '多省' : '少省'} ${money}，打断 ${rec.interruptions} 次）`;
  return `recommendation: ${w} (${money} ${more >= 0 ? 'more' : 'less'} saved than ${cur.idle_for}, ${rec.interruptions} interruption(s))`;
}
