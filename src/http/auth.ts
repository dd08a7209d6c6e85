/**
 * API authentication, in one root `onRequest` hook so no route can forget it and no URL trick can dodge it:
 * the decision is made on the decoded, dot-resolved, slash-collapsed path (any path starting with `/api`),
 * and also on the matched route. Bearer tokens are compared as SHA-256 digests with timingSafeEqual.
 *
 * Roles: the api token may do everything; the read token only GET/HEAD (403 otherwise); the heartbeat token
 * only `POST /api/v1/heartbeat`. Without an api token the API is open to loopback clients only (the daemon
 * refuses a non-loopback host without one). Failed attempts are rate limited per IP (429).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import rateLimit from '@fastify/rate-limit';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config/schema.js';
import { isLoopback } from '../config/load.js';
import type { App } from './types.js';
import { errorBody } from './errors.js';

/** Auth settings (from `config.http`). */
export interface AuthOptions {
  http: Pick<Config['http'], 'api_token' | 'read_token' | 'heartbeat_token' | 'metrics_auth'> & { host?: string };
  /** failed attempts allowed per IP per window before 429 (default 20) */
  maxFailures?: number;
  /** the window in ms (default 60 s) */
  windowMs?: number;
}

/** The route that the heartbeat token may use. */
export const HEARTBEAT_ROUTE = '/api/v1/heartbeat';

/**
 * Normalize a request URL's path for access decisions: percent-decoding repeated until stable, backslashes as
 * slashes, repeated slashes collapsed, `.`/`..` resolved, lower case. Returns null when it cannot be decoded.
 */
export function normalizePath(url: string): string | null {
  let p = url.split(/[?#]/, 1)[0];
  for (let i = 0; i < 4; i++) {
    let d: string;
    try {
      d = decodeURIComponent(p);
    } catch {
      return null;
    }
    if (d === p) break;
    p = d;
    if (i === 3) return null;
  }
  const out: string[] = [];
  for (const seg of p.replace(/\\/g, '/').split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') out.pop();
    else out.push(seg);
  }
  return `/${out.join('/')}`.toLowerCase();
}

/** Whether a request comes from this machine. */
function fromLoopback(req: FastifyRequest): boolean {
  const a = req.socket?.remoteAddress ?? '';
  return a === '::1' || /^(::ffff:)?127\./.test(a);
}

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/** The bearer token of a request, if any. */
function bearer(req: FastifyRequest): string | null {
  const h = req.headers.authorization;
  if (typeof h !== 'string') return null;
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(h);
  return m ? m[1] : null;
}

type Role = 'api' | 'read' | 'heartbeat';

/** How a request was let in: by which token, or `open` (no api token configured, loopback client). */
export type RequestRole = Role | 'open';

const roles = new WeakMap<FastifyRequest, RequestRole>();

/** The role the auth hook granted this request (undefined for paths outside the auth hook's scope). */
export function requestRole(req: FastifyRequest): RequestRole | undefined {
  return roles.get(req);
}

/** Install the auth hook (and the failure rate limiter) on the root app. */
export async function installAuth(app: App, opts: AuthOptions): Promise<void> {
  const maxFailures = opts.maxFailures ?? 20;
  const windowMs = opts.windowMs ?? 60_000;
  await app.register(rateLimit, { global: false });
  const limiter = app.createRateLimit({ max: maxFailures, timeWindow: windowMs });

  const known: Array<[Role, Buffer]> = [];
  if (opts.http.api_token) known.push(['api', digest(opts.http.api_token)]);
  if (opts.http.read_token) known.push(['read', digest(opts.http.read_token)]);
  if (opts.http.heartbeat_token) known.push(['heartbeat', digest(opts.http.heartbeat_token)]);
  const open = !opts.http.api_token;
  // /metrics (balance, instance ids and names) needs a token beyond loopback unless `http.metrics_auth: false`
  const metricsNeedToken = opts.http.metrics_auth ?? !isLoopback(opts.http.host ?? '127.0.0.1');

  /** Compare against every known token (no early exit) and return the role of the match. */
  const roleOf = (token: string): Role | null => {
    const d = digest(token);
    let role: Role | null = null;
    for (const [r, k] of known) if (timingSafeEqual(d, k) && role === null) role = r;
    return role;
  };

  const deny = (reply: FastifyReply, status: number, code: string, message: string) => {
    if (status === 401) reply.header('www-authenticate', 'Bearer realm="xgc-guard"');
    return reply.code(status).header('cache-control', 'no-store').send(errorBody(code, message));
  };

  app.addHook('onRequest', async (req, reply) => {
    const path = normalizePath(req.url);
    const route = req.routeOptions.url ?? '';
    const isApi = path === null || path.startsWith('/api') || route.toLowerCase().startsWith('/api');
    const isMetrics = metricsNeedToken && (path === '/metrics' || route === '/metrics');
    if (!isApi && !isMetrics) return;
    if (open && fromLoopback(req)) {
      roles.set(req, 'open');
      return;
    }

    const tooMany = (ttlInSeconds: number) => {
      reply.header('retry-after', String(Math.max(1, ttlInSeconds)));
      return deny(reply, 429, 'rate_limited', 'too many failed authentication attempts; retry later');
    };
    // Checked before the token, so a locked-out client cannot keep guessing.
    const limit = await limiter(req, { increment: false });
    if (!limit.isAllowed && limit.remaining <= 0) return tooMany(limit.ttlInSeconds);
    const token = bearer(req);
    const role = token === null ? null : roleOf(token);
    if (role === null) {
      const after = await limiter(req);
      if (!after.isAllowed && after.isExceeded) return tooMany(after.ttlInSeconds);
      const message = open
        ? 'no GUARD_API_TOKEN is configured: the API answers loopback clients only'
        : token === null
          ? 'missing bearer token (Authorization: Bearer <GUARD_API_TOKEN>)'
          : 'invalid token';
      return deny(reply, 401, 'unauthorized', message);
    }
    const write = req.method !== 'GET' && req.method !== 'HEAD';
    if (role === 'heartbeat') {
      if (req.method === 'POST' && route === HEARTBEAT_ROUTE && path === HEARTBEAT_ROUTE) {
        roles.set(req, role);
        return;
      }
      return deny(reply, 403, 'forbidden', `the heartbeat token only allows POST ${HEARTBEAT_ROUTE}`);
    }
    if (role === 'read' && write) return deny(reply, 403, 'forbidden', 'the read-only token cannot change anything');
    roles.set(req, role);
  });
}
