/**
 * `max_runtime`: act when an instance has held its GPU (been billed at GPU price) continuously for `max`.
 *
 * ```yaml
 * - { name: runaway, type: max_runtime, max: 12h, warn_before: 30m, action: release_gpu }
 * ```
 */
import { maxRuntimePolicySchema, type MaxRuntimePolicyConfig } from '../config/schema.js';
import { formatDuration } from '../config/duration.js';
import { decide, plan } from './decide.js';
import type { PolicyDecision, PolicyContext, PolicyType } from './types.js';

function evaluate(cfg: MaxRuntimePolicyConfig, ctx: PolicyContext): PolicyDecision[] {
  const out: PolicyDecision[] = [];
  for (const inst of ctx.candidates) {
    if (!inst.holdsGpu || inst.billedSince === null) continue;
    const ran = ctx.now - inst.billedSince;
    const p = plan(ctx, `${cfg.name}:${inst.id}:${inst.billedSince}`, inst.billedSince + cfg.max, cfg.warn_before ?? 0, false);
    const d = decide(cfg, ctx, inst, p, {
      act: {
        reason: `billed continuously for ${formatDuration(ran)} >= ${formatDuration(cfg.max)} (since ${ctx.fmtTime(inst.billedSince)})`,
        reasonCode: { code: 'max_runtime.exceeded', params: { ran_ms: ran, max_ms: cfg.max, since: ctx.fmtTime(inst.billedSince) } },
      },
      warn: { reason: `billed ${formatDuration(ran)} of max ${formatDuration(cfg.max)}`, reasonCode: { code: 'max_runtime.warn', params: { ran_ms: ran, max_ms: cfg.max } } },
    });
    if (d) out.push(d);
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
