/** Small HTTP/JSON helpers shared by the HTTP probes: one timeout, no secrets in error text. */
import http from 'node:http';
import https from 'node:https';
import type { ReasonCode } from '../notify/reasons.js';
import type { ProbeResult } from './types.js';

/**
 * A probe failure whose message is safe to show (no secrets, no query strings). `phrase` is the same failure
 * without the URL, one of the fixed phrases the reason catalog translates (src/notify/reasons.ts, ERROR_PHRASES).
 */
export class ProbeFailure extends Error {
  constructor(
    message: string,
    readonly phrase: string = message,
  ) {
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

/** The failure as a reason code's `error` parameter: {@link describeError} without the URL a message may name. */
export function errorPhrase(err: unknown): string {
  return err instanceof ProbeFailure ? err.phrase : describeError(err);
}

/** Options for {@link getJson}. */
export interface GetJsonOptions {
  headers?: Record<string, string>;
  timeoutMs: number;
  signal?: AbortSignal;
}

/** Largest probe answer read (a Jupyter kernel list is a few KB); a larger one is an error, not a memory spike. */
const MAX_BODY_BYTES = 1 << 20;

/**
 * Keep-alive agents: a probe's few requests to one instance reuse its connection; idle sockets close after 10 s.
 * node:http rather than fetch: a probe round is thousands of small GETs per tick at scale, and fetch's per-request
 * objects (Request, Headers, streams, signals) dominated the daemon's heap.
 */
const agents = {
  'http:': new http.Agent({ keepAlive: true, maxFreeSockets: 4, timeout: 10_000 }),
  'https:': new https.Agent({ keepAlive: true, maxFreeSockets: 4, timeout: 10_000 }),
};

/**
 * GET a URL and parse JSON. Resolves with status + body for any HTTP status (redirects are not followed);
 * rejects on network/timeout/parse errors. The timeout is a timer cleared as soon as the answer is in.
 */
export function getJson(url: string, opts: GetJsonOptions): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      reject(new ProbeFailure('invalid url'));
      return;
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') {
      reject(new ProbeFailure(`unsupported protocol ${u.protocol}`));
      return;
    }
    let settled = false;
    const done = (err: Error | null, value?: { status: number; body: unknown }) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      if (err) reject(err);
      else resolve(value!);
    };
    const mod = u.protocol === 'https:' ? https : http;
    const req = mod.get(u, { headers: { accept: 'application/json', ...opts.headers }, agent: agents[u.protocol] }, (res) => {
      const status = res.statusCode ?? 0;
      if (status < 200 || status >= 300) {
        res.resume();
        done(null, { status, body: null });
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_BODY_BYTES) {
          req.destroy();
          done(new ProbeFailure(`answer from ${safeUrl(url)} larger than ${MAX_BODY_BYTES} bytes`, `answer larger than ${MAX_BODY_BYTES} bytes`));
        } else chunks.push(c);
      });
      res.on('end', () => {
        try {
          done(null, { status, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown });
        } catch {
          done(new ProbeFailure(`invalid JSON from ${safeUrl(url)}`, 'invalid JSON in response'));
        }
      });
      res.on('error', (e) => done(e));
      res.on('aborted', () => done(new ProbeFailure(`connection closed by ${safeUrl(url)}`, 'connection closed')));
    });
    req.on('error', (e) => done(e));
    const abort = (e: Error) => {
      req.destroy();
      done(e);
    };
    const timer = setTimeout(() => abort(new DOMException(`timed out after ${opts.timeoutMs} ms`, 'TimeoutError')), opts.timeoutMs);
    const onAbort = () => abort(new DOMException('aborted', 'AbortError'));
    if (opts.signal?.aborted) onAbort();
    else opts.signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Parse an ISO timestamp into epoch ms, or undefined. */
export function parseTime(value: unknown): number | undefined {
  if (typeof value !== 'string' || value === '') return undefined;
  const t = Date.parse(value);
  return Number.isFinite(t) ? t : undefined;
}
