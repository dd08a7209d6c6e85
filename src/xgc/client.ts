/**
 * XianGong Open API client: one method per endpoint, envelope checks, typed errors, timeouts,
 * retries for reads, and no blind retries for actions.
 *
 * Retries: GETs are retried up to `retries` times with exponential backoff and full jitter
 * (`random(0, retryBaseMs * 2^attempt)`, capped at 10 s) on network errors, timeouts, garbled answers
 * and HTTP 5xx/429. Auth errors and business errors (code 1000 with HTTP 200) are never retried.
 *
 * Actions (POST) are sent once. When the outcome is unknown (network error, timeout, HTTP 5xx or a
 * garbled answer) the client re-reads the instance with one `GET /open/instance/{id}` (itself retried
 * like any GET) and throws `XgcActionUncertain` carrying the observed status and a `seemsApplied`
 * verdict; the caller (the executor) decides and journals. A definite refusal throws the typed error.
 */
import { backoff } from '../backoff.js';
import { readFileSync } from 'node:fs';
import { BadRequest } from '../errors.js';
import {
  XgcActionUncertain,
  XgcApiError,
  XgcAuthError,
  XgcError,
  XgcGpuShortageError,
  XgcNetworkError,
  XgcProtocolError,
  XgcTimeoutError,
  errorClass,
  type XgcErrorClass,
} from './errors.js';
import {
  balanceDataSchema,
  deployDataSchema,
  describeIssues,
  envelopeSchema,
  listDataSchema,
  rawInstanceSchema,
  splitInstance,
  type Envelope,
} from './parse.js';
import type { Instance, InstanceWithAccess } from './types.js';

/** Options of `XgcClient`. */
export interface XgcClientOptions {
  /** e.g. `https://api.xiangongyun.com` (no trailing path needed). */
  baseUrl: string;
  /** API token, sent as `Authorization: Bearer <token>`; '' sends no Authorization header. */
  token: string;
  /** Per-request timeout in ms (default 15000), covering connect, headers and body. */
  timeoutMs?: number;
  /** Extra attempts for GETs (default 3). */
  retries?: number;
  /** Backoff base in ms (default 250); tests pass something tiny. */
  retryBaseMs?: number;
  /** Default `xgc-guard/<package.json version>`. */
  userAgent?: string;
  /** Called after every HTTP request (including retries), e.g. for metrics. */
  onCall?: (call: XgcCallInfo) => void;
}

/** One HTTP request the client made. */
export interface XgcCallInfo {
  method: 'GET' | 'POST';
  /** Endpoint template, e.g. `/open/instance/{id}` (low cardinality). */
  endpoint: string;
  /** 0 for the first try, 1.. for retries. */
  attempt: number;
  durationMs: number;
  /** null on success. */
  error: XgcErrorClass | null;
}

/** Options of `XgcClient.deploy` (camelCase of the API's deploy body). */
export interface DeployOptions {
  /** Full model name, e.g. `NVIDIA GeForce RTX 4090 D`. */
  gpuModel: string;
  gpuCount: number;
  /** Image id (public, community or private). */
  image: string;
  /** Default 'public'. */
  imageType?: 'public' | 'community' | 'private';
  /** Default 1 (浙江一区). */
  dataCenterId?: number;
  name?: string;
  storage?: boolean;
  storageMountPath?: string;
  /** SSH key id. */
  sshKey?: string;
  systemDiskExpand?: boolean;
  /** Bytes. */
  systemDiskExpandSize?: number;
}

/** Names of the POST actions that take an instance id. */
export type XgcAction = 'destroy' | 'shutdown' | 'shutdownReleaseGpu' | 'shutdownDestroy' | 'boot';

/** Instance ids as XianGong makes them (16 lowercase characters today; 1-64 of a-z, 0-9, "-" accepted). */
export const INSTANCE_ID_RE = /^[a-z0-9-]{1,64}$/;
const AUTH_MSG = ['访问令牌为空', '未找到访问令牌', '访问令牌'];
const GPU_SHORTAGE_MSG = ['可用GPU不足', 'GPU型号暂时不可用'];
const SECRET_KEY_RE = /token|password|passwd|secret|key|credential|cookie|session/i;
const MAX_BACKOFF_MS = 10_000;

let cachedVersion: string | undefined;
/** The package version, read once from package.json next to src/ or dist/. */
export function packageVersion(): string {
  if (cachedVersion === undefined) {
    try {
      const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
      cachedVersion = typeof pkg.version === 'string' ? pkg.version : '0.0.0';
    } catch {
      cachedVersion = '0.0.0';
    }
  }
  return cachedVersion;
}

/** Throws BadRequest (no network call) unless `id` looks like an instance id. */
export function assertInstanceId(id: unknown): asserts id is string {
  if (typeof id !== 'string' || !INSTANCE_ID_RE.test(id)) {
    throw new BadRequest('id', 'instance id must be 1-64 characters of a-z, 0-9 or -');
  }
}

/** XianGong Open API client. Not safe to share `calls` across concurrent users if exact counts matter. */
export class XgcClient {
  /** HTTP requests made so far (every attempt counts); assign 0 or call `takeCalls()` to reset. */
  calls = 0;
  private readonly baseUrl: string;
  /** the base URL as errors show it (no credentials) */
  private readonly shownBase: string;
  private readonly token: string;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly retryBaseMs: number;
  private readonly userAgent: string;
  private readonly onCall?: (call: XgcCallInfo) => void;

  constructor(opts: XgcClientOptions) {
    let u: URL;
    try {
      u = new URL(opts.baseUrl);
    } catch {
      throw new BadRequest('baseUrl', 'not a valid URL');
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new BadRequest('baseUrl', 'must be http or https');
    // eslint-disable-next-line no-control-regex -- rejecting control characters is the point
    if (typeof opts.token !== 'string' || /[\x00-\x1f\x7f]/.test(opts.token)) {
      throw new BadRequest('token', 'token must be a string without control characters');
    }
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '');
    this.shownBase = `${u.origin}${u.pathname.replace(/\/+$/, '')}`; // never the userinfo
    this.token = opts.token.trim();
    this.timeoutMs = opts.timeoutMs ?? 15_000;
    this.retries = Math.max(0, opts.retries ?? 3);
    this.retryBaseMs = Math.max(0, opts.retryBaseMs ?? 250);
    this.userAgent = opts.userAgent ?? `xgc-guard/${packageVersion()}`;
    this.onCall = opts.onCall;
  }

  /** Return the call counter and reset it to 0 (one tick's worth of calls). */
  takeCalls(): number {
    const n = this.calls;
    this.calls = 0;
    return n;
  }

  /** GET /open/instances: every instance with its access; a malformed item fails the whole list. */
  async listInstances(): Promise<InstanceWithAccess[]> {
    const ep = '/open/instances';
    return this.get(ep, ep, (env, status) => {
      const data = requireData(env, ep, status);
      const parsed = listDataSchema.safeParse(data);
      if (!parsed.success) throw new XgcProtocolError(ep, describeIssues(parsed.error, 'data'), status);
      const items = parsed.data.list ?? [];
      const out: InstanceWithAccess[] = [];
      const problems: string[] = [];
      const seen = new Set<string>();
      items.forEach((item, i) => {
        const r = rawInstanceSchema.safeParse(item);
        if (!r.success) {
          problems.push(describeIssues(r.error, `data.list[${i}]`));
          return;
        }
        const raw = r.data;
        if (seen.has(raw.id)) problems.push(`data.list[${i}].id: duplicate`);
        seen.add(raw.id);
        out.push(splitInstance(raw));
      });
      if (problems.length > 0) throw new XgcProtocolError(ep, problems.slice(0, 3).join('; '), status);
      const total = parsed.data.total;
      if (total !== undefined && total > items.length) {
        throw new XgcProtocolError(ep, `data.total is ${total} but data.list has ${items.length} items`, status);
      }
      return out;
    });
  }

  /** GET /open/instance/{id}: one instance with its access. */
  async getInstance(id: string): Promise<InstanceWithAccess> {
    assertInstanceId(id);
    const ep = '/open/instance/{id}';
    return this.get(`/open/instance/${id}`, ep, (env, status) => {
      const r = rawInstanceSchema.safeParse(requireData(env, ep, status));
      if (!r.success) throw new XgcProtocolError(ep, describeIssues(r.error, 'data'), status);
      if (r.data.id !== id) throw new XgcProtocolError(ep, 'data.id is not the requested id', status);
      return splitInstance(r.data);
    });
  }

  /** GET /open/balance: account balance in yuan. */
  async balance(): Promise<number> {
    const ep = '/open/balance';
    return this.get(ep, ep, (env, status) => {
      const r = balanceDataSchema.safeParse(requireData(env, ep, status));
      if (!r.success) throw new XgcProtocolError(ep, describeIssues(r.error, 'data'), status);
      return r.data.balance as number;
    });
  }

  /** GET /open/whoami: account info with every secret-looking field (token, key, password, ...) removed. */
  async whoami(): Promise<Record<string, unknown>> {
    const ep = '/open/whoami';
    return this.get(ep, ep, (env, status) => {
      const data = requireData(env, ep, status);
      if (typeof data !== 'object' || data === null || Array.isArray(data)) {
        throw new XgcProtocolError(ep, 'data: expected object', status);
      }
      return withoutSecrets(data as Record<string, unknown>);
    });
  }

  /** POST /open/instance/deploy: start a new instance, returns its id. Never retried (double charge). */
  async deploy(opts: DeployOptions): Promise<string> {
    if (!opts.gpuModel) throw new BadRequest('gpuModel', 'required');
    if (!opts.image) throw new BadRequest('image', 'required');
    if (!Number.isInteger(opts.gpuCount) || opts.gpuCount < 0 || opts.gpuCount > 8) {
      throw new BadRequest('gpuCount', 'must be an integer 0-8');
    }
    const body: Record<string, unknown> = {
      gpu_model: opts.gpuModel,
      gpu_count: opts.gpuCount,
      data_center_id: opts.dataCenterId ?? 1,
      image: opts.image,
      image_type: opts.imageType ?? 'public',
    };
    if (opts.name !== undefined) body.name = opts.name;
    if (opts.storage !== undefined) body.storage = opts.storage;
    if (opts.storageMountPath !== undefined) body.storage_mount_path = opts.storageMountPath;
    if (opts.sshKey !== undefined) body.ssh_key = opts.sshKey;
    if (opts.systemDiskExpand !== undefined) body.system_disk_expand = opts.systemDiskExpand;
    if (opts.systemDiskExpandSize !== undefined) body.system_disk_expand_size = opts.systemDiskExpandSize;
    const ep = '/open/instance/deploy';
    const env = await this.post('deploy', ep, body, null);
    const r = deployDataSchema.safeParse(requireData(env, ep, 200));
    if (!r.success) throw new XgcProtocolError(ep, describeIssues(r.error, 'data'), 200);
    return r.data.id;
  }

  /** POST /open/instance/destroy: destroy now (the disk is lost). */
  async destroy(id: string): Promise<void> {
    await this.action('destroy', '/open/instance/destroy', id, {});
  }

  /** POST /open/instance/shutdown: power off but keep the GPU, so billing continues. */
  async shutdown(id: string): Promise<void> {
    await this.action('shutdown', '/open/instance/shutdown', id, {});
  }

  /** POST /open/instance/shutdown_release_gpu: power off and release the GPU; only disk is billed. */
  async shutdownReleaseGpu(id: string): Promise<void> {
    await this.action('shutdownReleaseGpu', '/open/instance/shutdown_release_gpu', id, {});
  }

  /** POST /open/instance/shutdown_destroy: power off, then destroy. */
  async shutdownDestroy(id: string): Promise<void> {
    await this.action('shutdownDestroy', '/open/instance/shutdown_destroy', id, {});
  }

  /**
   * POST /open/instance/boot; after a GPU release a model/count may be chosen (default: as before).
   * `gpu_count` is sent as a string, as the docs specify for this endpoint.
   */
  async boot(id: string, opts: { gpuModel?: string; gpuCount?: number } = {}): Promise<void> {
    const extra: Record<string, unknown> = {};
    if (opts.gpuModel !== undefined) extra.gpu_model = opts.gpuModel;
    if (opts.gpuCount !== undefined) {
      if (!Number.isInteger(opts.gpuCount) || opts.gpuCount < 0 || opts.gpuCount > 8) {
        throw new BadRequest('gpuCount', 'must be an integer 0-8');
      }
      extra.gpu_count = String(opts.gpuCount);
    }
    await this.action('boot', '/open/instance/boot', id, extra);
  }

  private async action(action: XgcAction, ep: string, id: string, extra: Record<string, unknown>): Promise<void> {
    assertInstanceId(id);
    await this.post(action, ep, { id, ...extra }, id);
  }

  /** A GET with retries; `read` turns a successful envelope into the result and may throw protocol errors. */
  private async get<T>(path: string, ep: string, read: (env: Envelope, status: number) => T): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const started = performance.now();
      try {
        const { env, status } = await this.send('GET', path, ep, undefined);
        const out = read(env, status);
        this.report('GET', ep, attempt, started, null);
        return out;
      } catch (err) {
        this.report('GET', ep, attempt, started, errorClass(err));
        if (attempt >= this.retries || !retryableRead(err)) throw err;
        await sleep(backoff(attempt, { base: this.retryBaseMs, cap: MAX_BACKOFF_MS, jitter: 'full' }));
      }
    }
  }

  /** A POST sent exactly once; an unknown outcome becomes `XgcActionUncertain` after one re-read. */
  private async post(action: string, ep: string, body: Record<string, unknown>, id: string | null): Promise<Envelope> {
    const started = performance.now();
    try {
      const { env } = await this.send('POST', ep, ep, body);
      this.report('POST', ep, 0, started, null);
      return env;
    } catch (err) {
      this.report('POST', ep, 0, started, errorClass(err));
      if (!(err instanceof XgcError) || !outcomeUnknown(err)) throw err;
      if (id === null) throw new XgcActionUncertain(action, null, err, null, null);
      let seen: Instance | null = null;
      try {
        seen = (await this.getInstance(id)).instance;
      } catch {
        seen = null;
      }
      throw new XgcActionUncertain(action, id, err, seen?.status ?? null, seen ? seemsApplied(action as XgcAction, seen) : null);
    }
  }

  private report(method: 'GET' | 'POST', endpoint: string, attempt: number, started: number, error: XgcErrorClass | null): void {
    this.onCall?.({ method, endpoint, attempt, durationMs: performance.now() - started, error });
  }

  /** One HTTP request: returns the envelope of a successful answer or throws a typed error. */
  private async send(
    method: 'GET' | 'POST',
    path: string,
    ep: string,
    body: Record<string, unknown> | undefined,
  ): Promise<{ env: Envelope; status: number }> {
    const headers: Record<string, string> = { accept: 'application/json', 'user-agent': this.userAgent };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const ctrl = new AbortController();
    const timer = setTimeout(() => ctrl.abort(), this.timeoutMs);
    this.calls++;
    let status: number;
    let text: string;
    try {
      const res = await fetch(this.baseUrl + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: ctrl.signal,
        redirect: 'error',
      });
      status = res.status;
      // Buffer's UTF-8 decoder, not fetch's TextDecoder: a 1,000-instance list (1.7 MB, Chinese in it) decodes in
      // under 1 ms on Node 24 against ~15 ms (on Node 20 both take ~15 ms). Unlike res.text() it keeps a BOM.
      text = Buffer.from(await res.arrayBuffer()).toString('utf8');
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    } catch (err) {
      if (ctrl.signal.aborted) throw new XgcTimeoutError(ep, this.timeoutMs, this.shownBase);
      throw new XgcNetworkError(ep, networkCode(err), this.shownBase);
    } finally {
      clearTimeout(timer);
    }
    return { env: this.interpret(ep, status, text), status };
  }

  /** Classify an HTTP answer: envelope on success, typed error otherwise. */
  private interpret(ep: string, status: number, text: string): Envelope {
    const ok = status >= 200 && status < 300;
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      if (status === 401 || status === 403) throw new XgcAuthError(ep, status, this.hint(text), status);
      if (!ok) throw new XgcApiError(ep, status, this.hint(text), status, 'http');
      throw new XgcProtocolError(ep, `body is not JSON (${text.length} bytes)`, status);
    }
    const parsed = envelopeSchema.safeParse(json);
    if (!parsed.success) {
      if (status === 401 || status === 403) throw new XgcAuthError(ep, status, '', status);
      if (!ok) throw new XgcApiError(ep, status, 'no envelope', status, 'http');
      throw new XgcProtocolError(ep, `no envelope: ${describeIssues(parsed.error)}`, status);
    }
    const env = parsed.data;
    const msg = this.safe(env.msg);
    const success = env.success === true && (env.code === 200 || env.code === 0);
    if (success && ok) return env;
    if (status === 401 || status === 403 || env.code === 401 || env.code === 403 || AUTH_MSG.some((m) => env.msg.includes(m))) {
      throw new XgcAuthError(ep, env.code, msg, status);
    }
    if (!ok) throw new XgcApiError(ep, env.code, msg, status, 'http');
    if (GPU_SHORTAGE_MSG.some((m) => env.msg.includes(m))) throw new XgcGpuShortageError(ep, env.code, msg, status);
    throw new XgcApiError(ep, env.code, msg, status);
  }

  /** The API's own message, truncated, with the token masked. */
  private safe(s: string): string {
    let out = s.length > 200 ? `${s.slice(0, 200)}…` : s;
    if (this.token) out = out.split(this.token).join('***');
    return out;
  }

  /** A short, secret-free hint of a non-JSON error body (an HTML title, or a few plain words). */
  private hint(text: string): string {
    const title = /<title[^>]*>([^<]{0,120})<\/title>/i.exec(text)?.[1];
    const s = (title ?? text).replace(/\s+/g, ' ').trim();
    if (s === '' || /^[[{]/.test(s)) return '';
    if (/<[a-z!/]/i.test(s) && !title) return '(html body)';
    if (SECRET_KEY_RE.test(s) || (this.token && s.includes(this.token))) return '(body withheld)';
    return s.length > 80 ? `${s.slice(0, 80)}…` : s;
  }
}

function requireData(env: Envelope, ep: string, status: number): unknown {
  if (env.data === undefined || env.data === null) throw new XgcProtocolError(ep, 'data is missing', status);
  return env.data;
}

/** GET failures worth another try: transient transport problems, garbled answers, 5xx and 429. */
function retryableRead(err: unknown): boolean {
  if (err instanceof XgcNetworkError || err instanceof XgcTimeoutError || err instanceof XgcProtocolError) return true;
  return err instanceof XgcApiError && err.kind === 'http' && (err.httpStatus >= 500 || err.httpStatus === 429);
}

/** POST failures after which the action may or may not have happened. */
function outcomeUnknown(err: XgcError): boolean {
  if (err instanceof XgcNetworkError || err instanceof XgcTimeoutError || err instanceof XgcProtocolError) return true;
  return err instanceof XgcApiError && err.kind === 'http' && err.httpStatus >= 500;
}

/** Whether the observed instance looks like `action` took effect (null: cannot tell). */
export function seemsApplied(action: XgcAction, seen: Pick<Instance, 'status' | 'gpuUsed'>): boolean | null {
  const s = seen.status;
  switch (action) {
    case 'shutdown':
      return s === 'shutting_down' || s === 'shutdown' ? true : s === 'running' ? false : null;
    case 'shutdownReleaseGpu':
      if (s === 'shutting_down' || (s === 'shutdown' && seen.gpuUsed === 0)) return true;
      return s === 'running' || s === 'shutdown' ? false : null;
    case 'shutdownDestroy':
      if (['shutting_down', 'shutdown', 'destroying', 'destroyed'].includes(s)) return true;
      return s === 'running' ? false : null;
    case 'destroy':
      if (s === 'destroying' || s === 'destroyed') return true;
      return s === 'running' || s === 'shutdown' ? false : null;
    case 'boot':
      if (s === 'booting' || s === 'running') return true;
      return s === 'shutdown' ? false : null;
  }
}

function withoutSecrets(obj: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    if (SECRET_KEY_RE.test(k)) continue;
    out[k] = v !== null && typeof v === 'object' && !Array.isArray(v) ? withoutSecrets(v as Record<string, unknown>) : v;
  }
  return out;
}

function networkCode(err: unknown): string {
  const pick = (e: unknown): string | undefined => {
    const c = (e as { code?: unknown } | null)?.code;
    return typeof c === 'string' && /^[A-Z0-9_]{2,40}$/.test(c) ? c : undefined;
  };
  const cause = (err as { cause?: unknown } | null)?.cause;
  const nested = (cause as { errors?: unknown[] } | null)?.errors?.[0];
  return pick(cause) ?? pick(nested) ?? pick(err) ?? 'connection failed';
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
