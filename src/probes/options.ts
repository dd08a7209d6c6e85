/** The probes' options from the config file (durations already in ms by the config schema). */
import type { Config } from '../config/schema.js';
import type { ProbeOptions } from './runner.js';

/** Probe options from `config.probes`. */
export function probeOptionsFromConfig(c: Config['probes']): ProbeOptions {
  return {
    jupyter: { enabled: c.jupyter.enabled, timeoutMs: c.jupyter.timeout, countConnections: c.jupyter.count_connections, activeWindowMs: c.jupyter.active_window },
    comfyui: { enabled: c.comfyui.enabled, timeoutMs: c.comfyui.timeout, force: c.comfyui.force },
    sdwebui: { enabled: c.sdwebui.enabled, timeoutMs: c.sdwebui.timeout, force: c.sdwebui.force },
    ssh: {
      enabled: c.ssh.enabled,
      timeoutMs: c.ssh.timeout,
      privateKeyFile: c.ssh.private_key_file,
      gpuBusyPercent: c.ssh.gpu_busy_percent,
      samples: c.ssh.samples,
      sampleIntervalMs: c.ssh.sample_interval,
    },
    heartbeat: { enabled: c.heartbeat.enabled, staleAfterMs: c.heartbeat.stale_after, gpuBusyPercent: c.heartbeat.gpu_busy_percent },
  };
}
