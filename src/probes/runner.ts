/**
 * Runs the enabled probes over running instances with a concurrency limit and a timeout per probe,
 * and stores only what matters: the last answer per (instance, probe) and verdict changes. Never secrets.
 */
import { asc, inArray } from 'drizzle-orm';
import { probeChanges, probeState } from '../db/schema.js';
import type { Clock } from '../clock.js';
import type { Db } from '../db/open.js';
import type { InstanceAccess } from '../xgc/types.js';
import type { ComfyUiProbeOptions } from './comfyui.js';
import type { HeartbeatProbeOptions } from './heartbeat.js';
import { describeError, errorPhrase } from './http.js';
import type { JupyterProbeOptions } from './jupyter.js';
import { probeRegistry, type ProbeRegistry } from './registry.js';
import type { SdWebUiProbeOptions } from './sdwebui.js';
import { parseReasonCode, type ReasonCode } from '../notify/reasons.js';
import type { ProbeContext, ProbeDefinition, ProbeLogger, ProbeResult, Verdict } from './types.js';

/** `enabled` switch of each probe's options (missing = enabled when the entry is present). */
export interface ProbeSwitch {
  enabled?: boolean;
}

/** Options of every polled probe, keyed by name; a probe runs when its entry is present and not `enabled: false`. */
export interface ProbeOptions {
  jupyter?: ProbeSwitch & Partial<JupyterProbeOptions>;
  comfyui?: ProbeSwitch & Partial<ComfyUiProbeOptions>;
  sdwebui?: ProbeSwitch & Partial<SdWebUiProbeOptions>;
  heartbeat?: ProbeSwitch & Partial<HeartbeatProbeOptions>;
}

/** The polled probes' defaults (the streaming `gpu` probe lives in monitor.ts). */
export const DEFAULT_PROBE_OPTIONS: ProbeOptions = {
  jupyter: { enabled: true },
  comfyui: { enabled: true },
  sdwebui: { enabled: true },
  heartbeat: { enabled: true },
};

/** Dependencies of {@link runProbes}. */
export interface RunProbesDeps {
  db: Db;
  clock: Clock;
  log?: ProbeLogger;
  /** Probe runs in flight at once, over all instances (default 8). */
  concurrency?: number;
  /** Registry to build probes from (default: the built-in one). */
  registry?: ProbeRegistry;
}

/** Results of one round: instance id -> probe name -> answer. Probes that do not apply to an instance are absent. */
export type ProbeResults = Map<string, Record<string, ProbeResult>>;

/** Build the enabled probes from their options; throws UnknownProbeError for a name not in the registry. */
export function buildProbes(enabled: ProbeOptions, registry: ProbeRegistry = probeRegistry): ProbeDefinition[] {
  const out: ProbeDefinition[] = [];
  for (const [name, raw] of Object.entries(enabled) as [string, (ProbeSwitch & Record<string, unknown>) | undefined][]) {
    const kind = registry.get(name);
    if (!raw || raw.enabled === false) continue;
    const { enabled: _ignored, ...options } = raw;
    out.push(kind.create(options));
  }
  return out;
}

const MAX_DETAIL = 500;

/** Replace any secret of the instance that slipped into a detail, and cap its length. */
function scrub(detail: string, access: InstanceAccess): string {
  let d = String(detail ?? '');
  for (const secret of [access.password, access.jupyterToken]) {
    if (secret && secret.length >= 4) d = d.split(secret).join('***');
  }
  return d.length > MAX_DETAIL ? d.slice(0, MAX_DETAIL - 1) + '…' : d;
}

/** A reason code with every string parameter scrubbed like the detail (recursively through `details`). */
function scrubCode(code: ReasonCode, access: InstanceAccess): ReasonCode {
  const params: ReasonCode['params'] = {};
  for (const [k, v] of Object.entries(code.params ?? {})) params[k] = typeof v === 'string' ? scrub(v, access) : v;
  const out: ReasonCode = { code: String(code.code), params };
  if (code.details) out.details = code.details.map((d) => scrubCode(d, access));
  return out;
}

function sanitize(result: ProbeResult, access: InstanceAccess): ProbeResult {
  const verdict: Verdict = result.verdict === 'busy' || result.verdict === 'idle' ? result.verdict : 'unknown';
  const out: ProbeResult = { verdict, detail: scrub(result.detail, access) };
  if (result.code) out.code = scrubCode(result.code, access);
  if (typeof result.since === 'number' && Number.isFinite(result.since)) out.since = result.since;
  if (result.metrics) {
    const m: Record<string, number> = {};
    for (const [k, v] of Object.entries(result.metrics)) if (typeof v === 'number' && Number.isFinite(v)) m[k] = v;
    out.metrics = m;
  }
  return out;
}

/** Run one probe on one instance within its timeout; never rejects. */
async function runOne(
  probe: ProbeDefinition,
  access: InstanceAccess,
  timeoutMs: number,
  deps: RunProbesDeps,
): Promise<ProbeResult> {
  const controller = new AbortController();
  const ctx: ProbeContext = { now: deps.clock.now(), clock: deps.clock, timeoutMs, db: deps.db, log: deps.log, signal: controller.signal };
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<ProbeResult>((resolve) => {
    timer = setTimeout(
      () => resolve({ verdict: 'unknown', detail: `timed out after ${timeoutMs} ms`, code: { code: 'probe.timeout', params: { probe: probe.name, timeout_ms: timeoutMs } } }),
      timeoutMs,
    );
  });
  try {
    const result = await Promise.race([probe.run(access, ctx), timeout]);
    return sanitize(result, access);
  } catch (err) {
    deps.log?.warn({ instanceId: access.id, probe: probe.name, error: describeError(err) }, 'probe failed');
    return sanitize({ verdict: 'unknown', detail: `probe failed: ${describeError(err)}`, code: { code: 'probe.failed', params: { probe: probe.name, error: errorPhrase(err) } } }, access);
  } finally {
    clearTimeout(timer);
    controller.abort(); // stop whatever the probe still has in flight
  }
}

/**
 * Probe `targets` (running instances) with the enabled probes. Each (instance, probe) run is bounded by the
 * probe's timeout; failures and timeouts become `unknown`. At most `concurrency` runs are in flight at once.
 */
export async function runProbes(targets: InstanceAccess[], enabled: ProbeOptions, deps: RunProbesDeps): Promise<ProbeResults> {
  const probes = buildProbes(enabled, deps.registry ?? probeRegistry);
  const timeouts = new Map<string, number>();
  for (const p of probes) {
    const t = (enabled as Record<string, { timeoutMs?: number } | undefined>)[p.name]?.timeoutMs;
    timeouts.set(p.name, typeof t === 'number' && t > 0 ? t : p.defaultTimeoutMs);
  }
  const results: ProbeResults = new Map();
  const tasks: { access: InstanceAccess; probe: ProbeDefinition }[] = [];
  for (const access of targets) {
    results.set(access.id, {});
    for (const probe of probes) if (probe.appliesTo(access)) tasks.push({ access, probe });
  }
  const limit = Math.max(1, Math.floor(deps.concurrency ?? 8));
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const { access, probe } = tasks[next++];
      const result = await runOne(probe, access, timeouts.get(probe.name)!, deps);
      results.get(access.id)![probe.name] = result;
      deps.log?.debug({ instanceId: access.id, probe: probe.name, verdict: result.verdict, detail: result.detail }, 'probe answered');
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  return results;
}

/** A stored last answer of a probe. `since` is when the current verdict began. */
export interface StoredProbeAnswer {
  verdict: Verdict;
  since: number;
  detail: string;
  code?: ReasonCode;
  metrics?: Record<string, number>;
  checkedAt: number;
}

/**
 * Store a round's answers in one transaction: upsert `probe_state` (keeping `since` while the verdict is
 * unchanged; an idle answer's own `since` wins), and add a `probe_changes` row (with that `since`) when the verdict
 * changed or an idle answer's `since` moved (its stretch restarted). Returns how many verdict changes were recorded.
 */
export function persistProbeResults(db: Db, results: ProbeResults, now: number): number {
  let changes = 0;
  db.transaction((tx) => {
    const before = loadProbeState(tx, [...results.keys()]);
    for (const [instanceId, byProbe] of results) {
      for (const [probe, r] of Object.entries(byProbe)) {
        const prev = before.get(instanceId)?.[probe];
        const changed = !prev || prev.verdict !== r.verdict;
        let since: number;
        if (r.verdict === 'idle' && r.since !== undefined) since = Math.min(r.since, now);
        else since = changed || !prev ? now : prev.since;
        const row = { verdict: r.verdict, since, detail: r.detail, detailCode: r.code ? JSON.stringify(r.code) : null, metrics: r.metrics ? JSON.stringify(r.metrics) : null, checkedAt: now };
        tx.insert(probeState)
          .values({ instanceId, probe, ...row })
          .onConflictDoUpdate({ target: [probeState.instanceId, probeState.probe], set: row })
          .run();
        // an idle answer whose own start moved restarted the idle stretch: the replay (`tune`) needs that too
        const restarted = !changed && r.verdict === 'idle' && prev.since !== since;
        if (changed || restarted) {
          tx.insert(probeChanges).values({ instanceId, probe, verdict: r.verdict, at: now, detail: r.detail, detailCode: row.detailCode, since }).run();
          if (changed) changes++;
        }
      }
    }
  });
  return changes;
}

/** The stored last answers, instance id -> probe name -> answer (all instances, or only `instanceIds`), by probe name. */
export function loadProbeState(db: Db, instanceIds?: string[]): Map<string, Record<string, StoredProbeAnswer>> {
  const out = new Map<string, Record<string, StoredProbeAnswer>>();
  if (instanceIds && instanceIds.length === 0) return out;
  const rows = db
    .select()
    .from(probeState)
    .where(instanceIds ? inArray(probeState.instanceId, instanceIds) : undefined)
    .orderBy(asc(probeState.instanceId), asc(probeState.probe))
    .all();
  for (const row of rows) {
    let rec = out.get(row.instanceId);
    if (!rec) out.set(row.instanceId, (rec = {}));
    const answer: StoredProbeAnswer = { verdict: row.verdict as Verdict, since: row.since, detail: row.detail, checkedAt: row.checkedAt };
    if (row.metrics) answer.metrics = JSON.parse(row.metrics) as Record<string, number>;
    const code = parseReasonCode(row.detailCode);
    if (code) answer.code = code;
    rec[row.probe] = answer;
  }
  return out;
}
