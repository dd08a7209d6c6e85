/**
 * Protocol edges the simulator cannot produce (loose live-API shapes, missing `data`, non-JSON bodies,
 * odd envelopes), served by a tiny raw node:http server over a real socket.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BadRequest } from '../../src/errors.js';
import type { XgcCallInfo } from '../../src/xgc/index.js';
import {
  XgcActionUncertain,
  XgcApiError,
  XgcAuthError,
  XgcClient,
  XgcGpuShortageError,
  XgcProtocolError,
  errorClass,
} from '../../src/xgc/index.js';

type Seen = { method: string; url: string; headers: IncomingMessage['headers']; body: string };
type Reply = (req: Seen, res: ServerResponse) => void;

const TOKEN = 'tok-SECRET-123456';
let server: Server;
let base: string;
let reply: Reply;
let seen: Seen[];

const json = (res: ServerResponse, body: unknown, status = 200): void => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
};
const ok = (data: unknown) => ({ code: 200, msg: 'ok', success: true, data });
const client = (extra: Partial<ConstructorParameters<typeof XgcClient>[0]> = {}) =>
  new XgcClient({ baseUrl: base, token: TOKEN, retries: 2, retryBaseMs: 1, timeoutMs: 2000, ...extra });

/** A raw instance as the live API sends it: loose types, secrets inline. */
const rawInstance = (over: Record<string, unknown> = {}) => ({
  id: 'abcd1234efgh5678',
  name: 'sd-main',
  status: 'running',
  gpu_model: 'RTX 4090 D',
  gpu_used: '1',
  price_per_hour: 1.59,
  base_price: '1.5',
  retain: 1,
  retain_price: 0.0012,
  public_image: 'SD_WebUI',
  image_id: '9c530cfd',
  data_center_name: '浙江一区',
  web_url: 'https://abcd1234efgh5678-7860.container.x-gpu.com',
  jupyter_url: 'https://abcd1234efgh5678-8888.container.x-gpu.com/?token=JUPYTER-SECRET',
  jupyter_token: 'JUPYTER-SECRET',
  ssh_domain: 'abcd1234efgh5678.ssh.x-gpu.com',
  ssh_port: '44775',
  ssh_user: 'root',
  password: 'PASSWORD-SECRET',
  ssh_key: 'SSHKEY-SECRET',
  xgcos_token: 'XGCOS-SECRET',
  create_timestamp: 1_700_000_000,
  start_timestamp: '1700000100',
  stop_timestamp: 0,
  progress: 100,
  auto_shutdown: true,
  ...over,
});
const SECRETS = [TOKEN, 'JUPYTER-SECRET', 'PASSWORD-SECRET', 'SSHKEY-SECRET', 'XGCOS-SECRET'];

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const s = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body };
      seen.push(s);
      reply(s, res);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));
beforeEach(() => {
  seen = [];
  reply = (_req, res) => json(res, ok({}));
});

describe('xgc client against loose live-API shapes', () => {
  it('parses numeric strings, seconds timestamps, unknown fields, and keeps secrets only in access', async () => {
    reply = (_q, res) => json(res, ok({ list: [rawInstance()], total: 1 }));
    const [row] = await client().listInstances();
    expect(row.instance).toMatchObject({
      id: 'abcd1234efgh5678',
      status: 'running',
      statusKnown: true,
      gpuUsed: 1,
      basePrice: 1.5,
      retain: true,
      sshPort: 44775,
      createdAt: 1_700_000_000_000,
      startedAt: 1_700_000_100_000,
      stoppedAt: null,
      jupyterUrl: 'https://abcd1234efgh5678-8888.container.x-gpu.com/',
    });
    expect(row.access).toMatchObject({
      jupyterToken: 'JUPYTER-SECRET',
      password: 'PASSWORD-SECRET',
      sshHost: 'abcd1234efgh5678.ssh.x-gpu.com',
      sshPort: 44775,
      sshUser: 'root',
    });
    const publicText = JSON.stringify(row.instance);
    for (const s of SECRETS) expect(publicText).not.toContain(s);
    // ssh_key and xgcos_token are not even kept in memory
    expect(JSON.stringify(row.access)).not.toContain('SSHKEY-SECRET');
    expect(JSON.stringify(row.access)).not.toContain('XGCOS-SECRET');
  });

  it('keeps an unknown status string and flags it, and tolerates missing optional fields', async () => {
    reply = (_q, res) => json(res, ok({ list: [{ id: 'x1', status: 'migrating' }], total: 1 }));
    const [row] = await client().listInstances();
    expect(row.instance).toMatchObject({
      status: 'migrating',
      statusKnown: false,
      name: '',
      gpuUsed: 0,
      sshPort: null,
      createdAt: null,
      basePrice: null,
      retain: false,
    });
  });

  it('fails the whole list with a protocol error when one item lacks id or status (never drops it)', async () => {
    for (const bad of [{ ...rawInstance(), id: undefined }, { ...rawInstance({ id: 'b2' }), status: '' }]) {
      reply = (_q, res) => json(res, ok({ list: [rawInstance(), bad], total: 2 }));
      const err = await client({ retries: 0 }).listInstances().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(XgcProtocolError);
      expect((err as Error).message).toMatch(/data\.list\[1\]\.(id|status)/);
      for (const s of SECRETS) expect((err as Error).message).not.toContain(s);
    }
  });

  it('fails the whole list naming the field when a value has the wrong shape (never takes it as absent)', async () => {
    for (const [field, value, text] of [
      ['ssh_port', 'port-22', 'expected a number or numeric string'],
      ['price_per_hour', { yuan: 1 }, 'wrong type'],
      ['start_timestamp', true, 'wrong type'],
      ['name', ['sd'], 'wrong type'],
      ['retain', 'yes', 'wrong type'],
    ] as const) {
      reply = (_q, res) => json(res, ok({ list: [rawInstance(), { ...rawInstance({ id: 'b2' }), [field]: value }], total: 2 }));
      const err = await client({ retries: 0 }).listInstances().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(XgcProtocolError);
      expect((err as Error).message).toContain(`data.list[1].${field}: ${text}`);
    }
    // the loose shapes the live API sends are taken: numeric strings with spaces, '' and null as absent, numbers as names
    reply = (_q, res) => json(res, ok({ list: [{ ...rawInstance(), ssh_port: ' 44775 ', progress: '', stop_timestamp: null, name: 42, retain: 1 }], total: 1 }));
    const [one] = await client().listInstances();
    expect(one.instance).toMatchObject({ sshPort: 44775, stoppedAt: null, name: '42', retain: true });
  });

  it("reads the platform's auto-shutdown fields in any type the API sends and never fails a list on them", async () => {
    const cases: Array<[unknown, unknown, number | null, number | null]> = [
      [1, 2, 1, 2], // the live API: integers
      [0, 0, 0, 0],
      [true, '', 1, null], // older answers: booleans and empty strings
      [false, '', 0, null],
      ['1', ' 3 ', 1, 3],
      [{ on: 1 }, [1], null, null], // unreadable: absent, never a failed list
      [undefined, undefined, null, null],
    ];
    for (const [autoShutdown, action, want, wantAction] of cases) {
      reply = (_q, res) => json(res, ok({ list: [{ ...rawInstance(), auto_shutdown: autoShutdown, auto_shutdown_action: action }], total: 1 }));
      const [one] = await client({ retries: 0 }).listInstances();
      expect(one.instance, JSON.stringify([autoShutdown, action])).toMatchObject({ autoShutdown: want, autoShutdownAction: wantAction });
    }
  });

  it('rejects a list whose total exceeds its items, and duplicate ids', async () => {
    reply = (_q, res) => json(res, ok({ list: [rawInstance()], total: 3 }));
    await expect(client({ retries: 0 }).listInstances()).rejects.toThrow(/total is 3/);
    reply = (_q, res) => json(res, ok({ list: [rawInstance(), rawInstance()], total: 2 }));
    await expect(client({ retries: 0 }).listInstances()).rejects.toThrow(/duplicate/);
  });

  it('accepts list null only with total 0', async () => {
    reply = (_q, res) => json(res, ok({ list: null, total: 0 }));
    expect(await client().listInstances()).toEqual([]);
    reply = (_q, res) => json(res, ok({ list: null }));
    await expect(client({ retries: 0 }).listInstances()).rejects.toBeInstanceOf(XgcProtocolError);
  });

  it('treats a success envelope without data as a protocol error and retries the GET', async () => {
    reply = (_q, res) => json(res, { code: 200, msg: 'ok', success: true });
    const c = client({ retries: 2 });
    const err = await c.balance().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(XgcProtocolError);
    expect(errorClass(err)).toBe('protocol');
    expect((err as Error).message).toContain('data is missing');
    expect(c.calls).toBe(3);
  });

  it('treats a non-JSON 200 body as a protocol error without echoing the body', async () => {
    reply = (_q, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`{"password":"PASSWORD-SECRET", truncated`);
    };
    const err = await client({ retries: 0 }).listInstances().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(XgcProtocolError);
    expect((err as Error).message).toMatch(/not JSON/);
    expect((err as Error).message).not.toContain('PASSWORD-SECRET');
  });

  it('decodes UTF-8 names split across chunks, with or without a leading byte-order mark', async () => {
    const body = Buffer.from(JSON.stringify(ok({ list: [rawInstance({ name: '训练-🐉-夜间' })], total: 1 })));
    const cut = body.indexOf(Buffer.from('🐉')) + 2; // inside the 4-byte character
    for (const bom of [Buffer.alloc(0), Buffer.from([0xef, 0xbb, 0xbf])]) {
      reply = (_q, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write(Buffer.concat([bom, body.subarray(0, cut)]));
        setTimeout(() => res.end(body.subarray(cut)), 20);
      };
      const [item] = await client().listInstances();
      expect(item.instance.name).toBe('训练-🐉-夜间');
      expect(item.instance.dataCenter).toBe('浙江一区');
    }
  });

  it('accepts code 0 as success, and treats success:true with another code as an API error', async () => {
    reply = (_q, res) => json(res, { code: 0, msg: '', success: true, data: { balance: '12.5' } });
    expect(await client().balance()).toBe(12.5);
    reply = (_q, res) => json(res, { code: 1000, msg: '奇怪', success: true, data: { balance: 1 } });
    const err = await client().balance().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(XgcApiError);
    expect(err).toMatchObject({ code: 1000, msg: '奇怪', endpoint: '/open/balance', httpStatus: 200 });
  });

  it('classifies business errors by message: auth, GPU shortage, generic; never retries them', async () => {
    const cases: [string, unknown, string][] = [
      ['访问令牌为空', XgcAuthError, 'auth'],
      ['未找到访问令牌', XgcAuthError, 'auth'],
      ['可用GPU不足', XgcGpuShortageError, 'api'],
      ['GPU型号暂时不可用', XgcGpuShortageError, 'api'],
      ['实例状态不允许此操作', XgcApiError, 'api'],
    ];
    for (const [msg, cls, klass] of cases) {
      reply = (_q, res) => json(res, { code: 1000, msg, success: false, data: null });
      const c = client({ retries: 3 });
      const err = await c.boot('abcd1234efgh5678').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(cls);
      expect(errorClass(err)).toBe(klass);
      expect(c.calls).toBe(1);
      const g = client({ retries: 3 });
      await g.balance().catch(() => undefined);
      expect(g.calls).toBe(1);
    }
    reply = (_q, res) => json(res, { code: 1000, msg: '可用GPU不足', success: false });
    const err = (await client().boot('abcd1234efgh5678').catch((e: unknown) => e)) as XgcApiError;
    expect(err.kind).toBe('gpu_shortage');
  });

  it('masks the token if the API echoes it in its message', async () => {
    reply = (_q, res) => json(res, { code: 1000, msg: `未找到访问令牌 ${TOKEN}`, success: false });
    const err = (await client().balance().catch((e: unknown) => e)) as XgcAuthError;
    expect(err).toBeInstanceOf(XgcAuthError);
    expect(err.message).not.toContain(TOKEN);
    expect(err.msg).not.toContain(TOKEN);
  });

  it('turns HTTP 502 with an HTML page into an API error with the status, retried for GETs', async () => {
    reply = (_q, res) => {
      res.writeHead(502, { 'content-type': 'text/html' });
      res.end('<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>');
    };
    const c = client({ retries: 2 });
    const err = (await c.listInstances().catch((e: unknown) => e)) as XgcApiError;
    expect(err).toBeInstanceOf(XgcApiError);
    expect(err).toMatchObject({ httpStatus: 502, kind: 'http' });
    expect(err.message).toContain('502 Bad Gateway');
    expect(c.calls).toBe(3);
  });

  it('treats HTTP 401 as an auth error and does not retry it', async () => {
    reply = (_q, res) => json(res, 'unauthorized', 401);
    const c = client({ retries: 3 });
    await expect(c.listInstances()).rejects.toBeInstanceOf(XgcAuthError);
    expect(c.calls).toBe(1);
  });

  it('sends Bearer token, User-Agent with the package version, and the documented bodies', async () => {
    reply = (q, res) => json(res, ok(q.url.endsWith('/deploy') ? { id: 'newid0000000001' } : {}));
    const c = client();
    expect(
      await c.deploy({ gpuModel: 'NVIDIA GeForce RTX 4090 D', gpuCount: 1, image: 'img-1', name: 'n1' }),
    ).toBe('newid0000000001');
    await c.boot('abcd1234efgh5678', { gpuModel: 'NVIDIA GeForce RTX 4090', gpuCount: 2 });
    await c.shutdownReleaseGpu('abcd1234efgh5678');
    expect(seen[0].headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(seen[0].headers['user-agent']).toBe('xgc-guard/0.1.0');
    expect(seen.map((s) => `${s.method} ${s.url}`)).toEqual([
      'POST /open/instance/deploy',
      'POST /open/instance/boot',
      'POST /open/instance/shutdown_release_gpu',
    ]);
    expect(JSON.parse(seen[0].body)).toEqual({
      gpu_model: 'NVIDIA GeForce RTX 4090 D',
      gpu_count: 1,
      data_center_id: 1,
      image: 'img-1',
      image_type: 'public',
      name: 'n1',
    });
    expect(JSON.parse(seen[1].body)).toEqual({ id: 'abcd1234efgh5678', gpu_model: 'NVIDIA GeForce RTX 4090', gpu_count: '2' });
    expect(JSON.parse(seen[2].body)).toEqual({ id: 'abcd1234efgh5678' });
  });

  it('rejects malformed ids before any request', async () => {
    const c = client();
    for (const id of ['', 'ABC', '../balance', 'a b', 'x'.repeat(65)]) {
      await expect(c.getInstance(id)).rejects.toBeInstanceOf(BadRequest);
      await expect(c.destroy(id)).rejects.toBeInstanceOf(BadRequest);
    }
    expect(c.calls).toBe(0);
    expect(seen).toHaveLength(0);
  });

  it('rejects a get whose data is another instance', async () => {
    reply = (_q, res) => json(res, ok(rawInstance({ id: 'other00000000000' })));
    await expect(client({ retries: 0 }).getInstance('abcd1234efgh5678')).rejects.toThrow(/not the requested id/);
  });

  it('whoami drops secret-looking fields', async () => {
    reply = (_q, res) => json(res, ok({ id: 'u1', nickname: 'me', access_token: TOKEN, profile: { api_key: 'k', city: 'x' } }));
    const who = await client().whoami();
    expect(who).toEqual({ id: 'u1', nickname: 'me', profile: { city: 'x' } });
  });
  it('a POST answered 502 whose effect shows up in the re-read is uncertain but seems applied', async () => {
    reply = (q, res) => {
      if (q.method === 'POST') return json(res, '<html><title>502 Bad Gateway</title></html>', 502);
      json(res, ok(rawInstance({ status: 'shutting_down' })));
    };
    const c = client();
    const err = (await c.shutdownReleaseGpu('abcd1234efgh5678').catch((e: unknown) => e)) as XgcActionUncertain;
    expect(err).toBeInstanceOf(XgcActionUncertain);
    expect(err).toMatchObject({ observedStatus: 'shutting_down', seemsApplied: true, instanceId: 'abcd1234efgh5678' });
    expect(seen.map((s) => s.method)).toEqual(['POST', 'GET']);
    for (const s of SECRETS) expect(err.message).not.toContain(s);
  });

  it('reports every request to onCall with endpoint templates, and takeCalls resets the counter', async () => {
    let n = 0;
    reply = (_q, res) => (n++ === 0 ? json(res, 'oops', 503) : json(res, ok(rawInstance())));
    const calls: XgcCallInfo[] = [];
    const c = client({ onCall: (x) => calls.push(x) });
    await c.getInstance('abcd1234efgh5678');
    expect(calls.map((x) => [x.method, x.endpoint, x.attempt, x.error])).toEqual([
      ['GET', '/open/instance/{id}', 0, 'api'],
      ['GET', '/open/instance/{id}', 1, null],
    ]);
    expect(c.takeCalls()).toBe(2);
    expect(c.calls).toBe(0);
  });
});
