/**
 * Stable Diffusion WebUI (A1111 / Forge) probe: `${webUrl}/sdapi/v1/progress` with a job in progress means busy.
 * Applies to images whose name contains "WebUI" or "Forge", or to every instance with a web URL when forced.
 *
 * Config: `probes.sdwebui: { enabled: true, timeout: 5s }`
 */
import type { InstanceAccess } from '../xgc/types.js';
import { unknownResult } from './http.js';
import type { ProbeDefinition, ProbeKind, ProbeResult } from './types.js';
import { probeWebUi, webUiApplies, type WebUiProbeOptions } from './web.js';

/** Options of the SD WebUI probe (durations in ms). */
export type SdWebUiProbeOptions = WebUiProbeOptions;

/** Defaults of the SD WebUI probe. */
export const SDWEBUI_DEFAULTS: SdWebUiProbeOptions = { timeoutMs: 5_000, force: false };

const IMAGE_PATTERNS = [/webui/i, /forge/i];

/** Decide from an `/sdapi/v1/progress` body (pure). */
export function judgeSdProgress(body: unknown): ProbeResult {
  const b = body as { progress?: unknown; state?: { job_count?: unknown } } | null;
  if (!b || typeof b !== 'object' || typeof b.progress !== 'number') {
    return unknownResult('sdwebui: unexpected /sdapi/v1/progress answer', undefined, { code: 'probe.unexpected', params: { probe: 'sdwebui' } });
  }
  const jobCount = typeof b.state?.job_count === 'number' ? b.state.job_count : 0;
  const metrics = { progress: b.progress, job_count: jobCount };
  if (jobCount > 0 || b.progress > 0) {
    const pct = Math.round(b.progress * 100);
    return { verdict: 'busy', detail: `sdwebui job in progress (${pct}%, ${jobCount} job(s))`, code: { code: 'sdwebui.busy', params: { progress_pct: pct, jobs: jobCount } }, metrics };
  }
  return { verdict: 'idle', detail: 'sdwebui has no job in progress', code: { code: 'sdwebui.idle', params: {} }, metrics };
}

/** Build the SD WebUI probe with the given options. */
export function createSdWebUiProbe(options: Partial<SdWebUiProbeOptions> = {}): ProbeDefinition {
  const opts: SdWebUiProbeOptions = { ...SDWEBUI_DEFAULTS, ...options };
  return {
    name: 'sdwebui',
    defaultTimeoutMs: opts.timeoutMs,
    appliesTo: (a: InstanceAccess) => webUiApplies(a, IMAGE_PATTERNS, opts.force),
    run: async (access, ctx) => {
      if (!webUiApplies(access, IMAGE_PATTERNS, opts.force)) return unknownResult('not applicable: not an SD WebUI image');
      return probeWebUi('sdwebui', access, ctx, '/sdapi/v1/progress', judgeSdProgress);
    },
  };
}

/** Registry entry for the SD WebUI probe. */
export const sdwebuiKind: ProbeKind<SdWebUiProbeOptions> = { name: 'sdwebui', create: createSdWebUiProbe };

/** The SD WebUI probe with default options. */
export const sdwebuiProbe: ProbeDefinition = createSdWebUiProbe();
