/**
 * Fidelity of the simulator to the live XianGong Open API (issue 41): each block pins one point where the
 * simulator used to differ from the documented or observed platform. Everything goes over real HTTP, as a client.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { startSimulator, type RunningSim } from '../../src/sim/index.js';
import { openCall, type Env } from './open-client.js';

const TOKEN = 'tok-fidelity';
const T0 = Date.UTC(2025, 2, 3, 0, 0, 0);
const COMFY_IMAGE = 'decbfd43-8963-434a-a42d-9df6ee0bae0f';
const GPU = 'NVIDIA GeForce RTX 4090 D';
const GiB = 1024 ** 3;

let sim: RunningSim;
let clock: ManualClock;

function open(path: string, init: { method?: string; body?: unknown; auth?: string | null } = {}): Promise<Env> {
  return openCall(sim.url, TOKEN, path, init);
}

async function control(path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${sim.url}/sim${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

async function advance(seconds: number): Promise<void> {
  const r = await control('/clock/advance', { seconds });
  expect(r.status).toBe(200);
}

async function deploy(extra: Record<string, unknown> = {}): Promise<Env> {
  return open('/instance/deploy', { body: { gpu_model: GPU, gpu_count: 1, data_center_id: 1, image: COMFY_IMAGE, image_type: 'public', ...extra } });
}

beforeAll(async () => {
  clock = new ManualClock(T0);
  sim = await startSimulator({ token: TOKEN, clock, instances: 3, seed: 41, balance: 1000, ssh: false });
});
afterAll(async () => {
  await sim.close();
});

describe('1. storage_mount_path', () => {
  it('a deploy with storage: true reports its storage_mount_path; without storage the default stays', async () => {
    const withStorage = await deploy({ storage: true, storage_mount_path: '/mnt/mystore' });
    expect(withStorage.code).toBe(200);
    const plain = await deploy();
    expect(plain.code).toBe(200);
    expect((await open(`/instance/${withStorage.data.id}`)).data.storage_mount_path).toBe('/mnt/mystore');
    expect((await open(`/instance/${plain.data.id}`)).data.storage_mount_path).toBe('/root/cloud');
  });
});

describe('2. retained disk is billed by USED space', () => {
  const find = async (id: string) => (await control('/state')).body.instances.find((i: { id: string }) => i.id === id);

  it('retain_size is the used bytes (image + written), retain_price used GB x ¥0.00003/h, and the ledger follows', async () => {
    const { data } = await deploy(); // SD_ComfyUI 老白 v1.9: a 20 GB image
    await advance(60);
    expect((await open('/instance/shutdown_release_gpu', { body: { id: data.id } })).code).toBe(200);
    await advance(60);
    let inst = (await open(`/instance/${data.id}`)).data;
    expect(inst).toMatchObject({ status: 'shutdown', gpu_used: 0, retain: 1, system_disk_size: 30 * GiB });
    expect(inst.retain_size).toBe(20 * GiB);
    expect(inst.retain_price).toBeCloseTo(20 * 0.00003, 10);

    // the user wrote 5 GB more
    const set = await control(`/instances/${data.id}`, { disk_used_gb: 25 });
    expect(set.status).toBe(200);
    inst = (await open(`/instance/${data.id}`)).data;
    expect(inst.retain_size).toBe(25 * GiB);
    expect(inst.retain_price).toBeCloseTo(25 * 0.00003, 10);
    const before = (await find(data.id)).billed as number;
    await advance(10 * 3600);
    const after = (await find(data.id)).billed as number;
    expect(after - before).toBeCloseTo(10 * 25 * 0.00003, 9);

    expect((await control(`/instances/${data.id}`, { disk_used_bytes: 3 * GiB })).status).toBe(200);
    expect((await open(`/instance/${data.id}`)).data.retain_size).toBe(3 * GiB);
  });

  it('refuses a used size outside 0..system disk, naming the field and the limit', async () => {
    const { data } = await deploy();
    for (const body of [{ disk_used_gb: -1 }, { disk_used_gb: 31 }, { disk_used_gb: 'x' }, { disk_used_bytes: 1.5 }, { disk_used_bytes: 31 * GiB }]) {
      const r = await control(`/instances/${data.id}`, body);
      expect(r.status).toBe(400);
      expect(r.body.error.message).toContain(Object.keys(body)[0]);
    }
  });
});

describe('3. progress of a destroyed instance', () => {
  it('stays at 100 while destroyed (the destroy finished), until it leaves the list', async () => {
    const { data } = await deploy();
    await advance(60);
    expect((await open('/instance/destroy', { body: { id: data.id } })).code).toBe(200);
    await advance(10); // destroying takes 10 s
    const seen: number[] = [];
    for (let k = 0; k < 4; k++) {
      const inst = (await open(`/instance/${data.id}`)).data;
      expect(inst.status).toBe('destroyed');
      seen.push(inst.progress);
      await advance(14);
    }
    expect(seen).toEqual([100, 100, 100, 100]);
  });
});

describe('4. auto_shutdown / auto_shutdown_action are integers', () => {
  // the fields a Go client written against the live API decodes as int / int64 (encoding/json refuses false or "")
  const GO_INTS = [
    'create_timestamp', 'gpu_used', 'cpu_core_count', 'memory_size', 'system_disk_size', 'data_disk_size',
    'expandable_data_disk_size', 'start_timestamp', 'stop_timestamp', 'progress', 'auto_shutdown', 'auto_shutdown_action',
  ];
  const decodeStrictly = (inst: Record<string, unknown>) => {
    for (const f of GO_INTS) {
      const v = inst[f];
      if (typeof v !== 'number' || !Number.isInteger(v)) throw new Error(`${f}: cannot decode ${JSON.stringify(v)} into int`);
    }
  };

  it('every listed instance decodes as the Go client would; 0 = off by default', async () => {
    const list = (await open('/instances')).data.list as Array<Record<string, unknown>>;
    expect(list.length).toBeGreaterThan(0);
    for (const inst of list) {
      expect(() => decodeStrictly(inst)).not.toThrow();
      expect(inst).toMatchObject({ auto_shutdown: 0, auto_shutdown_action: 0 });
    }
  });

  it('is settable per instance through POST /sim/instances/:id and bounded', async () => {
    const { data } = await deploy();
    const r = await control(`/instances/${data.id}`, { auto_shutdown: 1, auto_shutdown_action: 2 });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ auto_shutdown: 1, auto_shutdown_action: 2 });
    const inst = (await open(`/instance/${data.id}`)).data;
    expect(inst).toMatchObject({ auto_shutdown: 1, auto_shutdown_action: 2 });
    decodeStrictly(inst);
    for (const body of [{ auto_shutdown: true }, { auto_shutdown: 2 }, { auto_shutdown_action: 4 }, { auto_shutdown_action: -1 }, { auto_shutdown_action: '1' }]) {
      const bad = await control(`/instances/${data.id}`, body);
      expect(bad.status).toBe(400);
      expect(bad.body.error.message).toContain(Object.keys(body)[0]);
    }
  });
});

describe('5. a missing or unknown gpu_model is a parameter error, not a shortage', () => {
  it('answers 参数错误: gpu_model (code 1000) for no model, an unknown model and a non-string; a known model deploys', async () => {
    const base = { gpu_count: 1, data_center_id: 1, image: COMFY_IMAGE, image_type: 'public' };
    for (const gpu_model of [undefined, '', 'NVIDIA H100', 'NVIDIA A100 80G', 42]) {
      const r = await open('/instance/deploy', { body: { ...base, gpu_model } });
      expect(r, String(gpu_model)).toMatchObject({ code: 1000, success: false, msg: '参数错误: gpu_model' });
      expect(r.msg).not.toContain('GPU型号暂时不可用');
    }
    expect((await open('/instance/deploy', { body: { ...base, gpu_model: GPU } })).code).toBe(200);
  });

  it('a boot of a released instance with an unknown gpu_model is a parameter error too', async () => {
    const { data } = await deploy();
    await advance(60);
    await open('/instance/shutdown_release_gpu', { body: { id: data.id } });
    await advance(60);
    expect(await open('/instance/boot', { body: { id: data.id, gpu_model: 'NVIDIA H100' } })).toMatchObject({ code: 1000, msg: '参数错误: gpu_model' });
  });
});

describe('6. image ids', () => {
  const NEWER_PUBLIC = '02b564d3-9510-4f80-b56d-409900dab8da'; // newer than the docs' table: the default of two public clients
  const REMOVED = '0b1d7f3e-2c4a-4e59-8f61-7d2a9c3e5b10'; // the simulator's one removed public image
  const PRIVATE = '7f0c2a9e-51d4-4b8e-a3c6-2e9d81f4b705';

  it('accepts any UUID as a public image id, except a removed one (镜像不存在)', async () => {
    const r = await deploy({ image: NEWER_PUBLIC });
    expect(r.code).toBe(200);
    expect((await open(`/instance/${r.data.id}`)).data).toMatchObject({ image_id: NEWER_PUBLIC, image_type: 'public' });
    expect(await deploy({ image: REMOVED })).toMatchObject({ code: 1000, msg: '镜像不存在' });
  });

  it('a private or community image id must be a UUID too, else 参数错误: image', async () => {
    const ok = await deploy({ image: PRIVATE, image_type: 'private' });
    expect(ok.code).toBe(200);
    expect((await open(`/instance/${ok.data.id}`)).data).toMatchObject({ image_id: PRIVATE, image_type: 'private' });
    for (const image_type of ['private', 'community', 'public']) {
      for (const image of ['my-image', 'x'.repeat(5000), '02b564d3-9510-4f80-b56d-409900dab8d']) {
        expect(await deploy({ image, image_type }), `${image_type} ${image.slice(0, 40)}`).toMatchObject({ code: 1000, msg: '参数错误: image' });
      }
    }
    expect(await deploy({ image: PRIVATE, image_type: 'secret' })).toMatchObject({ code: 1000, msg: '参数错误: image_type' });
  });
});

describe('7. bounded sizes and counts', () => {
  it('refuses a negative, fractional or absurd system_disk_expand_size with 参数错误 naming it; a sane one expands the disk', async () => {
    for (const size of [-1e12, -1, 1e300, 1.5, 2 * 1024 ** 4, '1e300', 'abc']) {
      const r = await deploy({ system_disk_expand: true, system_disk_expand_size: size });
      expect(r, String(size)).toMatchObject({ code: 1000, msg: '参数错误: system_disk_expand_size' });
    }
    const ok = await deploy({ system_disk_expand: true, system_disk_expand_size: 100 * GiB });
    expect(ok.code).toBe(200);
    expect((await open(`/instance/${ok.data.id}`)).data.system_disk_size).toBe(130 * GiB);
    const bal = (await open('/balance')).data.balance;
    expect(Number.isFinite(bal)).toBe(true);
  });

  it('refuses counts and ids outside the documented ranges, naming the field', async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ gpu_count: 9 }, 'gpu_count'],
      [{ gpu_count: -1 }, 'gpu_count'],
      [{ gpu_count: 1e300 }, 'gpu_count'],
      [{ gpu_count: 1.5 }, 'gpu_count'],
      [{ data_center_id: 1.5 }, 'data_center_id'],
      [{ data_center_id: -1 }, 'data_center_id'],
      [{ name: 'n'.repeat(200) }, 'name'],
    ];
    for (const [extra, field] of cases) {
      expect(await deploy(extra), JSON.stringify(extra)).toMatchObject({ code: 1000, msg: `参数错误: ${field}` });
    }
    expect(await deploy({ data_center_id: 7 })).toMatchObject({ code: 1000, msg: '数据中心不存在' });
  });
});

describe('8. bounded /sim control inputs', () => {
  const refused = async (path: string, body: unknown, field: string, limit: string) => {
    const started = Date.now();
    const r = await control(path, body);
    expect(Date.now() - started, `${path} ${JSON.stringify(body)} answered late`).toBeLessThan(2_000);
    expect(r.status, `${path} ${JSON.stringify(body)}`).toBe(400);
    expect(typeof r.body.error.code).toBe('string');
    expect(r.body.error.message).toContain(field);
    expect(r.body.error.message).toContain(limit);
  };

  it('a clock step is at most 30 days, and 30 days answers (a hang fails by the test timeout)', async () => {
    await refused('/clock/advance', { seconds: 1e308 }, 'seconds', '2592000');
    await refused('/clock/advance', { seconds: 1e12 }, 'seconds', '2592000');
    await refused('/clock/advance', { seconds: 30 * 86400 + 1 }, 'seconds', '2592000');
    await refused('/clock/advance', { seconds: -1 }, 'seconds', '2592000');
    const before = (await control('/clock')).body.now_ms as number;
    const r = await control('/clock/advance', { seconds: 30 * 86400 });
    expect(r.status).toBe(200);
    expect(r.body.now_ms - before).toBe(30 * 86400 * 1000);
  });

  it('balance within ±1e9, speed, fault latency and the other numeric inputs are bounded', async () => {
    await refused('/balance', { balance: 1e9 + 1 }, 'balance', '1000000000');
    await refused('/balance', { balance: -1e300 }, 'balance', '1000000000');
    expect((await control('/balance', { balance: 1e9 })).status).toBe(200);
    expect((await control('/balance', { balance: -1e9 })).status).toBe(200);
    await refused('/clock', { speed: 1e300 }, 'speed', '1000000');
    await refused('/faults', { latency_ms: 1e308 }, 'latency_ms', '60000');
    await refused('/gpu-pool', { 'RTX 4090': 1e300 }, 'RTX 4090', '1000000');
    await refused('/charges', { yuan: 1e300 }, 'yuan', '1000000');
    expect((await control('/balance', { balance: 1000 })).status).toBe(200);
    const added = await control('/instances', { name: 'b', gpu_count: 1 });
    expect(added.status).toBe(201);
    await refused('/instances', { name: 'x', gpu_count: 1e300 }, 'gpu_count', '8');
    await refused('/instances', { name: 'x', gpu_util: 1e300 }, 'gpu_util', '100');
    await refused('/instances', { name: 'n'.repeat(500) }, 'name', '64');
    await refused(`/instances/${added.body.id}/activity`, { busy: true, gpu_util: -5 }, 'gpu_util', '100');
    await refused(`/instances/${added.body.id}`, { disk_used_gb: 1e300 }, 'disk_used_gb', '30');
  });
});

describe('9. everything under /open answers in the envelope, after the token check', () => {
  const paths: Array<[string, string]> = [
    ['GET', '/images'],
    ['POST', '/instance/saveimage'],
    ['GET', '/nonexistent'],
    ['PUT', '/instance/deploy'], // a known path with the wrong method (GET would read an instance named "deploy")
    ['DELETE', '/instances'],
  ];

  it('unknown routes: no token -> 访问令牌为空, wrong token -> 未找到访问令牌, valid token -> code 1000 接口不存在 (HTTP 200)', async () => {
    for (const [method, path] of paths) {
      const body = method === 'POST' ? {} : undefined;
      expect(await open(path, { method, body, auth: null }), `${method} ${path}`).toEqual({ code: 1000, msg: '访问令牌为空', success: false, data: null });
      expect(await open(path, { method, body, auth: 'Bearer wrong' }), `${method} ${path}`).toEqual({ code: 1000, msg: '未找到访问令牌', success: false, data: null });
      const r = await open(path, { method, body });
      expect(r, `${method} ${path}`).toMatchObject({ code: 1000, success: false, data: null });
      expect(r.msg).toMatch(/^接口不存在/);
    }
  });

  it('a body the server cannot parse is still an envelope, after the token check', async () => {
    const send = async (auth?: string) =>
      fetch(`${sim.url}/open/instance/deploy`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(auth ? { authorization: auth } : {}) },
        body: '{"gpu_model": ',
      });
    let res = await send();
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ code: 1000, msg: '访问令牌为空' });
    res = await send(`Bearer ${TOKEN}`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ code: 1000, success: false, msg: expect.stringMatching(/^参数错误/) });
  });
});
