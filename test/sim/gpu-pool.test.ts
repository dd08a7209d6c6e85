/**
 * The GPU pool per model (`GET|POST /sim/gpu-pool`) and CPU-only (`gpu_count: 0`) boots and deploys, over HTTP.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { CPU_ONLY_PRICE, startSimulator, type RunningSim } from '../../src/sim/index.js';
import { apiAccess, connect, run } from './ssh-client.js';

const TOKEN = 'tok-pool';
const T0 = Date.UTC(2026, 10, 2, 0, 0, 0);
const IMAGE = '9c530cfd-b929-4f2d-99d9-97a6d572ac89';
// the disk rate is the USED system disk at ¥0.00003/GB/h: this SD_WebUI 老白 image uses 18 GB
const DISK_RATE = 18 * 0.00003;
let sim: RunningSim;

async function ctl(path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const r = await fetch(`${sim.url}${path}`, body === undefined ? {} : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: r.status, json: await r.json() };
}
async function open(path: string, body: Record<string, unknown>): Promise<any> {
  const r = await fetch(`${sim.url}/open${path}`, { method: 'POST', headers: { authorization: TOKEN, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return r.json();
}
const inst = async (id: string) => ((await (await fetch(`${sim.url}/open/instance/${id}`, { headers: { authorization: TOKEN } })).json()) as any).data;
const advance = (s: number) => ctl('/sim/clock/advance', { seconds: s });

beforeAll(async () => {
  sim = await startSimulator({ token: TOKEN, clock: new ManualClock(T0), instances: 0, seed: 9, gpuPool: 50 });
});
afterAll(async () => {
  await sim.close();
});

describe('GPU pool per model', () => {
  it('GET shows free GPUs per model; POST sets some models and leaves the others; names may be full or short', async () => {
    expect((await ctl('/sim/gpu-pool')).json).toEqual({ 'RTX 4090 D': 50, 'RTX 4090': 50, 'RTX 4090 D 48G': 50, 'RTX 4090 48G': 50 });
    const set = await ctl('/sim/gpu-pool', { 'NVIDIA GeForce RTX 4090 D': 0, 'RTX 4090': 3 });
    expect(set.json).toEqual({ 'RTX 4090 D': 0, 'RTX 4090': 3, 'RTX 4090 D 48G': 50, 'RTX 4090 48G': 50 });
  });

  it('deploy and boot take from their model: 可用GPU不足 when it is short, another model still works; a release gives back', async () => {
    await ctl('/sim/gpu-pool', { 'RTX 4090 D': 0, 'RTX 4090': 3 });
    expect(await open('/instance/deploy', { gpu_model: 'NVIDIA GeForce RTX 4090 D', gpu_count: 1, image: IMAGE })).toMatchObject({ code: 1000, msg: '可用GPU不足' });
    const dep = await open('/instance/deploy', { gpu_model: 'NVIDIA GeForce RTX 4090', gpu_count: 2, image: IMAGE });
    expect(dep).toMatchObject({ code: 200 });
    expect((await ctl('/sim/gpu-pool')).json['RTX 4090']).toBe(1);
    await advance(60);
    expect(await inst(dep.data.id)).toMatchObject({ status: 'running', gpu_used: 2 });
    await open('/instance/shutdown_release_gpu', { id: dep.data.id });
    await advance(60);
    expect((await ctl('/sim/gpu-pool')).json['RTX 4090']).toBe(3);
    // boot after release: its old model has 3 free now, but ask for the short one
    expect(await open('/instance/boot', { id: dep.data.id, gpu_model: 'NVIDIA GeForce RTX 4090 D' })).toMatchObject({ msg: '可用GPU不足' });
    expect(await open('/instance/boot', { id: dep.data.id, gpu_model: 'NVIDIA GeForce RTX 4090', gpu_count: '1' })).toMatchObject({ code: 200 });
    expect((await ctl('/sim/gpu-pool')).json['RTX 4090']).toBe(2);
  });

  it('bad input names the key and changes nothing', async () => {
    const before = (await ctl('/sim/gpu-pool')).json;
    const bad = await ctl('/sim/gpu-pool', { 'RTX 4090': 5, 'H100 80G': 2 });
    expect(bad.status).toBe(400);
    expect(bad.json.error.message).toMatch(/^H100 80G: unknown GPU model/);
    const neg = await ctl('/sim/gpu-pool', { 'RTX 4090': -1 });
    expect(neg.json.error.message).toMatch(/^RTX 4090: free GPUs must be an integer/);
    expect((await ctl('/sim/gpu-pool')).json).toEqual(before);
  });
});

describe('gpu_count 0 (CPU only, to reach the files)', () => {
  it('deploy with gpu_count 0 takes no GPU, shows gpu_used 0, costs the disk rate plus the CPU-only rate; nvidia-smi finds no devices', async () => {
    await ctl('/sim/gpu-pool', { 'RTX 4090 D': 0 });
    const dep = await open('/instance/deploy', { gpu_model: 'NVIDIA GeForce RTX 4090 D', gpu_count: 0, image: IMAGE });
    expect(dep).toMatchObject({ code: 200 });
    await advance(60);
    const i = await inst(dep.data.id);
    expect(i).toMatchObject({ status: 'running', gpu_used: 0, price_per_hour: CPU_ONLY_PRICE + DISK_RATE });
    const truth = ((await ctl('/sim/state')).json.instances as any[]).find((x) => x.id === dep.data.id);
    expect(truth.rate).toBeCloseTo(CPU_ONLY_PRICE + DISK_RATE, 10);
    const a = (await apiAccess(sim.url, TOKEN)).get(dep.data.id)!;
    const { client } = await connect(a);
    try {
      expect(await run(client, 'nvidia-smi --query-gpu=index,utilization.gpu,memory.used,memory.total --format=csv,noheader,nounits')).toEqual({ stdout: 'No devices were found\n', stderr: '', code: 6 });
    } finally {
      client.end();
    }
  });

  it('boot of a released instance with gpu_count 0 runs without a GPU even when its model is sold out', async () => {
    const { json } = await ctl('/sim/instances', { name: 'files', gpu_model: 'RTX 4090 D', status: 'shutdown' });
    expect(await open('/instance/boot', { id: json.id })).toMatchObject({ msg: '可用GPU不足' });
    expect(await open('/instance/boot', { id: json.id, gpu_count: 0 })).toMatchObject({ code: 200 });
    await advance(30);
    expect(await inst(json.id)).toMatchObject({ status: 'running', gpu_used: 0, retain: 0 });
  });
});
