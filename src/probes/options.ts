/** The probes' options from the config file (durations already in ms by the config schema). */
import type { Config } from '../config/schema.js';
import type { MonitorOptions } from './monitor.js';
import type { ProbeOptions } from './runner.js';

/** Options of the polled probes (jupyter, comfyui, sdwebui, heartbeat) from `config.probes`. */
export function probeOptionsFromConfig(c: Config['probes']): ProbeOptions {
  return {
    jupyter: { enabled: c.jupyter.enabled, timeoutMs: c.jupyter.timeout, countConnections: c.jupyter.count_connections, activeWindowMs: c.jupyter.active_window },
    comfyui: { enabled: c.comfyui.enabled, timeoutMs: c.comfyui.timeout, force: c.comfyui.force },
    sdwebui: { enabled: c.sdwebui.enabled, timeoutMs: c.sdwebui.timeout, force: c.sdwebui.force },
    heartbeat: { enabled: c.heartbeat.enabled, staleAfterMs: c.heartbeat.stale_after, gpuBusyPercent: c.heartbeat.gpu_busy_percent },
  };
}

/** How old a stored GPU answer may be before it counts as unknown. */
export function gpuStaleAfter(c: Config['probes']): number {
  return c.gpu.stale_after ?? Math.max(3 * c.gpu.sample_every, 30_000);
}

/** How old each probe's stored answer may be before it counts as unknown (probe name -> ms). */
export function staleAfterByProbe(c: Config['probes']): Record<string, number> {
  return {
    jupyter: c.stale_after,
    comfyui: c.stale_after,
    sdwebui: c.stale_after,
    // the heartbeat probe judges its own staleness from the beat's time; its stored answer follows the polls
    heartbeat: c.stale_after,
    gpu: gpuStaleAfter(c),
  };
}

/** The probe monitor's options from `config.probes`. */
export function monitorOptionsFromConfig(c: Config['probes']): MonitorOptions {
  const g = c.gpu;
  return {
    gpu: {
      enabled: g.enabled,
      sampleEveryMs: g.sample_every,
      connectTimeoutMs: g.timeout,
      staleAfterMs: gpuStaleAfter(c),
      privateKeyFile: g.private_key_file,
      connectConcurrency: g.connect_concurrency,
      gpuBusyPercent: g.gpu_busy_percent,
      cpuBusyLoad: g.cpu_busy_load,
      netBusyBytesPerSec: g.net_busy_kib_per_sec * 1024,
      activeWindowMs: g.active_window,
      windowMs: g.window,
    },
    apps: probeOptionsFromConfig(c),
    appIntervalMs: c.interval,
    concurrency: c.concurrency,
  };
}
