/**
 * ComfyUI probe: `${webUrl}/queue` with running or pending prompts means busy.
 * Applies to images whose name contains "ComfyUI", or to every instance with a web URL when forced.
 *
 * Config: `probes.comfyui: { enabled: true, timeout: 5s }`
 */
import type { InstanceAccess } from '../xgc/types.js';
import { unknownResult } from './http.js';
import type { ProbeDefinition, ProbeKind, ProbeResult } from './types.js';
import { probeWebUi, webUiApplies, type WebUiProbeOptions } from './web.js';

/** Options of the ComfyUI probe (durations in ms). */
export type ComfyUiProbeOptions = WebUiProbeOptions;

/** Defaults of the ComfyUI probe. */
export const COMFYUI_DEFAULTS: ComfyUiProbeOptions = { timeoutMs: 5_000, force: false };

const IMAGE_PATTERNS = [/comfyui/i];

/** Decide from a ComfyUI `/queue` body (pure). */
export function judgeComfyQueue(body: unknown): ProbeResult {
  const b = body as { queue_running?: unknown; queue_pending?: unknown } | null;
  if (!b || typeof b !== 'object' || !Array.isArray(b.queue_running) || !Array.isArray(b.queue_pending)) {
    return unknownResult('comfyui: unexpected /queue answer', undefined, { code: 'probe.unexpected', params: { probe: 'comfyui' } });
  }
  const running = b.queue_running.length;
  const pending = b.queue_pending.length;
  const metrics = { running, pending };
  if (running + pending > 0) return { verdict: 'busy', detail: `comfyui queue: ${running} running, ${pending} pending`, code: { code: 'comfyui.busy', params: { running, pending } }, metrics };
  return { verdict: 'idle', detail: 'comfyui queue empty', code: { code: 'comfyui.idle', params: {} }, metrics };
}

/** Build the ComfyUI probe with the given options. */
export function createComfyUiProbe(options: Partial<ComfyUiProbeOptions> = {}): ProbeDefinition {
  const opts: ComfyUiProbeOptions = { ...COMFYUI_DEFAULTS, ...options };
  return {
    name: 'comfyui',
    defaultTimeoutMs: opts.timeoutMs,
    appliesTo: (a: InstanceAccess) => webUiApplies(a, IMAGE_PATTERNS, opts.force),
    run: async (access, ctx) => {
      if (!webUiApplies(access, IMAGE_PATTERNS, opts.force)) return unknownResult('not applicable: not a ComfyUI image');
      return probeWebUi('comfyui', access, ctx, '/queue', judgeComfyQueue);
    },
  };
}

/** Registry entry for the ComfyUI probe. */
export const comfyuiKind: ProbeKind<ComfyUiProbeOptions> = { name: 'comfyui', create: createComfyUiProbe };

/** The ComfyUI probe with default options. */
export const comfyuiProbe: ProbeDefinition = createComfyUiProbe();
