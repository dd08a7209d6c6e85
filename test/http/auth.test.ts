import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { normalizePath } from '../../src/http/auth.js';
import { API_TOKEN, HEARTBEAT_TOKEN, READ_TOKEN, bearer, makeApp, type TestApp } from './helpers.js';

let t: TestApp | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

const unauthorized = { error: { code: 'unauthorized', message: expect.any(String) } };

describe('API auth', () => {
  it('answers 401 with the error shape without a token, and 200 with the api token', async () => {
    t = await makeApp();
    const no = await t.app.inject({ url: '/api/v1/balance' });
    expect(no.statusCode).toBe(401);
    expect(no.json()).toEqual(unauthorized);
    expect(no.headers['www-authenticate']).toMatch(/^Bearer/);
    const wrong = await t.app.inject({ url: '/api/v1/balance', headers: bearer('nope') });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json().error.message).toBe('invalid token');
    const ok = await t.app.inject({ url: '/api/v1/balance', headers: bearer(API_TOKEN) });
    expect(ok.statusCode).toBe(200);
  });

  it('covers every path under /api, including routes other modules add and paths with no route', async () => {
    t = await makeApp();
    for (const url of ['/api/v1/instances', '/api/v1/policies', '/api/v1/whatever', '/api', '/API/V1/BALANCE']) {
      const r = await t.app.inject({ url });
      expect(r.statusCode, url).toBe(401);
    }
    const post = await t.app.inject({ method: 'POST', url: '/api/v1/actions', payload: {} });
    expect(post.statusCode).toBe(401);
  });

  it.each([
    ['dot segments', 'GET', '/api/v1/../v1/balance'],
    ['an encoded slash', 'GET', '/api%2Fv1/balance'],
    ['a double-encoded slash', 'GET', '/api%252Fv1/balance'],
    ['an encoded prefix', 'GET', '/%61pi/v1/balance'],
    ['a double slash', 'GET', '//api/v1/balance'],
    ['a trailing slash', 'GET', '/api/v1/balance/'],
    ['a backslash', 'GET', '/api\\v1/balance'],
    ['a query string', 'GET', '/api/v1/balance?x=/healthz'],
    ['HEAD', 'HEAD', '/api/v1/balance'],
    ['OPTIONS', 'OPTIONS', '/api/v1/balance'],
    ['DELETE', 'DELETE', '/api/v1/overrides/1'],
  ])('cannot be bypassed with %s', async (_what, method, url) => {
    t = await makeApp();
    const r = await t.app.inject({ method: method as 'GET', url });
    expect(r.statusCode).toBe(401);
  });

  it('serves a trailing-slash URL like the route itself once authenticated', async () => {
    t = await makeApp();
    const r = await t.app.inject({ url: '/api/v1/balance/', headers: bearer(API_TOKEN) });
    expect(r.statusCode).toBe(200);
    expect(r.json().currency).toBe('CNY');
  });

  it('leaves /healthz, /readyz, /docs and /metrics open', async () => {
    t = await makeApp();
    for (const url of ['/healthz', '/readyz', '/docs', '/docs/json', '/metrics']) {
      const r = await t.app.inject({ url });
      expect(r.statusCode, url).toBe(200);
    }
  });

  it('puts /metrics behind a token when http.metrics_auth is true (the read token is enough)', async () => {
    t = await makeApp({ http: { api_token: API_TOKEN, read_token: READ_TOKEN, metrics_auth: true } });
    expect((await t.app.inject({ url: '/metrics' })).statusCode).toBe(401);
    expect((await t.app.inject({ url: '/metrics/' })).statusCode).toBe(401);
    expect((await t.app.inject({ url: '/metrics', headers: bearer(READ_TOKEN) })).statusCode).toBe(200);
  });

  it('lets the read-only token read but answers 403 forbidden on every write', async () => {
    t = await makeApp();
    const h = bearer(READ_TOKEN);
    expect((await t.app.inject({ url: '/api/v1/overrides', headers: h })).statusCode).toBe(200);
    expect((await t.app.inject({ method: 'HEAD', url: '/api/v1/balance', headers: h })).statusCode).toBe(200);
    const writes = [
      { method: 'POST' as const, url: '/api/v1/overrides', payload: { target: { instance_id: 'a' }, kind: 'snooze', for: '1h', reason: 'r' } },
      { method: 'DELETE' as const, url: '/api/v1/overrides/1' },
      { method: 'POST' as const, url: '/api/v1/heartbeat', payload: { instance_id: 'a' } },
      { method: 'POST' as const, url: '/api/v1/actions', payload: {} },
    ];
    for (const w of writes) {
      const r = await t.app.inject({ ...w, headers: h });
      expect(r.statusCode, w.url).toBe(403);
      expect(r.json().error.code).toBe('forbidden');
    }
  });

  it('lets the heartbeat token POST /api/v1/heartbeat and nothing else; the api token works there too', async () => {
    t = await makeApp();
    const hb = { method: 'POST' as const, url: '/api/v1/heartbeat', payload: { instance_id: 'inst-a', gpu_util: 50 } };
    expect((await t.app.inject({ ...hb, headers: bearer(HEARTBEAT_TOKEN) })).statusCode).toBe(202);
    expect((await t.app.inject({ ...hb, headers: bearer(API_TOKEN) })).statusCode).toBe(202);
    const read = await t.app.inject({ url: '/api/v1/balance', headers: bearer(HEARTBEAT_TOKEN) });
    expect(read.statusCode).toBe(403);
    const write = await t.app.inject({ method: 'POST', url: '/api/v1/overrides', payload: {}, headers: bearer(HEARTBEAT_TOKEN) });
    expect(write.statusCode).toBe(403);
  });

  it('rate limits failed attempts per IP: 429 after 20 failures, even for the right token', async () => {
    t = await makeApp();
    for (let i = 0; i < 20; i++) {
      const r = await t.app.inject({ url: '/api/v1/balance', headers: bearer(`guess-${i}`) });
      expect(r.statusCode).toBe(401);
    }
    const limited = await t.app.inject({ url: '/api/v1/balance', headers: bearer(API_TOKEN) });
    expect(limited.statusCode).toBe(429);
    expect(limited.json()).toEqual({ error: { code: 'rate_limited', message: expect.any(String) } });
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    // another client is not affected
    const other = await t.app.inject({ url: '/api/v1/balance', headers: bearer(API_TOKEN), remoteAddress: '127.0.0.2' });
    expect(other.statusCode).toBe(200);
  });

  it('does not count successful requests against the failure limit', async () => {
    t = await makeApp();
    for (let i = 0; i < 30; i++) expect((await t.app.inject({ url: '/api/v1/balance', headers: bearer(API_TOKEN) })).statusCode).toBe(200);
  });

  it('without an api token is open to loopback clients only', async () => {
    t = await makeApp({ http: {} });
    expect((await t.app.inject({ url: '/api/v1/balance' })).statusCode).toBe(200);
    expect((await t.app.inject({ url: '/api/v1/balance', remoteAddress: '::1' })).statusCode).toBe(200);
    const remote = await t.app.inject({ url: '/api/v1/balance', remoteAddress: '10.1.2.3' });
    expect(remote.statusCode).toBe(401);
    expect(remote.json().error.message).toMatch(/loopback/);
  });

  it('tells the caller its role at GET /api/v1/session (api, read, or open on loopback without a token)', async () => {
    t = await makeApp();
    const api = await t.app.inject({ url: '/api/v1/session', headers: bearer(API_TOKEN) });
    expect(api.json()).toEqual({ role: 'api', timezone: 'Asia/Shanghai', locale: 'zh-CN', currency: 'CNY', demo: false, dry_run: true, version: expect.any(String), keep_marker: '#keep', groups: [] });
    expect((await t.app.inject({ url: '/api/v1/session', headers: bearer(READ_TOKEN) })).json().role).toBe('read');
    expect((await t.app.inject({ url: '/api/v1/session' })).statusCode).toBe(401);
    await t.close();
    t = await makeApp({ http: {} });
    expect((await t.app.inject({ url: '/api/v1/session' })).json().role).toBe('open');
  });

  it('works the same over a real socket', async () => {
    t = await makeApp();
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    const base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
    const no = await fetch(`${base}/api/v1/balance`);
    expect(no.status).toBe(401);
    expect(await no.json()).toEqual(unauthorized);
    const ok = await fetch(`${base}/api/v1/balance`, { headers: bearer(API_TOKEN) });
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { currency: string }).currency).toBe('CNY');
    // raw request targets that fetch would normalize away
    for (const path of ['/api%2Fv1/balance', '//api/v1/balance', '/api/v1/../v1/balance']) {
      const status = await new Promise<number>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port: new URL(base).port, path, method: 'GET' }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end();
      });
      expect(status, path).toBe(401);
    }
  });
});

describe('normalizePath', () => {
  it.each([
    ['/api/v1/balance', '/api/v1/balance'],
    ['/api/v1/../v1/balance', '/api/v1/balance'],
    ['/x/../../api', '/api'],
    ['//api//v1', '/api/v1'],
    ['/api%2Fv1', '/api/v1'],
    ['/api%252Fv1', '/api/v1'],
    ['/./API/', '/api'],
    ['/healthz?x=/api', '/healthz'],
    ['/a\\..\\api', '/api'],
  ])('%s -> %s', (input, out) => {
    expect(normalizePath(input)).toBe(out);
  });

  it('returns null for undecodable paths', () => {
    expect(normalizePath('/api%zz')).toBeNull();
  });
});
