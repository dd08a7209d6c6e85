/**
 * `budget`: estimated spend per day or month (configured time zone) over `limit` notifies once per period,
 * or acts (releases the matching instances that hold a GPU) when `action` is not `notify`.
 *
 * ```yaml
 * - { name: daily-cap, type: budget, per: day, limit: 80, action: notify }
 * ```
 */
import { budgetPolicySchema, type BudgetPolicyConfig } from '../config/schema.js';
import { act } from './decide.js';
import type { PolicyDecision, PolicyType } from './types.js';

/** The budget policy type. */
export const budgetPolicy: PolicyType<BudgetPolicyConfig> = {
  type: 'budget',
  schema: budgetPolicySchema,
  actsOnInstances: (cfg) => cfg.action !== 'notify',
  evaluate(cfg, ctx): PolicyDecision[] {
    const spent = cfg.per === 'day' ? ctx.spend.today : ctx.spend.month;
    const periodStart = cfg.per === 'day' ? ctx.spend.dayStart : ctx.spend.monthStart;
    if (spent <= cfg.limit) return [];
    const reason = `estimated spend ¥${spent.toFixed(2)} this ${cfg.per} > limit ¥${cfg.limit.toFixed(2)}`;
    const reason_code = { code: `budget.exceeded_${cfg.per}`, params: { spent_yuan: spent, limit_yuan: cfg.limit } };
    const out: PolicyDecision[] = [
      {
        kind: 'alert',
        policy: cfg.name,
        // once per period: the key carries the period start, and no repeat within it
        repeatMs: 400 * 86_400_000,
        event: { type: 'budget_exceeded', dedupKey: `budget:${cfg.name}:${periodStart}`, status: 'firing', channels: cfg.channels, data: { policy: cfg.name, period: cfg.per, spent, limit: cfg.limit, reason, reason_code } },
      },
    ];
    if (cfg.action === 'notify') return out;
    for (const inst of ctx.candidates) {
      if (!inst.holdsGpu) continue;
      out.push(act(cfg, inst, `${cfg.name}:${inst.id}:${periodStart}`, { reason, reasonCode: reason_code }));
    }
    return out;
  },
};
