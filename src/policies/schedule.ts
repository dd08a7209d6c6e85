/**
 * `schedule`: at each cron occurrence (in the policy's or the global time zone), act on the matching instances
 * that have held their GPU since before that occurrence. An occurrence missed while the daemon was down is
 * caught up within `catch_up`; an instance the user boots after the occurrence is left alone until the next one.
 * With `action: boot` it wakes the matching shut-down instances instead (src/wake/: GPU shortage retries, model
 * fallback, money check), once per occurrence, and only those already down at the occurrence.
 *
 * ```yaml
 * - { name: nightly, type: schedule, cron: "0 2 * * *", warn_before: 30m, catch_up: 1h, action: release_gpu, match: { name: "sd-*" } }
 * - { name: morning, type: schedule, cron: "50 8 * * 1-5", action: boot, gpu_models: ["RTX 4090 D", "RTX 4090"], match: { name: "sd-*" } }
 * ```
 */
import type { Cron } from 'croner';
import { readCron } from '../config/cron.js';
import { schedulePolicySchema, type SchedulePolicyConfig } from '../config/schema.js';
import { formatDuration } from '../config/duration.js';
import type { ReasonCode } from '../notify/reasons.js';
import { act, warn } from './decide.js';
import type { PolicyDecision, PolicyContext, PolicyType } from './types.js';

/**
 * Occurrences around an instant, memoized: each instance's next action asks the same question (asked anew, 100
 * instances' previous and next occurrences took 37 ms, more than the instance list's whole 30 ms budget). None for a
 * cron croner refuses (the config's check refuses it first; a policy never acts on a cron it cannot read).
 */
const answers = new Map<string, number | null>();
function occurrence(dir: 'prev' | 'next', cron: string, now: number, tz: string): number | null {
  const key = `${dir} ${now} ${tz} ${cron}`;
  let at = answers.get(key);
  if (at === undefined) {
    let c: Cron | null = null;
    try {
      c = readCron(cron, { timezone: tz });
    } catch {
      /* no occurrence */
    }
    // previousRuns looks before its reference: 1 ms on, an occurrence at `now` counts
    const d = c === null ? undefined : dir === 'prev' ? c.previousRuns(1, new Date(now + 1))[0] : c.nextRun(new Date(now));
    at = d ? d.getTime() : null;
    if (answers.size >= 256) answers.clear();
    answers.set(key, at);
  }
  return at;
}

/** The latest occurrence at or before `now` in `tz`, or null. */
export function prevOccurrence(cron: string, now: number, tz: string): number | null {
  return occurrence('prev', cron, now, tz);
}

/** The first occurrence strictly after `now` in `tz`, or null. */
export function nextOccurrence(cron: string, now: number, tz: string): number | null {
  return occurrence('next', cron, now, tz);
}

/** The reason code of an occurrence at `at`, noting when it is caught up more than a minute late. */
function dueCode(cfg: SchedulePolicyConfig, tz: string, at: string, late: number): ReasonCode {
  return late > 60_000 ? { code: 'schedule.due_late', params: { cron: cfg.cron, tz, at, late_ms: late } } : { code: 'schedule.due', params: { cron: cfg.cron, tz, at } };
}

/** `action: boot`: the due occurrence wakes matching instances that were shut down before it (never twice). */
function evaluateBoot(cfg: SchedulePolicyConfig, ctx: PolicyContext): PolicyDecision[] {
  const tz = cfg.timezone ?? ctx.timezone;
  const prev = prevOccurrence(cfg.cron, ctx.now, tz);
  if (prev === null || ctx.now - prev > cfg.catch_up) return [];
  const late = ctx.now - prev;
  return ctx.candidates
    .filter((inst) => inst.status === 'shutdown' && (inst.stoppedAt === undefined || inst.stoppedAt === null || inst.stoppedAt <= prev))
    .map((inst) =>
      act(cfg, inst, `${cfg.name}:${inst.id}:${prev}`, {
        reason: `schedule "${cfg.cron}" (${tz}) at ${ctx.fmtTime(prev)}: wake${late > 60_000 ? `, caught up ${formatDuration(late)} late` : ''}`,
        reasonCode: dueCode(cfg, tz, ctx.fmtTime(prev), late),
      }),
    );
}

function evaluate(cfg: SchedulePolicyConfig, ctx: PolicyContext): PolicyDecision[] {
  if (cfg.action === 'boot') return evaluateBoot(cfg, ctx);
  const tz = cfg.timezone ?? ctx.timezone;
  const out: PolicyDecision[] = [];
  const prev = prevOccurrence(cfg.cron, ctx.now, tz);
  const next = nextOccurrence(cfg.cron, ctx.now, tz);
  for (const inst of ctx.candidates) {
    if (!inst.holdsGpu || inst.billedSince === null) continue;
    if (prev !== null && ctx.now - prev <= cfg.catch_up && inst.billedSince <= prev) {
      const late = ctx.now - prev;
      out.push(
        act(cfg, inst, `${cfg.name}:${inst.id}:${prev}`, {
          reason: `schedule "${cfg.cron}" (${tz}) at ${ctx.fmtTime(prev)}${late > 60_000 ? `, caught up ${formatDuration(late)} late` : ''}`,
          reasonCode: dueCode(cfg, tz, ctx.fmtTime(prev), late),
        }),
      );
    } else if (next !== null && cfg.warn_before && ctx.now >= next - cfg.warn_before) {
      out.push(warn(cfg, inst, `${cfg.name}:${inst.id}:${next}`, next, { reason: `schedule "${cfg.cron}" (${tz}) at ${ctx.fmtTime(next)}`, reasonCode: dueCode(cfg, tz, ctx.fmtTime(next), 0) }));
    }
  }
  return out;
}

/** The schedule policy type. */
export const schedulePolicy: PolicyType<SchedulePolicyConfig> = {
  type: 'schedule',
  schema: schedulePolicySchema,
  actsOnInstances: (cfg) => cfg.action !== 'notify',
  evaluate,
  next(cfg, ctx, inst) {
    if (cfg.action === 'boot' ? inst.status !== 'shutdown' : !inst.holdsGpu) return null;
    const tz = cfg.timezone ?? ctx.timezone;
    const at = nextOccurrence(cfg.cron, ctx.now, tz);
    return at === null
      ? null
      : { policy: cfg.name, action: cfg.action, at, reason: `${cfg.name} at ${ctx.fmtTime(at)}, in ${formatDuration(at - ctx.now)}`, reasonCode: { code: 'schedule.next', params: { policy: cfg.name, at: ctx.fmtTime(at), in_ms: at - ctx.now } } };
  },
  nextFireAt: (cfg, now, tz) => nextOccurrence(cfg.cron, now, cfg.timezone ?? tz),
};
