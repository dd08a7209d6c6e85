/**
 * `balance`: alert when the balance is below a threshold — once per crossing (a deeper threshold is a change),
 * repeated every `repeat` while below, resolved (and re-armed) when a recharge lifts it above every threshold. At or
 * below ¥0 it fires (threshold 0) whatever the thresholds: the platform destroys instances there.
 *
 * ```yaml
 * - { name: low-balance, type: balance, below: [100, 30], repeat: 6h }
 * ```
 */
import { balancePolicySchema, type BalancePolicyConfig } from '../config/schema.js';
import type { PolicyDecision, PolicyType } from './types.js';
import { balanceFigures, topUpFor } from '../money.js';

/** The dedup key of a balance policy's alert. */
export const balanceKey = (policy: string) => `balance_low:${policy}`;

/** The balance policy type. */
export const balancePolicy: PolicyType<BalancePolicyConfig> = {
  type: 'balance',
  schema: balancePolicySchema,
  actsOnInstances: () => false,
  evaluate(cfg, ctx): PolicyDecision[] {
    if (ctx.balance === null) return [];
    const fig = balanceFigures(ctx.balance, ctx.now, ctx.unbilled, ctx.all.reduce((s, i) => s + i.rate, 0));
    const figures = {
      balance: fig.observed,
      observed_at: fig.observedAt,
      estimate: fig.estimate,
      burn_per_hour: fig.burn,
      hours_left: Number.isFinite(fig.runwayHours) ? Math.round(fig.runwayHours * 100) / 100 : null,
      top_up: topUpFor(fig, ctx.topUpHours),
      top_up_hours: ctx.topUpHours,
    };
    // at or below ¥0 the platform destroys instances: firing whatever the thresholds, never resolved
    const empty = ctx.balance <= 0;
    const crossed = cfg.below.filter((t) => ctx.balance! < t);
    if (crossed.length === 0 && !empty) {
      return [{ kind: 'resolve', policy: cfg.name, dedupKey: balanceKey(cfg.name), data: { ...figures, policy: cfg.name } }];
    }
    const threshold = empty ? 0 : Math.min(...crossed);
    return [
      {
        kind: 'alert',
        policy: cfg.name,
        repeatMs: cfg.repeat,
        event: {
          type: 'balance_low',
          dedupKey: balanceKey(cfg.name),
          fingerprint: String(threshold),
          status: 'firing',
          channels: cfg.channels,
          data: {
            policy: cfg.name,
            ...figures,
            threshold,
            reason: empty ? `balance ¥${ctx.balance.toFixed(2)} ≤ ¥0: the platform destroys instances` : `balance ¥${ctx.balance.toFixed(2)} < ¥${threshold.toFixed(2)}`,
            reason_code: empty
              ? { code: 'balance.empty', params: { balance_yuan: ctx.balance } }
              : { code: 'balance.below', params: { balance_yuan: ctx.balance, threshold_yuan: threshold } },
          },
        },
      },
    ];
  },
};
