/**
 * `max_runtime`: act when an instance has held its GPU (been billed at GPU price) continuously for `max`.
 *
 * ```yaml
 * - { name: runaway, type: max_runtime, max: 12h, warn_before: 30m, action: release_gpu }
 * ```
 */
import { maxRuntimePolicySchema, type MaxRuntimePolicyConfig } from '../config/schema.js';
import { formatDuration } from '../config/duration.js';
import type { PolicyDecision, PolicyContext, PolicyType } from './types.js';

function evaluate(cfg: MaxRuntimePolicyConfig, ctx: PolicyContext): PolicyDecision[] {
  const out: PolicyDecision[] = [];
  for (const inst of ctx.candidates) {
    if (!inst.holdsGpu || inst.billedSince === null) continue;
    const ran = ctx.now - inst.billedSince;
    const due = inst.billedSince + cfg.max;
    if (ran >= cfg.max) {
      out.push({
        kind: 'act',
        policy: cfg.name,
        action: cfg.action,
        instance: inst,
        key: `${cfg.name}:${inst.id}:${inst.billedSince}`,
        reason: `billed continuously for ${formatDuration(ran)} >= ${formatDuration(cfg.max)} (since ${ctx.fmtTime(inst.billedSince)})`,
        reasonCode: { code: 'max_runtime.exceeded', params: { ran_ms: ran, max_ms: cfg.max, since: ctx.fmtTime(inst.billedSince) } },
        requireIdle: false,
      });
    } else if (cfg.warn_before && ctx.now >= due - cfg.warn_before) {
      out.push({ kind: 'warn', policy: cfg.name, action: cfg.action, instance: inst, key: `${cfg.name}:${inst.id}:${inst.billedSince}`, plannedAt: due, reason: `billed ${formatDuration(ran)} of max ${formatDuration(cfg.max)}`, reasonCode: { code: 'max_runtime.warn', params: { ran_ms: ran, max_ms: cfg.max } } });
    }
  }
  return out;
}

/** The max_runtime policy type. */
export const maxRuntimePolicy: PolicyType<MaxRuntimePolicyConfig> = {
  type: 'max_runtime',
  schema: maxRuntimePolicySchema,
  actsOnInstances: (cfg) => cfg.action !== 'notify',
  evaluate,
  next(cfg, ctx, inst) {
    if (!inst.holdsGpu || inst.billedSince === null) return null;
    const at = inst.billedSince + cfg.max;
    const ran = ctx.now - inst.billedSince;
    return { policy: cfg.name, action: cfg.action, at, reason: `runtime ${formatDuration(ran)} of ${formatDuration(cfg.max)}`, reasonCode: { code: 'max_runtime.warn', params: { ran_ms: ran, max_ms: cfg.max } } };
  },
};
