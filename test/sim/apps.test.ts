import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { runSimCli } from '../../src/sim/cli.js';
import { startSimulator, type RunningSim } from '../../src/sim/index.js';

const TOKEN = 'tok-apps';
const T0 = Date.UTC(2025, 0, 6, 8, 0, 0);
let sim: RunningSim;
let clock: ManualClock;

async function post(path: string, body: unknown): Promise<any> {
  const r = await fetch(`${sim.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return r.json();
}

async function openInstance(id: string): Promise<any> {
  const r = await fetch(`${sim.url}/open/instance/${id}`, { headers: { authorization: TOKEN } });
  return ((await r.json()) as { data: any }).data;
}

const iso = (ms: number) => new Date(ms).toISOString();

beforeAll(async () => {
  clock = new ManualClock(T0);
  sim = await startSimulator({ token: TOKEN, clock, instances: 0 });
});
afterAll(async () => {
  await sim.close();
});

describe('Jupyter endpoints', () => {
  it('require the instance token (query or "Authorization: token T"), 403 otherwise', async () => {
    const { id } = await post('/sim/instances', { name: 'j', image: 'Jupyter' });
    const inst = await openInstance(id);
    expect(inst.jupyter_url).toBe(`${sim.url}/c/${id}-8888`);
    expect(inst.web_url).toBe(inst.jupyter_url);
    expect((await fetch(`${inst.jupyter_url}/api/kernels`)).status).toBe(403);
    expect((await fetch(`${inst.jupyter_url}/api/kernels?token=wrong`)).status).toBe(403);
    expect((await fetch(`${inst.jupyter_url}/api/kernels?token=${inst.jupyter_token}`)).status).toBe(200);
    const r = await fetch(`${inst.jupyter_url}/api/status`, { headers: { authorization: `token ${inst.jupyter_token}` } });
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({ connections: 0, kernels: 1 });
  });

  it('kernel state, last_activity and connections follow the activity set by the control API', async () => {
    const { id } = await post('/sim/instances', { name: 'nb', image: 'Jupyter' });
    const inst = await openInstance(id);
    const get = async (p: string) => (await fetch(`${inst.jupyter_url}${p}?token=${inst.jupyter_token}`)).json() as Promise<any>;
    const addedAt = clock.now();

    let [k] = await get('/api/kernels');
    expect(k).toMatchObject({ execution_state: 'idle', connections: 0, last_activity: iso(addedAt) });

    await post(`/sim/instances/${id}/activity`, { busy: true, gpu_util: 88 });
    clock.advance(600_000);
    [k] = await get('/api/kernels');
    expect(k).toMatchObject({ execution_state: 'busy', connections: 1, last_activity: iso(clock.now()) });
    const [sess] = await get('/api/sessions');
    expect(sess.kernel.execution_state).toBe('busy');
    expect(Array.isArray(await get('/api/terminals'))).toBe(true);

    await post(`/sim/instances/${id}/activity`, { busy: false });
    const endedAt = clock.now();
    clock.advance(1_800_000);
    [k] = await get('/api/kernels');
    expect(k).toMatchObject({ execution_state: 'idle', connections: 0, last_activity: iso(endedAt) });
    expect((await get('/api/status')).last_activity).toBe(iso(endedAt));

    const state = (await (await fetch(`${sim.url}/sim/state`)).json()) as any;
    expect(state.instances.find((i: any) => i.id === id)).toMatchObject({ busy: false, gpu_util: 0 });
  });

  it('answer 502 unless the instance is running', async () => {
    const { id } = await post('/sim/instances', { name: 'off', image: 'Jupyter' });
    const inst = await openInstance(id);
    const url = `${inst.jupyter_url}/api/kernels?token=${inst.jupyter_token}`;
    expect((await fetch(url)).status).toBe(200);
    await fetch(`${sim.url}/open/instance/shutdown_release_gpu`, {
      method: 'POST',
      headers: { authorization: TOKEN, 'content-type': 'application/json' },
      body: JSON.stringify({ id }),
    });
    expect((await fetch(url)).status).toBe(502);
    expect((await fetch(`${sim.url}/c/zzzzzzzzzzzzzzzz-8888/api/kernels`)).status).toBe(502);
  });
});

describe('ComfyUI endpoints', () => {
  it('/queue shows a running item while busy and nothing while idle; /system_stats answers', async () => {
    const { id } = await post('/sim/instances', { name: 'comfy', image: 'ComfyUI', busy: true });
    const inst = await openInstance(id);
    expect(inst.public_image).toMatch(/^SD_ComfyUI_/);
    expect(inst.web_url).toBe(`${sim.url}/c/${id}-8188`);
    let q = (await (await fetch(`${inst.web_url}/queue`)).json()) as any;
    expect(q.queue_running).toHaveLength(1);
    expect(q.queue_running[0]).toHaveLength(5);
    expect(q.queue_pending).toEqual([]);
    await post(`/sim/instances/${id}/activity`, { busy: false });
    q = (await (await fetch(`${inst.web_url}/queue`)).json()) as any;
    expect(q).toEqual({ queue_running: [], queue_pending: [] });
    const stats = (await (await fetch(`${inst.web_url}/system_stats`)).json()) as any;
    expect(stats.devices[0].type).toBe('cuda');
    expect(stats.system.os).toBe('posix');
    expect((await fetch(`${sim.url}/c/${id}-7860/sdapi/v1/progress`)).status).toBe(502);
  });
});

describe('SD WebUI endpoints', () => {
  it('/sdapi/v1/progress reports a job while busy and job_count 0 while idle', async () => {
    const { id } = await post('/sim/instances', { name: 'webui', image: 'WebUI' });
    const inst = await openInstance(id);
    expect(inst.web_url).toBe(`${sim.url}/c/${id}-7860`);
    let p = (await (await fetch(`${inst.web_url}/sdapi/v1/progress`)).json()) as any;
    expect(p.state.job_count).toBe(0);
    expect(p).toHaveProperty('eta_relative');
    expect(p).toHaveProperty('current_image');
    expect(p).toHaveProperty('textinfo');
    await post(`/sim/instances/${id}/activity`, { busy: true });
    clock.advance(12_000);
    p = (await (await fetch(`${inst.web_url}/sdapi/v1/progress`)).json()) as any;
    expect(p.state.job_count).toBeGreaterThan(0);
    expect(p.progress).toBeCloseTo(0.4, 3);
    expect(Object.keys(p.state).sort()).toEqual(
      ['interrupted', 'job', 'job_count', 'job_no', 'job_timestamp', 'sampling_step', 'sampling_steps', 'skipped'].sort(),
    );
    expect((await fetch(`${sim.url}/c/${id}-8188/queue`)).status).toBe(502);
  });
});

describe('xgc-guard sim CLI', () => {
  it('prints the URL and token hint, serves the Open API, and stops on SIGINT', async () => {
    const lines: string[] = [];
    const done = runSimCli(['--port', '0', '--instances', '2', '--balance', '50', '--speed', '0'], (l) => lines.push(l));
    for (let i = 0; i < 1000 && lines.length < 2; i++) await new Promise((r) => setTimeout(r, 20));
    const url = /(http:\/\/127\.0\.0\.1:\d+)/.exec(lines[0])![1];
    expect(lines.join('\n')).toContain('sim-token');
    const r = (await (await fetch(`${url}/open/instances`, { headers: { authorization: 'Bearer sim-token' } })).json()) as any;
    expect(r.data.total).toBe(2);
    const b = (await (await fetch(`${url}/open/balance`, { headers: { authorization: 'sim-token' } })).json()) as any;
    expect(b.data.balance).toBe(50);
    process.emit('SIGINT');
    await done;
    await expect(fetch(`${url}/sim/state`)).rejects.toThrow();
  });
});
