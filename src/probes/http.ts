/** Small HTTP/JSON helpers shared by the HTTP probes: one timeout, no secrets in error text. */
import type { ReasonCode } from '../notify/reasons.js';
import type { ProbeResult } from './types.js';

/** A probe failure whose message is safe to show (no secrets, no query strings). */
export class ProbeFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProbeFailure';
  }
}

/** Shorthand for an `unknown` answer (with its reason code when there is one). */
export function unknownResult(detail: string, metrics?: Record<string, number>, code?: ReasonCode): ProbeResult {
  const r: ProbeResult = { verdict: 'unknown', detail };
  if (metrics) r.metrics = metrics;
  if (code) r.code = code;
  return r;
}

/** `origin + path` of a URL, without query or credentials, for use in details. */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '(invalid url)';
  }
}

/** Join a base URL (maybe with a trailing slash or query) and an absolute path, keeping the base's query out. */
export function joinUrl(base: string, path: string, query?: Record<string, string>): string {
  const u = new URL(base);
  u.pathname = u.pathname.replace(/\/+$/, '') + path;
  u.search = '';
  u.hash = '';
  for (const [k, v] of Object.entries(query ?? {})) u.searchParams.set(k, v);
  return u.toString();
}

/** A short, secret-free description of a thrown error (network codes, timeouts, our own failures). */
export function describeError(err: unknown): string {
  if (err instanceof ProbeFailure) return err.message;
  const e = err as { name?: string; code?: string; cause?: { code?: string; name?: string } };
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError' || e?.cause?.name === 'TimeoutError') return 'timed out';
  const code = e?.cause?.code ?? e?.code;
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'host not found';
  if (code === 'ECONNRESET') return 'connection reset';
  if (code) return `network error ${code}`;
  if (e?.name === 'SyntaxError') return 'invalid JSON in response';
  return e?.name ? `failed (${e.name})` : 'failed';
}

/** Options for {@link getJson}. */
export interface GetJsonOptions {
  headers?: Record<string, string>;
  timeoutMs: number;
  signal?: AbortSignal;
}

/** GET a URL and parse JSON. Resolves with status + body for any HTTP status; rejects on network/timeout/parse errors. */
export async function getJson(url: string, opts: GetJsonOptions): Promise<{ status: number; body: unknown }> {
  const signals = [AbortSignal.timeout(opts.timeoutMs)];
  if (opts.signal) signals.push(opts.signal);
  const res = await fetch(url, {
    headers: { accept: 'application/json', ...opts.headers },
    signal: AbortSignal.any(signals),
    redirect: 'manual',
  });
  if (res.status < 200 || res.status >= 300) {
    await res.body?.cancel().catch(() => undefined);
    return { status: res.status, body: null };
  }
  const text = await res.text();
  try {
    return { status: res.status, body: JSON.parse(text) as unknown };
  } catch {
    throw new ProbeFailure(`invalid JSON from ${safeUrl(url)}`);
  }
}

/** Parse an ISO timestamp into epoch ms, or undefined. */
export function parseTime(value: unknown): number | undefined {
  if (typeof value !== 'string' || value === '') return undefined;
  const t = Date.parse(value);
  return Number.isFinite(t) ? t : undefined;
}
