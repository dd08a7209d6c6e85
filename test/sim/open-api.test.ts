import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { startSimulator, type RunningSim } from '../../src/sim/index.js';
import { openCall, type Env } from './open-client.js';

const TOKEN = 'tok-open-api';
const T0 = Date.UTC(2025, 0, 6, 0, 0, 0);
const COMFY_IMAGE = 'decbfd43-8963-434a-a42d-9df6ee0bae0f';

let sim: RunningSim;
let clock: ManualClock;

function open(path: string, init: { method?: string; body?: unknown; auth?: string | null } = {}): Promise<Env> {
  return openCall(sim.url, TOKEN, path, init);
}

async function control(path: string, body?: unknown): Promise<any> {
  const res = await fetch(`${sim.url}/sim${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return res.json();
}

beforeAll(async () => {
  clock = new ManualClock(T0);
  sim = await startSimulator({ token: TOKEN, clock, instances: 3, seed: 11, durations: { deploy: 30, boot: 20, shutdown: 10, release: 15, destroy: 10, gone: 60 } });
});
afterAll(async () => {
  await sim.close();
});

describe('Open API token handling', () => {
  it('answers 访问令牌为空 without a token and 未找到访问令牌 with a wrong one (code 1000, HTTP 200)', async () => {
    expect(await open('/balance', { auth: null })).toMatchObject({ code: 1000, success: false, msg: '访问令牌为空' });
    expect(await open('/balance', { auth: 'Bearer ' })).toMatchObject({ code: 1000, msg: '访问令牌为空' });
    expect(await open('/balance', { auth: 'Bearer nope' })).toMatchObject({ code: 1000, success: false, msg: '未找到访问令牌' });
    expect(await open('/instances', { auth: 'nope' })).toMatchObject({ code: 1000, msg: '未找到访问令牌' });
  });

  it('accepts the token with Bearer and raw', async () => {
    expect(await open('/balance', { auth: `Bearer ${TOKEN}` })).toMatchObject({ code: 200, success: true, data: { balance: 200 } });
    expect(await open('/balance', { auth: TOKEN })).toMatchObject({ code: 200, success: true, data: { balance: 200 } });
  });

  it('whoami returns plausible user data with a masked phone', async () => {
    const r = await open('/whoami');
    expect(r.code).toBe(200);
    expect(r.data.phone).toMatch(/^\d{3}\*{4}\d{4}$/);
    expect(typeof r.data.nickname).toBe('string');
  });
});

describe('Open API instances', () => {
  it('lists the seeded mix with every documented field, 16-char ids, short GPU names and price fields', async () => {
    const r = await open('/instances');
    expect(r.data.total).toBe(3);
    expect(r.data.list).toHaveLength(3);
    const documented = (
      'id create_timestamp data_center_name name public_image gpu_model gpu_used cpu_model cpu_core_count memory_size ' +
      'system_disk_size data_disk_size expandable_data_disk_size data_disk_mount_path storage_mount_path price_per_hour ' +
      'ssh_key ssh_port ssh_user password jupyter_token jupyter_url xgcos_token xgcos_url start_timestamp stop_timestamp ' +
      'status ssh_domain web_url progress image_id image_type image_price image_save base_price retain retain_price retain_size'
    ).split(' ');
    for (const inst of r.data.list) {
      for (const f of documented) expect(inst, f).toHaveProperty(f);
      expect(inst.id).toMatch(/^[a-z0-9]{16}$/);
      expect(inst.data_center_name).toBe('浙江一区');
      // the USED system disk (image + written) at ¥0.00003/GB/h, never more than the disk
      expect(inst.retain_size).toBeGreaterThan(0);
      expect(inst.retain_size).toBeLessThanOrEqual(inst.system_disk_size);
      expect(inst.retain_price).toBeCloseTo((inst.retain_size / 1024 ** 3) * 0.00003, 10);
      expect(typeof inst.ssh_port).toBe('string');
      expect(inst.ssh_port).toMatch(/^\d{4,5}$/);
      expect(inst.ssh_domain).toBe('127.0.0.1'); // the simulator's own SSH server (the platform gives {id}.ssh.x-gpu.com)
      expect(inst.ssh_user).toBe('root');
      expect(inst.create_timestamp).toBeLessThan(1e11); // seconds, not ms
      expect(inst.create_timestamp).toBeGreaterThan(1.6e9);
      expect(['RTX 4090 D', 'RTX 4090', 'RTX 4090 D 48G', 'RTX 4090 48G']).toContain(inst.gpu_model);
    }
    const [webui, comfy, trainer] = r.data.list;
    expect(webui).toMatchObject({ name: 'sd-webui', gpu_model: 'RTX 4090 D', price_per_hour: 1.59, status: 'running', gpu_used: 1 });
    expect(webui.public_image).toMatch(/^SD_WebUI_/);
    expect(webui.web_url).toBe(`${sim.url}/c/${webui.id}-7860`);
    expect(webui.jupyter_url).toBe(`${sim.url}/c/${webui.id}-8888`);
    expect(comfy).toMatchObject({ gpu_model: 'RTX 4090', price_per_hour: 1.89 });
    expect(comfy.web_url).toBe(`${sim.url}/c/${comfy.id}-8188`);
    expect(trainer).toMatchObject({ status: 'shutdown', gpu_used: 0, price_per_hour: 3.18, retain: 1 });
    expect(trainer.public_image).toMatch(/^Miniconda3_/);
    expect(trainer.web_url).toBe(`${sim.url}/c/${trainer.id}-8888`);
  });

  it('deploys with a full GPU name, hides access details until running, then serves them', async () => {
    const dep = await open('/instance/deploy', {
      body: { gpu_model: 'NVIDIA GeForce RTX 4090 D', gpu_count: 2, data_center_id: 1, image: COMFY_IMAGE, image_type: 'public', name: 'fresh' },
    });
    expect(dep).toMatchObject({ code: 200, success: true });
    const id = dep.data.id as string;
    expect(id).toMatch(/^[a-z0-9]{16}$/);
    const d = (await open(`/instance/${id}`)).data;
    expect(d).toMatchObject({ status: 'deploying', gpu_model: 'RTX 4090 D', price_per_hour: 3.18, password: '', ssh_port: '', jupyter_url: '' });
    clock.advance(30_000);
    const r = (await open(`/instance/${id}`)).data;
    expect(r.status).toBe('running');
    expect(r.password).not.toBe('');
    expect(r.start_timestamp).toBe((T0 + 30_000) / 1000);
    const truth = await control('/state');
    expect(truth.instances.find((i: any) => i.id === id)).toMatchObject({ password: r.password, jupyter_token: r.jupyter_token });
  });

  it('runs the lifecycle over HTTP: shutdown keeps the GPU, release frees it, boot takes gpu_count as a string, destroy drops it', async () => {
    const id = (await control('/instances', { name: 'life', gpu_model: 'RTX 4090' })).id as string;
    expect(await open('/instance/shutdown', { body: { id } })).toMatchObject({ code: 200, success: true });
    expect((await open(`/instance/${id}`)).data.status).toBe('shutting_down');
    clock.advance(10_000);
    expect((await open(`/instance/${id}`)).data).toMatchObject({ status: 'shutdown', gpu_used: 1 });
    expect(await open('/instance/shutdown', { body: { id } })).toMatchObject({ code: 1000, success: false, msg: '实例当前状态不支持该操作' });
    await open('/instance/shutdown_release_gpu', { body: { id } });
    clock.advance(15_000);
    expect((await open(`/instance/${id}`)).data).toMatchObject({ status: 'shutdown', gpu_used: 0, retain: 1 });
    await open('/instance/boot', { body: { id, gpu_model: 'NVIDIA GeForce RTX 4090 D 48G', gpu_count: '2' } });
    expect((await open(`/instance/${id}`)).data).toMatchObject({ status: 'booting', gpu_used: 2, gpu_model: 'RTX 4090 D 48G', price_per_hour: 4.58 });
    clock.advance(20_000);
    expect((await open(`/instance/${id}`)).data.status).toBe('running');
    await open('/instance/shutdown_destroy', { body: { id } });
    clock.advance(10_000 + 10_000);
    expect((await open(`/instance/${id}`)).data.status).toBe('destroyed');
    clock.advance(60_000);
    expect(await open(`/instance/${id}`)).toMatchObject({ code: 1000, success: false, msg: '实例不存在' });
    const list = (await open('/instances')).data.list as Array<{ id: string }>;
    expect(list.map((i) => i.id)).not.toContain(id);
  });

  it('lists each instance as its own answer says it is, at every step of its life (the list reuses unchanged instances’ bytes)', async () => {
    const id = (await control('/instances', { name: 'listed', gpu_model: 'RTX 4090' })).id as string;
    const listed = async () => {
      const res = await fetch(`${sim.url}/open/instances`, { headers: { authorization: `Bearer ${TOKEN}` } });
      const text = await res.text();
      const env = JSON.parse(text) as Env;
      expect(env).toMatchObject({ code: 200, success: true, data: { total: env.data.list.length } });
      expect(Object.keys(env.data)).toEqual(['list', 'total']);
      return env.data.list as Array<Record<string, unknown>>;
    };
    const agree = async () => {
      const list = await listed();
      for (const item of list) expect(item).toEqual((await open(`/instance/${item.id as string}`)).data);
      return list;
    };
    await agree();
    await open('/instance/shutdown', { body: { id } });
    await agree();
    clock.advance(10_000);
    await agree();
    await open('/instance/shutdown_release_gpu', { body: { id } });
    clock.advance(15_000);
    expect((await agree()).find((i) => i.id === id)).toMatchObject({ status: 'shutdown', gpu_used: 0, retain: 1 });
    await open('/instance/boot', { body: { id } });
    clock.advance(20_000);
    expect((await agree()).find((i) => i.id === id)).toMatchObject({ status: 'running', gpu_used: 1 });
    await open('/instance/shutdown_destroy', { body: { id } });
    clock.advance(10_000 + 10_000 + 60_000);
    expect((await agree()).map((i) => i.id)).not.toContain(id);
  });

  it('answers bad deploy requests with code 1000 in Chinese', async () => {
    expect(await open('/instance/deploy', { body: { gpu_model: 'NVIDIA H100', gpu_count: 1, image: COMFY_IMAGE } })).toMatchObject({
      code: 1000,
      msg: '参数错误: gpu_model',
    });
    expect(await open('/instance/deploy', { body: { gpu_model: 'NVIDIA GeForce RTX 4090', gpu_count: 1, image: '0b1d7f3e-2c4a-4e59-8f61-7d2a9c3e5b10' } })).toMatchObject({
      code: 1000,
      msg: '镜像不存在', // the simulator's removed public image
    });
    expect(await open('/instance/deploy', { body: { gpu_model: 'NVIDIA GeForce RTX 4090', gpu_count: 1, image: 'no-such-image' } })).toMatchObject({
      code: 1000,
      msg: '参数错误: image', // not of the documented form (a UUID)
    });
    expect(await open('/instance/destroy', { body: {} })).toMatchObject({ code: 1000, msg: '参数错误' });
  });
});

describe('control API', () => {
  it('GET /sim/state carries the ledger, balance and the secrets', async () => {
    const s = await control('/state');
    expect(s.now_ms).toBe(clock.now());
    expect(s.now).toBe(new Date(clock.now()).toISOString());
    expect(typeof s.balance).toBe('number');
    for (const i of s.instances) {
      for (const f of ['id', 'name', 'status', 'gpu_used', 'gpu_model', 'price_per_hour', 'retain_price', 'busy', 'gpu_util', 'billed', 'password', 'jupyter_token', 'xgcos_token', 'image', 'auto_destroyed']) {
        expect(i, f).toHaveProperty(f);
      }
    }
  });

  it('POST /sim/clock/advance moves the manual clock; billing follows over HTTP', async () => {
    const id = (await control('/instances', { name: 'meter', gpu_model: 'RTX 4090 D', gpu_count: 1 })).id as string;
    const before = (await control('/state')).instances.find((i: any) => i.id === id).billed;
    expect(before).toBe(0);
    const adv = await control('/clock/advance', { seconds: 3600 });
    expect(adv.now_ms).toBe(clock.now());
    const after = (await control('/state')).instances.find((i: any) => i.id === id).billed;
    expect(after).toBeCloseTo(1.59, 10);
  });

  it('POST /sim/balance recharges, and GET /open/balance shows it', async () => {
    const r = await control('/balance', { balance: 1234.5 });
    expect(r.balance).toBe(1234.5);
    expect((await open('/balance')).data.balance).toBe(1234.5);
    expect((await control('/state')).recharged_total).toBeGreaterThan(0);
  });

  it('POST /sim/charges takes money spent outside instances: the balance falls and the ledger books it apart from instances', async () => {
    const before = await control('/state');
    const r = await control('/charges', { yuan: 81.25, note: 'storage' });
    expect(r.balance).toBeCloseTo(before.balance - 81.25, 6);
    expect((await open('/balance')).data.balance).toBeCloseTo(r.balance, 6);
    const after = await control('/state');
    expect(after.charges.at(-1)).toMatchObject({ kind: 'outside_instances', yuan: 81.25, note: 'storage' });
    expect(after.charged_outside_total).toBe(before.charged_outside_total + 81.25);
    expect(after.accrued_total).toBeCloseTo(before.accrued_total, 2); // no instance accrued it
    for (const [body, msg] of [
      [{ yuan: 0 }, /yuan must be a number > 0 and <= 1000000/],
      [{ yuan: 2_000_000 }, /<= 1000000/],
      [{ yuan: '5' }, /yuan must be a number/],
      [{ yuan: 1, note: 'x'.repeat(201) }, /at most 200/],
    ] as const) {
      const res = await fetch(`${sim.url}/sim/charges`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      expect(res.status).toBe(400);
      expect(((await res.json()) as any).error.message).toMatch(msg);
    }
    expect((await control('/state')).charges).toHaveLength(after.charges.length); // nothing booked from a refused charge
  });
});

describe('simulator clock speed', () => {
  it('speed 0 freezes the built-in clock until advanced; speed K runs K times faster', async () => {
    const s = await startSimulator({ token: 't', instances: 0, speed: 0 });
    try {
      const a = (await (await fetch(`${s.url}/sim/clock`)).json()) as { now_ms: number; speed: number };
      expect(a.speed).toBe(0);
      await new Promise((r) => setTimeout(r, 30));
      const b = (await (await fetch(`${s.url}/sim/clock`)).json()) as { now_ms: number };
      expect(b.now_ms).toBe(a.now_ms);
      const post = (path: string, body: unknown) =>
        fetch(`${s.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }).then(
          (r) => r.json() as Promise<{ now_ms: number; speed: number }>,
        );
      const c = await post('/sim/clock/advance', { seconds: 7200 });
      expect(c.now_ms).toBe(a.now_ms + 7_200_000);
      const d = await post('/sim/clock', { speed: 1000 });
      expect(d.speed).toBe(1000);
      await new Promise((r) => setTimeout(r, 50));
      const e = (await (await fetch(`${s.url}/sim/clock`)).json()) as { now_ms: number };
      expect(e.now_ms - d.now_ms).toBeGreaterThanOrEqual(40_000);
    } finally {
      await s.close();
    }
  });
});
