/**
 * `runway`: hours of balance left at the current burn rate (sum of billed rates). Under `warn_hours` it warns;
 * under `act_hours` it releases GPUs — an explicit `priority` list of name globs first, then the highest rate —
 * until the runway is back above `act_hours`, so the platform never destroys containers at a negative balance.
 *
 * What it may not release (`#keep`, overrides, instances its selector leaves out, the cooldown after a boot) is
 * protected from the guard, not from the platform: when the runway is still under `act_hours` after every release
 * it may make, it raises `runway_critical` (repeated every `critical_repeat`, every `critical_repeat_last_hour` in
 * the last hour) with the time the balance reaches ¥0, what will be destroyed and how much to top up; when that
 * runway falls to `last_resort` (default 30 m; `off` never) it releases the protected instances too, highest rate
 * first, journaled with policy `last-resort` — a release keeps the disk, a destruction does not.
 *
 * The balance it reckons with is the observed one minus what accrued since the platform's last (hourly, in arrears)
 * debit. A balance at or below ¥0 is a runway of 0 whatever burns: nothing is "restored" because the platform destroyed
 * what burned.
 *
 * ```yaml
 * - { name: runway, type: runway, warn_hours: 12, act_hours: 2, last_resort: 30m, priority: ["scratch-*"], action: release_gpu }
 * ```
 */
import { runwayPolicySchema, type RunwayPolicyConfig } from '../config/schema.js';
import { formatDuration } from '../config/duration.js';
import { savingPerHour } from '../action-kinds.js';
import { globMatch } from '../glob.js';
import { act } from './decide.js';
import type { PolicyDecision, InstanceState, PolicyType } from './types.js';
import { byCodeUnit } from '../order.js';
import { balanceFigures, runwayHours, topUpFor } from '../money.js';

/** The policy name journaled on last-resort releases. */
export const LAST_RESORT_POLICY = 'last-resort';

const H = 3_600_000;


/** Order in which the runway policy releases: priority globs first (in list order), then highest rate. */
export function releaseOrder(insts: InstanceState[], priority: string[] = []): InstanceState[] {
  const rank = (i: InstanceState) => {
    const k = priority.findIndex((g) => globMatch(g, i.name));
    return k === -1 ? priority.length : k;
  };
  return [...insts].sort((a, b) => rank(a) - rank(b) || b.rate - a.rate || byCodeUnit(a.id, b.id));
}

const round2 = (x: number) => Math.round(x * 100) / 100;

/** The runway policy type. */
export const runwayPolicy: PolicyType<RunwayPolicyConfig> = {
  type: 'runway',
  schema: runwayPolicySchema,
  actsOnInstances: (cfg) => cfg.action !== 'notify',
  evaluate(cfg, ctx): PolicyDecision[] {
    if (ctx.balance === null) return [];
    // what the balance really holds: the platform debits hourly in arrears, so what accrued since its last debit is
    // owed already (without this the runway jumps at each debit, and the last resort could come after destruction)
    const fig = balanceFigures(ctx.balance, ctx.now, ctx.unbilled, ctx.all.reduce((s, i) => s + i.rate, 0));
    const { estimate: balance, burn, runwayHours: hours } = fig;
    const figures = { balance: fig.observed, observed_at: fig.observedAt, estimate: fig.estimate };
    const warnKey = `runway_warn:${cfg.name}`;
    const actKey = `runway_act:${cfg.name}`;
    const criticalKey = `runway_critical:${cfg.name}`;
    const resolveOf = (dedupKey: string): PolicyDecision => ({ kind: 'resolve', policy: cfg.name, dedupKey, data: { policy: cfg.name, ...figures, hours_left: hours } });
    // never "resolved" while the balance is at or below ¥0 (the burn may have dropped through destruction)
    const resolveCritical: PolicyDecision[] = balance > 0 ? [resolveOf(criticalKey)] : [];
    // releasing stops once the runway is back above act_hours: the account's runway_act alert resolves
    const resolveAct: PolicyDecision[] = balance > 0 ? [resolveOf(actKey)] : [];
    if (hours >= cfg.warn_hours) return [resolveOf(warnKey), ...resolveAct, ...resolveCritical];
    const data = {
      policy: cfg.name,
      ...figures,
      burn_per_hour: burn,
      hours_left: round2(hours),
      empty_at: ctx.now + hours * H,
      reason: `runway ${formatDuration(hours * H)} at ¥${burn.toFixed(2)}/h (balance ≈ ¥${balance.toFixed(2)} now)`,
      reason_code: { code: 'runway.low', params: { runway_ms: Math.round(hours * H), burn_yuan: burn, balance_yuan: balance } },
    };
    const out: PolicyDecision[] = [
      { kind: 'alert', policy: cfg.name, repeatMs: cfg.repeat, event: { type: 'runway_warn', dedupKey: warnKey, fingerprint: hours < cfg.act_hours ? 'act' : 'warn', status: 'firing', channels: cfg.channels, data } },
    ];
    if (hours >= cfg.act_hours) return [...out, ...resolveAct, ...resolveCritical];
    const release = (inst: InstanceState, policy: string, reason: string, reasonCode: { code: string; params: Record<string, string | number> }): PolicyDecision =>
      act({ name: policy, action: cfg.action }, inst, `${policy}:${inst.id}:${inst.billedSince ?? 0}`, {
        reason,
        reasonCode,
        lastResort: policy === LAST_RESORT_POLICY,
        events: [{ type: 'runway_act', dedupKey: actKey, status: 'firing', channels: cfg.channels, data: { ...data, instance: { id: inst.id, name: inst.name, gpu_model: inst.gpuModel, price_per_hour: inst.pricePerHour } } }],
      });
    // Release until what remains burns slowly enough to last act_hours (strictly above, with a small margin).
    let remaining = burn;
    const target = balance / cfg.act_hours;
    const releasing = (i: InstanceState) => cfg.action !== 'notify' && savingPerHour(cfg.action, i, i.rate) > 0;
    if (cfg.action !== 'notify') {
      for (const inst of releaseOrder(ctx.candidates.filter((i) => i.holdsGpu && i.rate > 0), cfg.priority)) {
        if (remaining < target * 0.99) break;
        if (!releasing(inst)) continue;
        remaining -= savingPerHour(cfg.action, inst, inst.rate);
        out.push(release(inst, cfg.name, `${data.reason} < act_hours ${cfg.act_hours}h; releasing ¥${inst.rate.toFixed(2)}/h`, { code: 'runway.release', params: { ...data.reason_code.params, act_hours: cfg.act_hours, rate_yuan: inst.rate } }));
      }
    }
    // What the guard may not release still burns: the platform destroys everything at ¥0.
    const candidates = new Set(ctx.candidates.map((i) => i.id));
    const protectedBurning = ctx.all.filter((i) => !candidates.has(i.id) && i.holdsGpu && i.rate > 0);
    const left = runwayHours(balance, remaining);
    if (protectedBurning.length === 0 || left >= cfg.act_hours) return [...out, ...resolveCritical];
    const emptyAt = ctx.now + left * H;
    const lastResortAt = cfg.last_resort === null || cfg.action === 'notify' ? undefined : Math.max(ctx.now, emptyAt - cfg.last_resort);
    const runwayText = `runway ${formatDuration(left * H)} at ¥${remaining.toFixed(2)}/h (balance ≈ ¥${balance.toFixed(2)} now)`;
    const topUpHours = cfg.warn_hours;
    const topUp = topUpFor({ ...fig, burn: remaining }, topUpHours);
    const critical = {
      ...data,
      burn_per_hour: remaining,
      hours_left: round2(left),
      empty_at: emptyAt,
      instances: ctx.all.filter((i) => i.status !== 'destroyed').map((i) => ({ id: i.id, name: i.name, gpu_model: i.gpuModel, price_per_hour: i.pricePerHour, status: i.status })),
      top_up: topUp,
      top_up_hours: topUpHours,
      ...(lastResortAt !== undefined ? { last_resort_at: lastResortAt } : {}),
      reason: `${runwayText} and what still burns is protected: the platform destroys every instance at ¥0`,
      reason_code: { code: 'runway.critical', params: { runway_ms: Math.round(left * H), burn_yuan: remaining, balance_yuan: balance } },
    };
    out.push({
      kind: 'alert',
      policy: cfg.name,
      repeatMs: left <= 1 ? cfg.critical_repeat_last_hour : cfg.critical_repeat,
      event: { type: 'runway_critical', dedupKey: criticalKey, fingerprint: 'critical', status: 'firing', channels: cfg.channels, data: critical },
    });
    if (cfg.last_resort === null || cfg.action === 'notify' || left * H > cfg.last_resort) return out;
    for (const inst of releaseOrder(protectedBurning)) {
      if (remaining < target * 0.99) break;
      if (!releasing(inst)) continue;
      remaining -= savingPerHour(cfg.action, inst, inst.rate);
      out.push(
        release(inst, LAST_RESORT_POLICY, `last resort: ${runwayText} ≤ ${formatDuration(cfg.last_resort)}; releasing protected ¥${inst.rate.toFixed(2)}/h before the platform destroys it`, {
          code: 'runway.last_resort',
          params: { ...critical.reason_code.params, last_resort_ms: cfg.last_resort, rate_yuan: inst.rate },
        }),
      );
    }
    return out;
  },
};
