/** Public surface of the probes: contract, registry, runner, storage helpers. */
export type { ProbeContext, ProbeDefinition, ProbeKind, ProbeLogger, ProbeResult, Verdict } from './types.js';
export { probeRegistry, createProbeRegistry, ProbeRegistry, UnknownProbeError } from './registry.js';
export {
  runProbes,
  persistProbeResults,
  loadProbeState,
  buildProbes,
  DEFAULT_PROBE_OPTIONS,
  type ProbeOptions,
  type ProbeResults,
  type RunProbesDeps,
  type StoredProbeAnswer,
} from './runner.js';
export { recordHeartbeat, type HeartbeatInput, type HeartbeatProbeOptions } from './heartbeat.js';
export { forgetSshHostKey, sshFingerprint } from './host-keys.js';
export { ProbeMonitor, type MonitorOptions, type GpuProbeOptions, type Recheck } from './monitor.js';
export { probeNames, STREAM_PROBES } from './registry.js';
export type { JupyterProbeOptions } from './jupyter.js';
export type { ComfyUiProbeOptions } from './comfyui.js';
export type { SdWebUiProbeOptions } from './sdwebui.js';
