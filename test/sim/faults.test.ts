import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { startSimulator, type RunningSim } from '../../src/sim/index.js';

const TOKEN = 'tok-faults';
let sim: RunningSim;

const auth = { authorization: `Bearer ${TOKEN}` };
const setFaults = (f: Record<string, unknown>) =>
  fetch(`${sim.url}/sim/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(f) });

beforeAll(async () => {
  sim = await startSimulator({ token: TOKEN, clock: new ManualClock(Date.UTC(2025, 0, 1)), instances: 1 });
});
afterAll(async () => {
  await sim.close();
});
beforeEach(async () => {
  await setFaults({});
});

describe('fault injection on /open', () => {
  it('error_rate 1 answers 服务繁忙 with code 1000 and does not perform the action', async () => {
    await setFaults({ error_rate: 1 });
    const id = sim.world.listed()[0].id;
    const r = await fetch(`${sim.url}/open/instance/shutdown`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ id }),
    });
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({ code: 1000, success: false, msg: '服务繁忙' });
    expect(sim.world.instance(id)!.status).toBe('running');
  });

  it('http_500_rate 1 answers HTTP 500', async () => {
    await setFaults({ http_500_rate: 1 });
    const r = await fetch(`${sim.url}/open/balance`, { headers: auth });
    expect(r.status).toBe(500);
  });

  it('malformed_rate 1 answers HTTP 200 with a body that is not JSON', async () => {
    await setFaults({ malformed_rate: 1 });
    const r = await fetch(`${sim.url}/open/instances`, { headers: auth });
    expect(r.status).toBe(200);
    const text = await r.text();
    expect(() => JSON.parse(text)).toThrow();
  });

  it('token_error_rate 1 answers 未找到访问令牌 even with the right token', async () => {
    await setFaults({ token_error_rate: 1 });
    const r = await fetch(`${sim.url}/open/balance`, { headers: auth });
    expect(await r.json()).toMatchObject({ code: 1000, msg: '未找到访问令牌' });
  });

  it('timeout_rate 1 never answers (the client gives up)', async () => {
    await setFaults({ timeout_rate: 1 });
    const started = performance.now();
    await expect(fetch(`${sim.url}/open/balance`, { headers: auth, signal: AbortSignal.timeout(300) })).rejects.toThrow();
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
  });

  it('latency_ms delays answers', async () => {
    await setFaults({ latency_ms: 150 });
    const started = performance.now();
    const r = await fetch(`${sim.url}/open/balance`, { headers: auth });
    expect(((await r.json()) as { code: number }).code).toBe(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
  });

  it('endpoints restricts faults to path prefixes, and /sim and app routes are never faulted', async () => {
    await setFaults({ error_rate: 1, endpoints: ['/open/balance'] });
    expect(await (await fetch(`${sim.url}/open/balance`, { headers: auth })).json()).toMatchObject({ msg: '服务繁忙' });
    expect(await (await fetch(`${sim.url}/open/instances`, { headers: auth })).json()).toMatchObject({ code: 200 });
    await setFaults({ http_500_rate: 1 });
    expect((await fetch(`${sim.url}/sim/state`)).status).toBe(200);
  });

  it('a rate of 0.5 faults roughly half the requests', async () => {
    await setFaults({ error_rate: 0.5 });
    let failed = 0;
    for (let i = 0; i < 100; i++) {
      const body = (await (await fetch(`${sim.url}/open/balance`, { headers: auth })).json()) as { code: number };
      if (body.code === 1000) failed++;
    }
    expect(failed).toBeGreaterThan(30);
    expect(failed).toBeLessThan(70);
  });

  it('rejects rates outside 0..1', async () => {
    const r = await setFaults({ error_rate: 2 });
    expect(r.status).toBe(400);
  });

  it('closing the simulator releases a request held by a timeout fault', async () => {
    const s = await startSimulator({ token: 't', instances: 0, speed: 0 });
    await fetch(`${s.url}/sim/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ timeout_rate: 1 }) });
    const pending = fetch(`${s.url}/open/balance`, { headers: { authorization: 't' } }).then(
      () => 'answered',
      () => 'failed',
    );
    await new Promise((r) => setTimeout(r, 50));
    const started = performance.now();
    await s.close();
    // the fault holds a request for 120 s: closing released it instead of waiting that out
    expect(performance.now() - started).toBeLessThan(20_000);
    expect(await pending).toBe('failed');
  });
});
