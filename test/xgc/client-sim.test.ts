/**
 * The XianGong client against the simulator over real sockets: every endpoint, every error class,
 * every fault kind, retry and no-retry rules, and where secrets may (and may not) appear.
 */
import { createServer } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startSimulator, type RunningSim } from '../../src/sim/index.js';
import {
  XgcActionUncertain,
  XgcApiError,
  XgcAuthError,
  XgcClient,
  XgcGpuShortageError,
  XgcNetworkError,
  XgcProtocolError,
  XgcTimeoutError,
  errorClass,
  type XgcClientOptions,
} from '../../src/xgc/index.js';

const TOKEN = 'sim-token-7f3a9c';
let sim: RunningSim;

beforeEach(async () => {
  sim = await startSimulator({ token: TOKEN, instances: 3, speed: 0, seed: 1, balance: 200 });
});
afterEach(async () => {
  await sim.close();
});

const client = (o: Partial<XgcClientOptions> = {}) =>
  new XgcClient({ baseUrl: sim.url, token: TOKEN, retries: 3, retryBaseMs: 1, timeoutMs: 3000, ...o });

async function ctl<T = Record<string, unknown>>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  const res = await fetch(sim.url + path, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${method} ${path} -> ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}
const faults = (f: Record<string, unknown>) => ctl('POST', '/sim/faults', f);
const advance = (seconds: number) => ctl('POST', '/sim/clock/advance', { seconds });

type Truth = { id: string; status: string; gone: boolean; password: string; jupyter_token: string; xgcos_token: string; ssh_key: string };
const truth = async () => (await ctl<{ instances: Truth[] }>('GET', '/sim/state')).instances;
const addRunning = async (name = 'job') => (await ctl<{ id: string }>('POST', '/sim/instances', { name, status: 'running' })).id;

/** Every secret the simulator holds, plus the API token. */
async function secrets(): Promise<string[]> {
  const out = [TOKEN];
  for (const t of await truth()) out.push(t.password, t.jupyter_token, t.xgcos_token, t.ssh_key);
  return out.filter((s) => typeof s === 'string' && s.length >= 6);
}
async function expectNoSecrets(text: string): Promise<void> {
  for (const s of await secrets()) expect(text).not.toContain(s);
}
const caught = (p: Promise<unknown>) => p.then(
  () => {
    throw new Error('expected a rejection');
  },
  (e: unknown) => e as Error,
);

describe('xgc client endpoints against the simulator', () => {
  it('lists every instance the cloud has, with access split off from the secret-free instance', async () => {
    const c = client();
    const rows = await c.listInstances();
    const t = await truth();
    expect(rows.map((r) => r.instance.id).sort()).toEqual(t.filter((x) => !x.gone).map((x) => x.id).sort());
    expect(c.calls).toBe(1);
    const running = rows.find((r) => r.instance.status === 'running')!;
    const tr = t.find((x) => x.id === running.instance.id)!;
    expect(running.access.password).toBe(tr.password);
    expect(running.access.jupyterToken).toBe(tr.jupyter_token);
    expect(running.access.sshPort).toEqual(expect.any(Number));
    expect(running.access.sshUser).toBe('root');
    expect(running.instance.statusKnown).toBe(true);
    expect(running.instance.startedAt).toBeGreaterThan(1_600_000_000_000); // seconds became ms
    await expectNoSecrets(JSON.stringify(rows.map((r) => r.instance)));
  });

  it('gets one instance by id, and reports an unknown id as an API error', async () => {
    const c = client();
    const id = await addRunning('one');
    const got = await c.getInstance(id);
    expect(got.instance).toMatchObject({ id, name: 'one', status: 'running' });
    expect(got.instance.gpuUsed).toBeGreaterThan(0);
    const err = await caught(c.getInstance('nosuchinstance00'));
    expect(err).toBeInstanceOf(XgcApiError);
    expect(err).toMatchObject({ code: 1000, msg: '实例不存在', endpoint: '/open/instance/{id}', httpStatus: 200 });
  });

  it('reads the balance and whoami without secrets', async () => {
    await ctl('POST', '/sim/balance', { balance: 123.45 });
    const c = client();
    expect(await c.balance()).toBe(123.45);
    const who = await c.whoami();
    expect(who.id).toEqual(expect.any(String));
    expect(Object.keys(who).some((k) => /token|password|key/i.test(k))).toBe(false);
  });

  it('deploys, then walks shutdown (GPU kept), release GPU, boot, shutdown_destroy and destroy', async () => {
    const c = client();
    const id = await c.deploy({
      gpuModel: 'NVIDIA GeForce RTX 4090 D',
      gpuCount: 1,
      image: '9c530cfd-b929-4f2d-99d9-97a6d572ac89',
      name: 'fresh',
    });
    expect((await c.getInstance(id)).instance.status).toBe('deploying');
    await advance(120);
    expect((await c.getInstance(id)).instance.status).toBe('running');

    await c.shutdown(id);
    await advance(120);
    let i = (await c.getInstance(id)).instance;
    expect(i.status).toBe('shutdown');
    expect(i.gpuUsed).toBeGreaterThan(0);

    await c.shutdownReleaseGpu(id);
    await advance(120);
    i = (await c.getInstance(id)).instance;
    expect(i.status).toBe('shutdown');
    expect(i.gpuUsed).toBe(0);

    await c.boot(id, { gpuModel: 'NVIDIA GeForce RTX 4090', gpuCount: 2 });
    await advance(120);
    i = (await c.getInstance(id)).instance;
    expect(i).toMatchObject({ status: 'running', gpuUsed: 2, gpuModel: 'RTX 4090' });

    await c.shutdownDestroy(id);
    await advance(30);
    expect(['shutting_down', 'destroying', 'destroyed']).toContain((await c.getInstance(id)).instance.status);

    const other = await addRunning('doomed');
    await c.destroy(other);
    await advance(600);
    const ids = (await c.listInstances()).map((r) => r.instance.id);
    expect(ids).not.toContain(other);
    expect(ids).not.toContain(id);
  });
});

describe('xgc client errors against the simulator', () => {
  it('an empty token is an auth error (访问令牌为空), never retried', async () => {
    const c = client({ token: '' });
    const err = await caught(c.listInstances());
    expect(err).toBeInstanceOf(XgcAuthError);
    expect(err).toMatchObject({ code: 1000, msg: '访问令牌为空' });
    expect(errorClass(err)).toBe('auth');
    expect(c.calls).toBe(1);
  });

  it('a wrong token is an auth error (未找到访问令牌) that does not echo the token', async () => {
    const c = client({ token: 'wrong-token-abcdef' });
    const err = await caught(c.balance());
    expect(err).toBeInstanceOf(XgcAuthError);
    expect(err).toMatchObject({ msg: '未找到访问令牌' });
    expect(err.message).not.toContain('wrong-token-abcdef');
    expect(c.calls).toBe(1);
  });

  it('an action in the wrong state is an API error, sent once', async () => {
    const c = client();
    const id = await addRunning();
    const err = await caught(c.boot(id));
    expect(err).toBeInstanceOf(XgcApiError);
    expect(err).toMatchObject({ code: 1000, kind: 'generic', endpoint: '/open/instance/boot' });
    expect(errorClass(err)).toBe('api');
    expect(c.calls).toBe(1);
  });

  it('a GPU shortage is a typed gpu_shortage error; an unknown model is a generic parameter error, not a shortage', async () => {
    await sim.close();
    sim = await startSimulator({ token: TOKEN, instances: 0, speed: 0, seed: 1, gpuPool: 2 });
    const c = client();
    const image = '9c530cfd-b929-4f2d-99d9-97a6d572ac89';
    const short = await caught(c.deploy({ gpuModel: 'NVIDIA GeForce RTX 4090 D', gpuCount: 4, image }));
    expect(short).toBeInstanceOf(XgcGpuShortageError);
    expect(short).toMatchObject({ kind: 'gpu_shortage', msg: '可用GPU不足' });
    const model = await caught(c.deploy({ gpuModel: 'NVIDIA H100', gpuCount: 1, image }));
    expect(model).not.toBeInstanceOf(XgcGpuShortageError); // retrying will not make an H100 appear
    expect(model).toMatchObject({ kind: 'generic', code: 1000, msg: '参数错误: gpu_model' });
    expect(c.calls).toBe(2);
  });

  it('a closed port is a network error after the GET retries', async () => {
    const port = await closedPort();
    const c = new XgcClient({ baseUrl: `http://127.0.0.1:${port}`, token: TOKEN, retries: 2, retryBaseMs: 1 });
    const err = await caught(c.balance());
    expect(err).toBeInstanceOf(XgcNetworkError);
    expect(err).toMatchObject({ causeCode: 'ECONNREFUSED' });
    expect(errorClass(err)).toBe('network');
    expect(c.calls).toBe(3);
  });

  it('the timeout fault with a short client timeout is a timeout error after the GET retries', async () => {
    await faults({ timeout_rate: 1 });
    const c = client({ timeoutMs: 150, retries: 1 });
    const err = await caught(c.listInstances());
    expect(err).toBeInstanceOf(XgcTimeoutError);
    expect(errorClass(err)).toBe('timeout');
    expect(c.calls).toBe(2);
  });

  it('the malformed fault is a protocol error after the GET retries, with no body in the message', async () => {
    await faults({ malformed_rate: 1 });
    const c = client({ retries: 2 });
    const err = await caught(c.listInstances());
    expect(err).toBeInstanceOf(XgcProtocolError);
    expect(errorClass(err)).toBe('protocol');
    expect(err.message).not.toContain('"list"');
    expect(c.calls).toBe(3);
  });

  it('HTTP 500 on every try fails typed with the status after the retries', async () => {
    await faults({ http_500_rate: 1 });
    const c = client({ retries: 3 });
    const err = await caught(c.balance());
    expect(err).toBeInstanceOf(XgcApiError);
    expect(err).toMatchObject({ httpStatus: 500, kind: 'http' });
    expect(err.message).toContain('500 Internal Server Error');
    expect(c.calls).toBe(4);
  });

  it('intermittent HTTP 500s are retried until the GET succeeds', async () => {
    await faults({ http_500_rate: 0.5 });
    const c = client({ retries: 10 });
    for (let n = 0; n < 10; n++) expect(await c.balance()).toBeGreaterThan(0);
    expect(c.calls).toBeGreaterThan(10);
  });

  it('the busy error (code 1000) is an API error and is not retried', async () => {
    await faults({ error_rate: 1 });
    const c = client();
    const err = await caught(c.listInstances());
    expect(err).toBeInstanceOf(XgcApiError);
    expect(err).toMatchObject({ code: 1000, kind: 'generic' });
    expect(c.calls).toBe(1);
  });

  it('the token error fault is an auth error and is not retried', async () => {
    await faults({ token_error_rate: 1 });
    const c = client();
    await expect(c.balance()).rejects.toBeInstanceOf(XgcAuthError);
    expect(c.calls).toBe(1);
  });

  it('latency below the timeout only slows the answer; above it, the call times out', async () => {
    await faults({ latency_ms: 250, endpoints: ['/open/balance'] });
    const slow = client({ timeoutMs: 3000 });
    const t0 = performance.now();
    expect(await slow.balance()).toBeGreaterThan(0);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(240);
    expect(slow.calls).toBe(1);
    const impatient = client({ timeoutMs: 100, retries: 0 });
    await expect(impatient.balance()).rejects.toBeInstanceOf(XgcTimeoutError);
    // other endpoints are untouched by an endpoint-scoped fault
    const fast = client({ timeoutMs: 100, retries: 0 });
    expect((await fast.listInstances()).length).toBeGreaterThan(0);
  });
});

describe('xgc client never blindly retries actions', () => {
  it('a POST hit by HTTP 500 is sent once, then one GET reports the instance still running', async () => {
    const id = await addRunning();
    await faults({ http_500_rate: 1, endpoints: ['/open/instance/shutdown_release_gpu'] });
    const c = client();
    const err = await caught(c.shutdownReleaseGpu(id));
    expect(err).toBeInstanceOf(XgcActionUncertain);
    const u = err as XgcActionUncertain;
    expect(u).toMatchObject({ action: 'shutdownReleaseGpu', instanceId: id, observedStatus: 'running', seemsApplied: false });
    expect(u.cause).toBeInstanceOf(XgcApiError);
    expect(errorClass(u)).toBe('api');
    expect(c.calls).toBe(2);
  });

  it('a POST that times out is sent once and followed by one GET', async () => {
    const id = await addRunning();
    await faults({ timeout_rate: 1, endpoints: ['/open/instance/destroy'] });
    const c = client({ timeoutMs: 150 });
    const err = (await caught(c.destroy(id))) as XgcActionUncertain;
    expect(err).toBeInstanceOf(XgcActionUncertain);
    expect(err.cause).toBeInstanceOf(XgcTimeoutError);
    expect(errorClass(err)).toBe('timeout');
    expect(err).toMatchObject({ observedStatus: 'running', seemsApplied: false });
    expect(c.calls).toBe(2);
  });

  it('a POST to an unreachable cloud is sent once; the follow-up GET cannot tell', async () => {
    const port = await closedPort();
    const c = new XgcClient({ baseUrl: `http://127.0.0.1:${port}`, token: TOKEN, retries: 1, retryBaseMs: 1 });
    const err = (await caught(c.shutdown('abcd1234efgh5678'))) as XgcActionUncertain;
    expect(err).toBeInstanceOf(XgcActionUncertain);
    expect(err.cause).toBeInstanceOf(XgcNetworkError);
    expect(err).toMatchObject({ observedStatus: null, seemsApplied: null });
    expect(c.calls).toBe(1 + 2); // one POST, one GET plus its retry
  });

  it('a deploy hit by a fault is never re-sent and has no id to check', async () => {
    await faults({ http_500_rate: 1, endpoints: ['/open/instance/deploy'] });
    const before = (await truth()).length;
    const c = client();
    const err = (await caught(
      c.deploy({ gpuModel: 'NVIDIA GeForce RTX 4090 D', gpuCount: 1, image: '9c530cfd-b929-4f2d-99d9-97a6d572ac89' }),
    )) as XgcActionUncertain;
    expect(err).toBeInstanceOf(XgcActionUncertain);
    expect(err).toMatchObject({ action: 'deploy', instanceId: null, seemsApplied: null });
    expect(c.calls).toBe(1);
    expect((await truth()).length).toBe(before);
  });
});

describe('xgc client keeps secrets out of errors', () => {
  it('no error message from any fault or refusal contains a token, password or key', async () => {
    const id = await addRunning();
    const messages: string[] = [];
    const collect = async (p: Promise<unknown>) => messages.push((await caught(p)).message);
    await collect(client({ token: '' }).listInstances());
    await collect(client({ token: 'bad-token-000000' }).listInstances());
    await collect(client().boot(id));
    for (const f of [{ malformed_rate: 1 }, { http_500_rate: 1 }, { error_rate: 1 }, { token_error_rate: 1 }]) {
      await faults(f);
      await collect(client({ retries: 0 }).listInstances());
      await collect(client({ retries: 0 }).getInstance(id));
      await collect(client({ retries: 0 }).shutdown(id));
    }
    expect(messages.length).toBe(15);
    await faults({});
    await expectNoSecrets(messages.join('\n'));
    expect(messages.join('\n')).not.toContain('bad-token-000000');
  });
});

/** A port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}
