/**
 * Jupyter probe: asks the instance's Jupyter Server (REST, with the instance token) whether kernels or
 * terminals are working or were used recently.
 *
 * Config: `probes.jupyter: { enabled: true, timeout: 5s, count_connections: true, active_window: 2m }`
 */
import type { InstanceAccess } from '../xgc/types.js';
import { describeError, errorPhrase, getJson, joinUrl, parseTime, ProbeFailure, safeUrl, unknownResult } from './http.js';
import type { ProbeContext, ProbeDefinition, ProbeKind, ProbeResult } from './types.js';

/** Options of the Jupyter probe (durations in ms). */
export interface JupyterProbeOptions {
  /** Open kernel connections (a notebook tab) count as busy. */
  countConnections: boolean;
  /** Activity newer than this counts as busy. */
  activeWindowMs: number;
  timeoutMs: number;
}

/** Defaults of the Jupyter probe. */
export const JUPYTER_DEFAULTS: JupyterProbeOptions = { countConnections: true, activeWindowMs: 120_000, timeoutMs: 5_000 };

interface KernelModel {
  id?: string;
  execution_state?: string;
  last_activity?: string;
  connections?: number;
}
interface SessionModel {
  last_activity?: string;
  kernel?: KernelModel | null;
}
interface TerminalModel {
  name?: string;
  last_activity?: string;
}

/** Decide from the three Jupyter lists (pure; exported for table tests). */
export function judgeJupyter(
  lists: { kernels: KernelModel[]; sessions: SessionModel[]; terminals: TerminalModel[] },
  now: number,
  opts: Pick<JupyterProbeOptions, 'countConnections' | 'activeWindowMs'>,
): ProbeResult {
  const recent = (t: number | undefined) => t !== undefined && now - t < opts.activeWindowMs;
  // Kernels seen directly and through sessions (deduplicated by id; the kernel list wins).
  const kernels = new Map<string, KernelModel>();
  for (const s of lists.sessions) if (s.kernel?.id) kernels.set(s.kernel.id, s.kernel);
  for (const k of lists.kernels) kernels.set(k.id ?? `anon-${kernels.size}`, k);

  let latest: number | undefined;
  const seen = (t: number | undefined) => {
    if (t !== undefined && (latest === undefined || t > latest)) latest = t;
  };
  const reasons: string[] = [];
  const codes: string[] = [];
  const why = (text: string, code: string) => {
    reasons.push(text);
    codes.push(code);
  };
  let busyKernels = 0;
  let connections = 0;
  for (const k of kernels.values()) {
    const last = parseTime(k.last_activity);
    seen(last);
    connections += typeof k.connections === 'number' ? k.connections : 0;
    if (k.execution_state === 'busy') {
      busyKernels++;
      why('a kernel is executing', 'jupyter.kernel_executing');
    } else if (k.execution_state === 'starting' && recent(last)) {
      // Jupyter Server 1.x keeps "starting" until a client talks to the kernel; only trust it while recent.
      busyKernels++;
      why('a kernel is starting', 'jupyter.kernel_starting');
    } else if (recent(last)) {
      why('recent kernel activity', 'jupyter.kernel_activity');
    }
  }
  if (opts.countConnections && connections > 0) why(`${connections} open kernel connection(s)`, 'jupyter.connections');
  for (const t of lists.terminals) {
    const last = parseTime(t.last_activity);
    seen(last);
    if (recent(last)) why('recent terminal activity', 'jupyter.terminal_activity');
  }
  for (const s of lists.sessions) {
    const last = parseTime(s.last_activity);
    seen(last);
    if (recent(last)) why('recent session activity', 'jupyter.session_activity');
  }

  const metrics: Record<string, number> = {
    kernels: kernels.size,
    busy_kernels: busyKernels,
    connections,
    terminals: lists.terminals.length,
    sessions: lists.sessions.length,
  };
  if (latest !== undefined) metrics.idle_seconds = Math.max(0, Math.round((now - latest) / 1000));
  if (reasons.length > 0) {
    const code = { code: 'jupyter.busy', params: { signals_list: [...new Set(codes)].join(','), connections } };
    return { verdict: 'busy', detail: [...new Set(reasons)].join('; '), code, metrics };
  }
  if (latest === undefined) return { verdict: 'idle', detail: 'no kernels, sessions or terminals', code: { code: 'jupyter.empty', params: {} }, metrics };
  const idleMs = Math.max(0, now - latest);
  const detail = `no activity for ${Math.round(idleMs / 1000)}s (${kernels.size} kernels, ${lists.terminals.length} terminals)`;
  const code = { code: 'jupyter.idle', params: { idle_ms: idleMs, kernels: kernels.size, terminals: lists.terminals.length } };
  return { verdict: 'idle', since: latest, detail, code, metrics };
}

/** Build the Jupyter probe with the given options. */
export function createJupyterProbe(options: Partial<JupyterProbeOptions> = {}): ProbeDefinition {
  const opts: JupyterProbeOptions = { ...JUPYTER_DEFAULTS, ...options };
  return {
    name: 'jupyter',
    defaultTimeoutMs: opts.timeoutMs,
    appliesTo: (a: InstanceAccess) => a.jupyterUrl !== '' && a.jupyterToken !== '',
    async run(access: InstanceAccess, ctx: ProbeContext): Promise<ProbeResult> {
      if (!access.jupyterUrl || !access.jupyterToken) return unknownResult('not applicable: no jupyter url or token');
      const headers = { authorization: `token ${access.jupyterToken}` };
      const get = async (path: string, optional: boolean): Promise<unknown[]> => {
        let url: string;
        try {
          // no_track_activity: our polling must not count as user activity.
          url = joinUrl(jupyterBase(access.jupyterUrl), path, { no_track_activity: '1' });
        } catch {
          throw new ProbeFailure('invalid url');
        }
        const { status, body } = await getJson(url, { headers, timeoutMs: ctx.timeoutMs, signal: ctx.signal });
        if (status === 401 || status === 403) throw new ProbeFailure(`rejected the token (HTTP ${status})`, `token rejected (HTTP ${status})`);
        if (status === 404 && optional) return []; // e.g. terminals disabled
        if (status !== 200) throw new ProbeFailure(`HTTP ${status} from ${safeUrl(url)}`, `HTTP ${status}`);
        if (!Array.isArray(body)) throw new ProbeFailure(`unexpected answer from ${safeUrl(url)}`, 'unexpected answer');
        return body;
      };
      try {
        const [kernels, sessions, terminals] = await Promise.all([
          get('/api/kernels', false),
          get('/api/sessions', true),
          get('/api/terminals', true),
        ]);
        return judgeJupyter(
          {
            kernels: kernels as KernelModel[],
            sessions: sessions as SessionModel[],
            terminals: terminals as TerminalModel[],
          },
          ctx.now,
          opts,
        );
      } catch (err) {
        return unknownResult(`jupyter ${describeError(err)}`, undefined, { code: 'probe.failed', params: { probe: 'jupyter', error: errorPhrase(err) } });
      }
    },
  };
}

/** The server base of a Jupyter URL: a UI path such as `/lab` or `/tree` (and any query) is dropped. */
export function jupyterBase(url: string): string {
  const u = new URL(url);
  u.pathname = u.pathname.replace(/\/(lab|tree|notebooks)(\/.*)?$/, '') || '/';
  u.search = '';
  u.hash = '';
  return u.toString();
}

/** Registry entry for the Jupyter probe. */
export const jupyterKind: ProbeKind<JupyterProbeOptions> = { name: 'jupyter', create: createJupyterProbe };

/** The Jupyter probe with default options. */
export const jupyterProbe: ProbeDefinition = createJupyterProbe();
