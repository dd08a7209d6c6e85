/**
 * `runway`: hours of balance left at the current burn rate (sum of billed rates). Under `warn_hours` it warns;
 * under `act_hours` it releases GPUs — an explicit `priority` list of name globs first, then the highest rate —
 * until the runway is back above `act_hours`, so the platform never destroys containers at a negative balance.
 *
 * ```yaml
 * - { name: runway, type: runway, warn_hours: 12, act_hours: 2, priority: ["scratch-*"], action: release_gpu }
 * ```
 */
import { runwayPolicySchema, type RunwayPolicyConfig } from '../config/schema.js';
import { formatDuration } from '../config/duration.js';
import { savingPerHour } from '../actions/kinds.js';
import { globMatch } from './selector.js';
import type { PolicyDecision, InstanceState, PolicyType } from './types.js';

/** Hours of balance left at `burn` ¥/h (Infinity when nothing burns). */
export function runwayHours(balance: number, burn: number): number {
  if (burn <= 0) return Infinity;
  return Math.max(0, balance) / burn;
}

/** Order in which the runway policy releases: priority globs first (in list order), then highest rate. */
export function releaseOrder(insts: InstanceState[], priority: string[] = []): InstanceState[] {
  const rank = (i: InstanceState) => {
    const k = priority.findIndex((g) => globMatch(g, i.name));
    return k === -1 ? priority.length : k;
  };
  return [...insts].sort((a, b) => rank(a) - rank(b) || b.rate - a.rate || a.id.localeCompare(b.id));
}

/** The runway policy type. */
export const runwayPolicy: PolicyType<RunwayPolicyConfig> = {
  type: 'runway',
  schema: runwayPolicySchema,
  actsOnInstances: (cfg) => cfg.action !== 'notify',
  evaluate(cfg, ctx): PolicyDecision[] {
    if (ctx.balance === null) return [];
    const burn = ctx.all.reduce((s, i) => s + i.rate, 0);
    const hours = runwayHours(ctx.balance, burn);
    const warnKey = `runway_warn:${cfg.name}`;
    if (hours >= cfg.warn_hours) return [{ kind: 'resolve', policy: cfg.name, dedupKey: warnKey, data: { policy: cfg.name, balance: ctx.balance, hours_left: hours } }];
    const data = {
      policy: cfg.name,
      balance: ctx.balance,
      burn_per_hour: burn,
      hours_left: Math.round(hours * 100) / 100,
      empty_at: ctx.now + hours * 3_600_000,
      reason: `runway ${formatDuration(hours * 3_600_000)} at ¥${burn.toFixed(2)}/h (balance ¥${ctx.balance.toFixed(2)})`,
      reason_code: { code: 'runway.low', params: { runway_ms: Math.round(hours * 3_600_000), burn_yuan: burn, balance_yuan: ctx.balance } },
    };
    const out: PolicyDecision[] = [
      { kind: 'alert', policy: cfg.name, repeatMs: cfg.repeat, event: { type: 'runway_warn', dedupKey: warnKey, fingerprint: hours < cfg.act_hours ? 'act' : 'warn', status: 'firing', channels: cfg.channels, data } },
    ];
    if (hours >= cfg.act_hours || cfg.action === 'notify') return out;
    // Release until what remains burns slowly enough to last act_hours (strictly above, with a small margin).
    let remaining = burn;
    const target = ctx.balance / cfg.act_hours;
    const holders = releaseOrder(
      ctx.candidates.filter((i) => i.holdsGpu && i.rate > 0),
      cfg.priority,
    );
    for (const inst of holders) {
      if (remaining < target * 0.99) break;
      const saving = savingPerHour(cfg.action, inst, inst.rate);
      if (saving <= 0) continue;
      remaining -= saving;
      out.push({
        kind: 'act',
        policy: cfg.name,
        action: cfg.action,
        instance: inst,
        key: `${cfg.name}:${inst.id}:${inst.billedSince ?? 0}`,
        reason: `${data.reason} < act_hours ${cfg.act_hours}h; releasing ¥${inst.rate.toFixed(2)}/h`,
        reasonCode: { code: 'runway.release', params: { ...data.reason_code.params, act_hours: cfg.act_hours, rate_yuan: inst.rate } },
        requireIdle: false,
        events: [{ type: 'runway_act', dedupKey: `runway_act:${cfg.name}:${inst.id}:${inst.billedSince ?? 0}`, status: 'firing', channels: cfg.channels, data: { ...data, instance: { id: inst.id, name: inst.name, gpu_model: inst.gpuModel, price_per_hour: inst.pricePerHour } } }],
      });
    }
    return out;
  },
};
