/**
 * `idle`: release when every probe with an opinion says idle, at least one has an opinion, continuously for
 * `idle_for`, and the instance has been running for `min_uptime`. An unknown answer never counts as idle.
 *
 * ```yaml
 * - { name: idle-release, type: idle, idle_for: 45m, min_uptime: 10m, probes: [jupyter, heartbeat], action: release_gpu }
 * ```
 */
import { idlePolicySchema, type IdlePolicyConfig } from '../config/schema.js';
import { formatDuration } from '../config/duration.js';
import type { ReasonCode } from '../notify/reasons.js';
import { decide, plan } from './decide.js';
import type { IdleInfo, InstanceState, PolicyContext, PolicyDecision, PolicyType, ProbeView } from './types.js';

/**
 * Since when an instance has been idle by every opinion (the probes in `only`, or all): null when a probe says busy,
 * none has an opinion, or an idle one does not say since when. What `idleSince` judges, without its texts (the
 * views of a thousand instances ask this on every request).
 */
export function idleStart(inst: Pick<InstanceState, 'runningSince'>, probes: Record<string, ProbeView> | undefined, only?: string[]): number | null {
  let since = inst.runningSince ?? 0;
  let opinions = 0;
  for (const name in probes) {
    if (only && !only.includes(name)) continue;
    const v = probes[name];
    if (v.verdict === 'unknown') continue;
    if (v.verdict === 'busy') return null;
    opinions++;
    since = Math.max(since, v.since ?? Infinity);
  }
  return opinions > 0 && Number.isFinite(since) ? since : null;
}

/** The idle judgement for one instance: since when it has been idle by every opinion, or why not. */
export function idleSince(
  inst: InstanceState,
  probes: Record<string, ProbeView> | undefined,
  only?: string[],
): { idle: true; since: number; detail: string; codes: ReasonCode[] } | { idle: false; why: string } {
  const since = idleStart(inst, probes, only);
  const entries = Object.entries(probes ?? {}).filter(([name]) => !only || only.includes(name));
  const opinions = entries.filter(([, v]) => v.verdict !== 'unknown');
  if (since === null) {
    if (opinions.length === 0) return { idle: false, why: entries.length ? 'every probe answers unknown' : 'no probe answers for it' };
    const busy = opinions.filter(([, v]) => v.verdict === 'busy');
    if (busy.length) return { idle: false, why: `busy (${busy.map(([n, v]) => `${n}: ${v.detail}`).join('; ')})` };
    return { idle: false, why: 'idle start unknown' };
  }
  const codes = opinions.map(([n, v]) => v.code ?? { code: 'probe.text', params: { probe: n, text: v.detail } });
  return { idle: true, since, detail: opinions.map(([n, v]) => `${n}: ${v.detail}`).join('; '), codes };
}

/** When the GPU cannot be seen, an idle decision from app signals alone acts only after a warning this long. */
export const UNSEEN_GPU_WARN_MS = 15 * 60_000;

/** Whether the idle judgement of this policy saw the GPU (the `gpu` probe counts and has an opinion). */
export function gpuSeen(
  probes: Record<string, ProbeView> | undefined,
  only?: string[],
): { seen: boolean; why: string; codes: ReasonCode[]; unseenSince: number | null } {
  const unseen = (why: string, more: ReasonCode[] = [], unseenSince: number | null = null) => ({
    seen: false,
    why,
    codes: [{ code: 'idle.gpu_not_seen', params: {} }, ...more],
    unseenSince,
  });
  if (only && !only.includes('gpu')) return unseen("gpu is not among this policy's probes");
  const g = probes?.gpu;
  if (!g) return unseen('no GPU answer (probes.gpu off?)');
  if (g.verdict === 'unknown') return unseen(g.detail.replace(/^GPU not seen: /, ''), g.code ? [g.code] : [], g.since);
  return { seen: true, why: '', codes: [], unseenSince: null };
}

/**
 * The plan for an idle stretch: when the release is due and whether it needs a warning first. With the GPU
 * seen, it is due at `since + idle_for` (warned `warn_before` ahead when set). Without, it acts only after a
 * warning at least `warn_before` (default 15 m) old: due at the later of `since + idle_for` and the first
 * warning plus that lead. That warning belongs to the stretch in which the GPU went unseen (its key names when
 * that began): once the GPU has been seen again, say busy, an old warning never lets the next blind moment act.
 */
function planFor(cfg: IdlePolicyConfig, ctx: PolicyContext, inst: InstanceState, j: { since: number }) {
  const base = `${cfg.name}:${inst.id}:${j.since}`;
  const due = Math.max(j.since + cfg.idle_for, (inst.runningSince ?? ctx.now) + cfg.min_uptime);
  const gpu = gpuSeen(ctx.probes.get(inst.id), cfg.probes);
  if (gpu.seen) return { gpu, ...plan(ctx, base, due, cfg.warn_before ?? 0, false) };
  const key = gpu.unseenSince === null ? base : `${base}:unseen@${gpu.unseenSince}`;
  return { gpu, ...plan(ctx, key, due, cfg.warn_before ?? UNSEEN_GPU_WARN_MS, true) };
}

function evaluate(cfg: IdlePolicyConfig, ctx: PolicyContext): PolicyDecision[] {
  const out: PolicyDecision[] = [];
  for (const inst of ctx.candidates) {
    if (inst.status !== 'running' || !inst.holdsGpu || inst.runningSince === null) continue;
    const j = idleSince(inst, ctx.probes.get(inst.id), cfg.probes);
    if (!j.idle) continue;
    const idleMs = ctx.now - j.since;
    const p = planFor(cfg, ctx, inst, j);
    const unseen = p.gpu.seen ? '' : `; GPU not seen (${p.gpu.why})`;
    const details = [...j.codes, ...p.gpu.codes];
    const d = decide(cfg, ctx, inst, p, {
      act: {
        reason: `idle ${formatDuration(idleMs)} >= ${formatDuration(cfg.idle_for)} since ${ctx.fmtTime(j.since)}; ${j.detail}${unseen}`,
        reasonCode: { code: 'idle.release', params: { idle_ms: idleMs, idle_for_ms: cfg.idle_for, since: ctx.fmtTime(j.since) }, details },
        requireIdle: true,
        probes: cfg.probes,
        requireGpu: p.gpu.seen,
      },
      warn: { reason: `idle ${formatDuration(idleMs)} of ${formatDuration(cfg.idle_for)}; ${j.detail}${unseen}`, reasonCode: { code: 'idle.warn', params: { idle_ms: idleMs, idle_for_ms: cfg.idle_for }, details } },
    });
    if (d) out.push(d);
  }
  return out;
}

/**
 * The idle state of an instance as an idle policy with probe list `only` judges it (absent: every probe), with
 * every probe's answer for display. Only running instances that hold a GPU have an idle verdict.
 */
export function idleView(inst: InstanceState, probes: Record<string, ProbeView> | undefined, only?: string[]): IdleInfo {
  const all = probes ?? {};
  if (inst.status !== 'running') return { verdict: 'unknown', since: null, probes: all };
  const counted = Object.entries(all).filter(([n]) => !only || only.includes(n));
  const busy = counted.filter(([, p]) => p.verdict === 'busy');
  if (busy.length) {
    const starts = busy.map(([, b]) => b.since).filter((t): t is number => t !== null);
    return { verdict: 'busy', since: starts.length ? Math.min(...starts) : null, probes: all };
  }
  const since = idleStart(inst, all, only);
  return since !== null ? { verdict: 'idle', since, probes: all } : { verdict: 'unknown', since: null, probes: all };
}

/** The idle policy type. */
export const idlePolicy: PolicyType<IdlePolicyConfig> = {
  type: 'idle',
  schema: idlePolicySchema,
  actsOnInstances: (cfg) => cfg.action !== 'notify',
  evaluate,
  next(cfg, ctx, inst) {
    if (inst.status !== 'running' || !inst.holdsGpu) return null;
    const since = idleStart(inst, ctx.probes.get(inst.id), cfg.probes);
    if (since === null) return null;
    const p = planFor(cfg, ctx, inst, { since });
    const unseen = p.gpu.seen ? '' : ', GPU not seen: after a warning';
    const idleMs = Math.max(0, ctx.now - since);
    return {
      policy: cfg.name,
      action: cfg.action,
      at: p.at,
      reason: `idle ${formatDuration(idleMs)} of ${formatDuration(cfg.idle_for)}${unseen}`,
      reasonCode: { code: 'idle.warn', params: { idle_ms: idleMs, idle_for_ms: cfg.idle_for }, details: p.gpu.seen ? [] : [{ code: 'idle.gpu_not_seen', params: {} }] },
    };
  },
};
