/**
 * Heartbeat probe: an agent inside the instance (`agent/xgc-guard-agent.sh`) POSTs
 * `{instance_id, gpu_util?, busy?}` to `/api/v1/heartbeat`; this probe reads the latest one.
 *
 * Config: `probes.heartbeat: { enabled: true, stale_after: 3m, gpu_busy_percent: 10 }`
 */
import { eq } from 'drizzle-orm';
import type { Db } from '../db/open.js';
import { heartbeats } from '../db/schema.js';
import { BadRequest } from '../errors.js';
import type { InstanceAccess } from '../xgc/types.js';
import { unknownResult } from './http.js';
import type { ReasonCode } from '../notify/reasons.js';
import type { ProbeDefinition, ProbeKind, ProbeResult } from './types.js';

/** Options of the heartbeat probe (durations in ms). */
export interface HeartbeatProbeOptions {
  /** A heartbeat older than this is stale (answer `unknown`). */
  staleAfterMs: number;
  /** GPU utilisation (percent) at or above which the instance is busy. */
  gpuBusyPercent: number;
  timeoutMs: number;
}

/** Defaults of the heartbeat probe. */
export const HEARTBEAT_DEFAULTS: HeartbeatProbeOptions = { staleAfterMs: 180_000, gpuBusyPercent: 10, timeoutMs: 2_000 };

/** One heartbeat as received (already parsed from the HTTP body). */
export interface HeartbeatInput {
  instanceId: string;
  /** GPU utilisation in percent (0..100), the highest over the instance's GPUs. */
  gpuUtil?: number | null;
  /** The agent's own opinion (e.g. a training job marked itself busy). */
  busy?: boolean | null;
}

/** Store the latest heartbeat of an instance (one row per instance). Throws BadRequest on invalid input. */
export function recordHeartbeat(db: Db, input: HeartbeatInput, now: number): void {
  const id = input.instanceId;
  if (typeof id !== 'string' || id.length === 0 || id.length > 128 || !/^[\w.-]+$/.test(id)) {
    throw new BadRequest('instance_id', 'must be 1-128 characters of letters, digits, _ . -');
  }
  const gpu = input.gpuUtil ?? null;
  if (gpu !== null && (typeof gpu !== 'number' || !Number.isFinite(gpu) || gpu < 0 || gpu > 100)) {
    throw new BadRequest('gpu_util', 'must be a number from 0 to 100');
  }
  const busy = input.busy ?? null;
  if (busy !== null && typeof busy !== 'boolean') throw new BadRequest('busy', 'must be a boolean');
  const row = { instanceId: id, at: now, gpuUtil: gpu, busy };
  db.insert(heartbeats)
    .values(row)
    .onConflictDoUpdate({ target: heartbeats.instanceId, set: { at: now, gpuUtil: gpu, busy } })
    .run();
}

/** The latest stored heartbeat of an instance, if any. */
export function latestHeartbeat(db: Db, instanceId: string): { at: number; gpuUtil: number | null; busy: boolean | null } | undefined {
  const row = db.select().from(heartbeats).where(eq(heartbeats.instanceId, instanceId)).get();
  return row ? { at: row.at, gpuUtil: row.gpuUtil, busy: row.busy } : undefined;
}

/** Decide from a stored heartbeat (pure). */
export function judgeHeartbeat(
  hb: { at: number; gpuUtil: number | null; busy: boolean | null } | undefined,
  now: number,
  opts: Pick<HeartbeatProbeOptions, 'staleAfterMs' | 'gpuBusyPercent'>,
): ProbeResult {
  if (!hb) return unknownResult('no heartbeat received yet', undefined, { code: 'heartbeat.none', params: {} });
  const age = now - hb.at;
  const metrics: Record<string, number> = { age_seconds: Math.max(0, Math.round(age / 1000)) };
  if (hb.gpuUtil !== null) metrics.gpu_util = hb.gpuUtil;
  if (age > opts.staleAfterMs) return unknownResult(`heartbeat stale: last one ${Math.round(age / 1000)}s ago`, metrics, { code: 'heartbeat.stale', params: { age_ms: age } });
  if (hb.busy === true) return { verdict: 'busy', detail: 'agent reports busy', code: { code: 'heartbeat.busy', params: {} }, metrics };
  if (hb.gpuUtil !== null && hb.gpuUtil >= opts.gpuBusyPercent) {
    return { verdict: 'busy', detail: `agent reports GPU at ${hb.gpuUtil}%`, code: { code: 'heartbeat.gpu_busy', params: { util_pct: hb.gpuUtil } }, metrics };
  }
  const gpu = hb.gpuUtil === null ? 'no GPU figure' : `GPU at ${hb.gpuUtil}%`;
  const code: ReasonCode = hb.gpuUtil === null ? { code: 'heartbeat.idle_no_gpu', params: {} } : { code: 'heartbeat.idle', params: { util_pct: hb.gpuUtil, busy_pct: opts.gpuBusyPercent } };
  return { verdict: 'idle', detail: `agent reports ${gpu} (below ${opts.gpuBusyPercent}%)`, code, metrics };
}

/** Build the heartbeat probe with the given options. */
export function createHeartbeatProbe(options: Partial<HeartbeatProbeOptions> = {}): ProbeDefinition {
  const opts: HeartbeatProbeOptions = { ...HEARTBEAT_DEFAULTS, ...options };
  return {
    name: 'heartbeat',
    defaultTimeoutMs: opts.timeoutMs,
    appliesTo: (_a: InstanceAccess) => true,
    run: async (access, ctx) => judgeHeartbeat(latestHeartbeat(ctx.db, access.id), ctx.now, opts),
  };
}

/** Registry entry for the heartbeat probe. */
export const heartbeatKind: ProbeKind<HeartbeatProbeOptions> = { name: 'heartbeat', create: createHeartbeatProbe };

/** The heartbeat probe with default options. */
export const heartbeatProbe: ProbeDefinition = createHeartbeatProbe();
