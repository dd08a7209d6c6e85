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
export { forgetSshHostKey, type SshProbeOptions } from './ssh.js';
export type { JupyterProbeOptions } from './jupyter.js';
export type { ComfyUiProbeOptions } from './comfyui.js';
export type { SdWebUiProbeOptions } from './sdwebui.js';
