/**
 * `stopped_with_gpu`: an instance shut down while keeping its GPU bills as if it ran (XianGong's 关机 keeps the GPU:
 * 期间实例照常收费). After `after` in that state it gets `action` (default `shutdown_release_gpu`, which keeps the
 * disk), always announced first: it acts only once a warning has been out for `warn_before` (default 10 m), so a
 * user who stopped it on purpose can snooze it or boot it again.
 *
 * ```yaml
 * - { name: held-gpu, type: stopped_with_gpu, after: 30m, warn_before: 10m }
 * ```
 */
import { stoppedWithGpuPolicySchema, type StoppedWithGpuPolicyConfig } from '../config/schema.js';
import { formatDuration } from '../config/duration.js';
import { decide, plan } from './decide.js';
import type { InstanceState, PolicyContext, PolicyDecision, PolicyType } from './types.js';

/** The warning lead when `warn_before` is not set. */
export const STOPPED_WARN_MS = 10 * 60_000;

/** Whether `inst` is shut down and still billed for its GPU (with a known start of that state). */
export function stoppedWithGpu(inst: InstanceState): inst is InstanceState & { stoppedSince: number } {
  return inst.status === 'shutdown' && inst.holdsGpu && inst.stoppedSince !== undefined && inst.stoppedSince !== null;
}

/** The action is planned `after` into the stop, and goes out only once a warning has been out for `warn_before`. */
function planFor(cfg: StoppedWithGpuPolicyConfig, ctx: PolicyContext, inst: InstanceState & { stoppedSince: number }) {
  return plan(ctx, `${cfg.name}:${inst.id}:${inst.stoppedSince}`, inst.stoppedSince + cfg.after, cfg.warn_before ?? STOPPED_WARN_MS, true);
}

function evaluate(cfg: StoppedWithGpuPolicyConfig, ctx: PolicyContext): PolicyDecision[] {
  const out: PolicyDecision[] = [];
  for (const inst of ctx.candidates) {
    if (!stoppedWithGpu(inst)) continue;
    const stopped = ctx.now - inst.stoppedSince;
    const params = { stopped_ms: stopped, after_ms: cfg.after, rate_yuan: inst.rate, since: ctx.fmtTime(inst.stoppedSince) };
    const d = decide(cfg, ctx, inst, planFor(cfg, ctx, inst), {
      act: {
        reason: `stopped ${formatDuration(stopped)} (since ${ctx.fmtTime(inst.stoppedSince)}) with its GPU still billed at ¥${inst.rate.toFixed(2)}/h`,
        reasonCode: { code: 'stopped_with_gpu.release', params },
      },
      warn: { reason: `stopped ${formatDuration(stopped)} of ${formatDuration(cfg.after)}; GPU still billed at ¥${inst.rate.toFixed(2)}/h`, reasonCode: { code: 'stopped_with_gpu.warn', params } },
    });
    if (d) out.push(d);
  }
  return out;
}

/** The stopped_with_gpu policy type. */
export const stoppedWithGpuPolicy: PolicyType<StoppedWithGpuPolicyConfig> = {
  type: 'stopped_with_gpu',
  schema: stoppedWithGpuPolicySchema,
  actsOnInstances: (cfg) => cfg.action !== 'notify',
  evaluate,
  next(cfg, ctx, inst) {
    if (!stoppedWithGpu(inst)) return null;
    const p = planFor(cfg, ctx, inst);
    const stopped = ctx.now - inst.stoppedSince;
    return {
      policy: cfg.name,
      action: cfg.action,
      at: p.at,
      reason: `stopped ${formatDuration(stopped)} of ${formatDuration(cfg.after)}; GPU still billed at ¥${inst.rate.toFixed(2)}/h`,
      reasonCode: { code: 'stopped_with_gpu.warn', params: { stopped_ms: stopped, after_ms: cfg.after, rate_yuan: inst.rate, since: ctx.fmtTime(inst.stoppedSince) } },
    };
  },
};
