/**
 * Fidelity of the simulator to the live XianGong Open API (issue 41): each block pins one point where the
 * simulator used to differ from the documented or observed platform. Everything goes over real HTTP, as a client.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { startSimulator, type RunningSim } from '../../src/sim/index.js';

const TOKEN = 'tok-fidelity';
const T0 = Date.UTC(2025, 2, 3, 0, 0, 0);
const COMFY_IMAGE = 'decbfd43-8963-434a-a42d-9df6ee0bae0f';
const GPU = 'NVIDIA GeForce RTX 4090 D';
const GiB = 1024 ** 3;

let sim: RunningSim;
let clock: ManualClock;

type Env = { code: number; msg: string; success: boolean; data: any };

async function open(path: string, init: { method?: string; body?: unknown; auth?: string | null } = {}): Promise<Env> {
  const headers: Record<string, string> = {};
  const auth = init.auth === undefined ? `Bearer ${TOKEN}` : init.auth;
  if (auth !== null) headers.authorization = auth;
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${sim.url}/open${path}`, {
    method: init.method ?? (init.body !== undefined ? 'POST' : 'GET'),
    headers,
    body: init.body !== undefined ? JSON.stringify(init.body) : undefined,
  });
  expect(res.status).toBe(200);
  return (await res.json()) as Env;
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
