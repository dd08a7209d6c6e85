/** The probe registry: every probe kind by name. Duplicates are rejected; unknown names list the valid ones. */
import { GuardError } from '../errors.js';
import { comfyuiKind } from './comfyui.js';
import { heartbeatKind } from './heartbeat.js';
import { jupyterKind } from './jupyter.js';
import { sdwebuiKind } from './sdwebui.js';
import type { ProbeKind } from './types.js';

/** Asked for a probe name that is not registered. */
export class UnknownProbeError extends GuardError {
  constructor(
    public readonly probe: string,
    public readonly valid: string[],
  ) {
    super(`unknown probe "${probe}"; valid probes: ${valid.join(', ')}`, 'unknown_probe', 400);
  }
}

/** A set of probe kinds keyed by name. */
export class ProbeRegistry {
  private kinds = new Map<string, ProbeKind<any>>();

  /** Add a kind; throws if the name is taken. */
  register(kind: ProbeKind<any>): this {
    if (this.kinds.has(kind.name)) throw new Error(`duplicate probe "${kind.name}"`);
    this.kinds.set(kind.name, kind);
    return this;
  }

  /** The kind called `name`; throws UnknownProbeError listing the valid names. */
  get(name: string): ProbeKind<any> {
    const kind = this.kinds.get(name);
    if (!kind) throw new UnknownProbeError(name, this.names());
    return kind;
  }

  /** Whether `name` is registered. */
  has(name: string): boolean {
    return this.kinds.has(name);
  }

  /** Registered names, in registration order. */
  names(): string[] {
    return [...this.kinds.keys()];
  }
}

/** Build a registry from kinds (throws on duplicates). */
export function createProbeRegistry(kinds: ProbeKind<any>[]): ProbeRegistry {
  const r = new ProbeRegistry();
  for (const k of kinds) r.register(k);
  return r;
}

/** The built-in polled probes, in the order they are run and shown. */
export const probeRegistry: ProbeRegistry = createProbeRegistry([jupyterKind, comfyuiKind, sdwebuiKind, heartbeatKind]);

/** The streaming probe (src/probes/monitor.ts): the GPU, CPU, network and logins over one SSH connection. */
export const STREAM_PROBES = ['gpu'] as const;

/** Every probe name a policy may list, streaming first. */
export function probeNames(): string[] {
  return [...STREAM_PROBES, ...probeRegistry.names()];
}
