import { afterEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import { buildApp, type App } from '../../src/http/app.js';
import { startHarness, type Harness } from '../helpers/guard.js';

const MIN = 60_000;
let h: Harness | undefined;
let app: App | undefined;
afterEach(async () => {
  await app?.close();
  await h?.close();
  h = app = undefined;
});

describe('heartbeat probe through the HTTP route', () => {
  it('pushed busy beats keep an instance; stale beats are unknown (never idle); idle beats let the idle policy act; a wrong token is 401', async () => {
    h = await startHarness({
      // heartbeats come from remote instances, so the guard listens beyond loopback and has an API token
      http: { api_token: 'api-secret-token', heartbeat_token: 'hb-secret-token' },
      policies: [{ name: 'idle', type: 'idle', idle_for: '30m', min_uptime: '5m', probes: ['heartbeat'] }],
      probes: { heartbeat: { enabled: true, stale_after: '3m' } },
    });
    app = await buildApp({ gdb: h.gdb, config: h.config, clock: h.clock, log: pino({ level: 'silent' }), runtime: { dbOpen: true, leader: true, jobsRunning: true, demo: false }, guard: h.core.service });
    await app.ready();
    const id = await h.add({ name: 'trainer', image: 'Jupyter', status: 'running' });
    const beat = (body: Record<string, unknown>, token = 'hb-secret-token') =>
      app!.inject({ method: 'POST', url: '/api/v1/heartbeat', headers: { authorization: `Bearer ${token}` }, payload: { instance_id: id, ...body } });
    expect((await beat({ busy: true }, 'wrong-token')).statusCode).toBe(401);
    const verdict = () => (h!.gdb.sqlite.prepare("select verdict from probe_state where probe = 'heartbeat'").get() as any)?.verdict;
    for (let i = 0; i < 60; i++) {
      expect((await beat({ gpu_util: 93 })).statusCode).toBe(202);
      await h.step(MIN);
    }
    expect(verdict()).toBe('busy');
    for (let i = 0; i < 60; i++) await h.step(MIN); // the agent went quiet
    expect(verdict()).toBe('unknown');
    expect((await h.state()).instances[0].status).toBe('running');
    for (let i = 0; i < 40; i++) {
      await beat({ gpu_util: 0, busy: false });
      await h.step(MIN);
    }
    expect(verdict()).toBe('idle');
    expect((await h.state()).instances[0].status).toMatch(/shutting_down|shutdown/);
  }, 240_000);
});
