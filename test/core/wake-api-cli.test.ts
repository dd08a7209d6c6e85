import { afterEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import { buildApp, type App } from '../../src/http/app.js';
import { startHarness, type Harness } from '../helpers/guard.js';
import { spawnCli } from '../helpers/proc.js';
import { freePort } from '../notify/helpers.js';

const MIN = 60_000;

let h: Harness | undefined;
let app: App | undefined;
afterEach(async () => {
  await app?.close();
  await h?.close();
  app = undefined;
  h = undefined;
});

/** The harness's guard core served by the real app on a loopback port. */
async function serve(raw: Record<string, any> = {}, opts: { balance?: number } = {}): Promise<string> {
  h = await startHarness(raw, opts);
  app = await buildApp({
    gdb: h.gdb,
    config: h.config,
    clock: h.clock,
    log: pino({ level: 'silent' }),
    runtime: { dbOpen: true, leader: true, jobsRunning: true, demo: false },
    guard: h.core.service,
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address() as { port: number };
  return `http://127.0.0.1:${addr.port}`;
}

const post = async (url: string, body?: unknown) => {
  const r = await fetch(url, { method: 'POST', headers: body === undefined ? {} : { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: r.status, json: (await r.json()) as any };
};
const wakeOf = async (base: string, id: string) => ((await (await fetch(`${base}/api/v1/instances`)).json()) as any).instances.find((i: any) => i.id === id).wake;
const simInst = async (h: Harness, id: string) => (await h.state()).instances.find((i: any) => i.id === id);

describe('POST /api/v1/instances/:id/wake', () => {
  it('answers 202 with the journal id; the instance list shows the wake waiting for a GPU, then done', async () => {
    const base = await serve();
    const id = await h!.add({ name: 'sd-api', image: 'WebUI', gpu_model: 'RTX 4090 D', status: 'shutdown' });
    await h!.step(MIN);
    await h!.ctl('/sim/gpu-pool', { 'RTX 4090 D': 0, 'RTX 4090': 0 });
    // two requests at once: one wake
    const [r, twin] = await Promise.all([
      post(`${base}/api/v1/instances/${id}/wake`, { gpu_models: ['RTX 4090 D', 'NVIDIA GeForce RTX 4090'], give_up_after: '1h' }),
      post(`${base}/api/v1/instances/${id}/wake`, { gpu_models: ['RTX 4090 D', 'NVIDIA GeForce RTX 4090'], give_up_after: '1h' }),
    ]);
    expect(r.status).toBe(202);
    expect(twin).toEqual(r);
    expect(h!.gdb.sqlite.prepare('select count(*) n from wakes').get()).toEqual({ n: 1 });
    expect(r.json).toEqual({ wake: { id: expect.any(Number), instance_id: id, state: 'waiting' } });
    const journalId = r.json.wake.id;
    const row = h!.gdb.sqlite.prepare('select action, policy, who, state from actions where id = ?').get(journalId);
    expect(row).toEqual({ action: 'boot', policy: 'wake', who: 'api:api', state: 'deferred' });
    await h!.core.waker.idle();
    expect(await wakeOf(base, id)).toEqual({ id: journalId, state: 'waiting', tries: 2, waiting_for: 'RTX 4090 D', since: expect.stringMatching(/\+08:00$/) });
    // a second request while it waits returns the same wake
    const again = await post(`${base}/api/v1/instances/${id}/wake`);
    expect(again.status).toBe(202);
    expect(again.json.wake.id).toBe(journalId);
    await h!.ctl('/sim/gpu-pool', { 'RTX 4090 D': 1 });
    await h!.step(MIN);
    expect((await wakeOf(base, id)).state).toBe('booting');
    await h!.step(MIN);
    expect(await wakeOf(base, id)).toMatchObject({ id: journalId, state: 'done', tries: 3, waiting_for: null });
    expect((await simInst(h!, id)).status).toBe('running');
    // shown for an hour after it finished, then gone from the list
    await h!.step(61 * MIN);
    expect(await wakeOf(base, id)).toBeNull();
  });

  it('refuses bad bodies, unknown instances, running ones and a short runway, each with a clear error', async () => {
    const base = await serve({ policies: [{ name: 'runway', type: 'runway', warn_hours: 6, act_hours: 2 }] }, { balance: 3 });
    const off = await h!.add({ name: 'sd-off', image: 'WebUI', gpu_model: 'RTX 4090 D', status: 'shutdown' });
    const on = await h!.add({ name: 'sd-on #keep', image: 'WebUI', gpu_model: 'RTX 4090 D', status: 'running', busy: true });
    await h!.step(MIN);
    const bad = await post(`${base}/api/v1/instances/${off}/wake`, { gpu_count: 9 });
    expect(bad).toEqual({ status: 400, json: { error: { code: 'bad_request', message: expect.stringMatching(/^body\.gpu_count: /) } } });
    const unknownKey = await post(`${base}/api/v1/instances/${off}/wake`, { gpu: 1 });
    expect(unknownKey.status).toBe(400);
    expect(unknownKey.json.error.message).toMatch(/^body\.gpu: unknown field/);
    const dur = await post(`${base}/api/v1/instances/${off}/wake`, { give_up_after: 'soon' });
    expect(dur.status).toBe(400);
    expect(dur.json.error.message).toMatch(/^body\.give_up_after: bad duration/);
    const unknown = await post(`${base}/api/v1/instances/nosuchinstance00/wake`);
    expect(unknown.status).toBe(404);
    expect(unknown.json.error.code).toBe('not_found');
    const running = await post(`${base}/api/v1/instances/${on}/wake`);
    expect(running).toEqual({ status: 409, json: { error: { code: 'not_shut_down', message: expect.stringContaining('sd-on #keep is running') } } });
    const poor = await post(`${base}/api/v1/instances/${off}/wake`);
    expect(poor.status).toBe(409);
    expect(poor.json.error.code).toBe('wake_refused');
    expect(poor.json.error.message).toMatch(/runway .* under act_hours 2h .* top up at least ¥\d+\.\d\d/);
    expect((await wakeOf(base, off)).state).toBe('refused');
    expect((await simInst(h!, off)).status).toBe('shutdown');
  });
});

describe('xgc-guard wake', () => {
  it('wakes an instance by name through the daemon and --wait exits 0 once it runs', async () => {
    const base = await serve();
    const id = await h!.add({ name: 'sd-cli', image: 'WebUI', gpu_model: 'RTX 4090 D', status: 'shutdown' });
    await h!.step(MIN);
    await h!.ctl('/sim/gpu-pool', { 'RTX 4090 D': 0, 'RTX 4090': 0 });
    const p = spawnCli(['wake', 'sd-cli', '--gpu-model', 'RTX 4090 D', '--gpu-model', 'RTX 4090', '--gpu-count', '1', '--wait', '--interval', '0.2', '--url', base]);
    await p.waitFor(/waking sd-cli \(\w+\): journal #\d+, waiting/);
    await p.waitFor(/waiting: try 2, waiting for RTX 4090 D/);
    await h!.ctl('/sim/gpu-pool', { 'RTX 4090': 1 });
    // the daemon's ticks, driven here on the shared manual clock while the CLI polls
    let exited = false;
    void p.exited.then(() => (exited = true));
    for (let i = 0; i < 100 && !exited; i++) {
      await h!.step(MIN);
      await new Promise((r) => setTimeout(r, 150));
    }
    const { code } = await p.exited;
    expect(p.err()).toBe('');
    expect(code).toBe(0);
    expect(p.out()).toMatch(/running: sd-cli \(\w+\) after 4 tries\n$/);
    expect(await simInst(h!, id)).toMatchObject({ status: 'running', gpu_model: 'RTX 4090' });
  });

  it('says so in one line when no daemon answers, or the instance is unknown', async () => {
    const port = await freePort();
    const none = spawnCli(['wake', 'sd-x', '--url', `http://127.0.0.1:${port}`]);
    expect((await none.exited).code).toBe(1);
    expect(none.err()).toMatch(new RegExp(`^xgc-guard wake: no xgc-guard daemon answers at http://127.0.0.1:${port} \\(ECONNREFUSED\\); start it with .xgc-guard run., or pass --url / set GUARD_URL\\n$`));
    const base = await serve();
    await h!.step(MIN);
    const unknown = spawnCli(['wake', 'sd-nothing', '--url', base]);
    expect((await unknown.exited).code).toBe(1);
    expect(unknown.err()).toBe('xgc-guard wake: ID|NAME: the daemon knows no instance with id or name "sd-nothing" (it knows 0)\n');
  });
});
