import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import pino from 'pino';
import { buildApp, type App } from '../../src/http/app.js';
import { createLogger } from '../../src/log.js';
import { startSmtp, type TestSmtp } from '../notify/helpers.js';
import { startHarness, type Harness } from '../helpers/guard.js';

const MIN = 60_000;
let h: Harness | undefined;
let app: App | undefined;
let smtp: TestSmtp | undefined;
afterEach(async () => {
  await app?.close();
  await h?.close();
  await smtp?.close();
  h = app = smtp = undefined;
});

describe('warnings before acting', () => {
  it('an action_planned email carries a working snooze link; following it cancels the planned release', async () => {
    smtp = await startSmtp();
    // The app must listen first so the links can point at it (http.public_url).
    const port = await new Promise<number>((r) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as AddressInfo).port;
        s.close(() => r(p));
      });
    });
    const publicUrl = `http://127.0.0.1:${port}`;
    h = await startHarness({
      locale: 'en',
      http: { public_url: publicUrl },
      notify: { email: { smtp_url: `smtp://127.0.0.1:${smtp.port}`, from: 'guard@example.com', to: ['me@example.com'] } },
      policies: [{ name: 'idle', type: 'idle', idle_for: '30m', min_uptime: '5m', warn_before: '10m' }],
    });
    app = await buildApp({ gdb: h.gdb, config: h.config, clock: h.clock, log: pino({ level: 'silent' }), runtime: { dbOpen: true, leader: true, jobsRunning: true, demo: false }, guard: h.core.service });
    await app.listen({ host: '127.0.0.1', port });
    const id = await h.add({ name: 'sd-forgotten', image: 'WebUI', status: 'running' });
    // The warning comes warn_before ahead of idle_for; when exactly depends on when the GPU was first seen idle
    // (its SSH link connects during the first ticks), so step until it is mailed, bounded well past idle_for.
    const warned = () => smtp!.messages.find((m) => /will be released/i.test(m.subject ?? ''));
    for (let i = 0; i < 40 && !warned(); i++) {
      await h.step(MIN);
      await h.notifier.drain();
    }
    const mail = warned();
    expect(mail, `subjects: ${smtp.messages.map((m) => m.subject).join(' | ')}`).toBeDefined();
    expect(mail!.subject).toContain('sd-forgotten');
    expect(mail!.text).toContain(id);
    expect(mail!.text).toContain('¥1.59');
    const link = mail!.text!.match(/(http:\/\/127\.0\.0\.1:\d+\/snooze\?t=[\w.%-]+)/)![1];
    const page = await fetch(link);
    expect(page.status).toBe(200);
    const t = new URL(link).searchParams.get('t')!;
    const post = await fetch(`${publicUrl}/snooze`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ t, choice: 'h2' }).toString() });
    expect(post.status).toBe(200);
    const ov = h.gdb.sqlite.prepare('select kind, instance_id, who from overrides').all();
    expect(ov).toEqual([{ kind: 'snooze', instance_id: id, who: 'email link' }]);
    for (let i = 0; i < 60; i++) await h.step(MIN); // well past idle_for
    expect((await h.state()).instances[0].status).toBe('running');
    expect(h.gdb.sqlite.prepare('select count(*) n from actions').get()).toEqual({ n: 0 });
    for (let i = 0; i < 65; i++) await h.step(MIN); // the 2h snooze ends: released
    expect((await h.state()).instances[0].status).toBe('shutdown');
  }, 240_000);
});

describe('unknown is never idle', () => {
  it('an instance where every probe answers unknown is never released by the idle policy', async () => {
    h = await startHarness({
      policies: [{ name: 'idle', type: 'idle', idle_for: '30m', min_uptime: '5m' }],
      // Only the heartbeat probe, and no agent ever posts: every answer is unknown.
      probes: { gpu: { enabled: false }, jupyter: { enabled: false }, comfyui: { enabled: false }, sdwebui: { enabled: false }, heartbeat: { enabled: true } },
    });
    await h.add({ name: 'sd-idle', image: 'WebUI', status: 'running' });
    for (let i = 0; i < 120; i++) await h.step(MIN);
    expect((await h.state()).instances[0].status).toBe('running');
    expect(h.gdb.sqlite.prepare('select probe, verdict from probe_state order by probe').all()).toEqual([{ probe: 'heartbeat', verdict: 'unknown' }]);
  }, 120_000);

  it('a busy Jupyter kernel keeps an instance even when its GPU probe is absent or failing', async () => {
    h = await startHarness({
      policies: [{ name: 'idle', type: 'idle', idle_for: '30m', min_uptime: '5m' }],
      probes: { gpu: { enabled: true, timeout: '1s' }, comfyui: { enabled: false }, sdwebui: { enabled: false } },
    });
    await h.add({ name: 'notebook', image: 'Jupyter', status: 'running', busy: true });
    await h.ctl('/sim/faults', { ssh_refuse_rate: 1 }); // the simulator's SSH answers now: make the GPU probe fail
    for (let i = 0; i < 60; i++) await h.step(MIN);
    expect((await h.state()).instances[0].status).toBe('running');
    const v = Object.fromEntries((h.gdb.sqlite.prepare('select probe, verdict from probe_state').all() as any[]).map((r) => [r.probe, r.verdict]));
    expect(v).toMatchObject({ jupyter: 'busy', gpu: 'unknown' });
  }, 240_000);
});

describe('logging', () => {
  it('redacts every secret field wherever it appears', () => {
    const lines: string[] = [];
    const dest = new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) });
    const log = createLogger({ destination: dest as any });
    log.info({ password: 'p1', instance: { jupyter_token: 'p2', ssh_key: 'p3', access: { xgcos_token: 'p4' } }, config: { xgc: { token: 'p5' } }, req: { headers: { authorization: 'Bearer p6' } }, smtp_url: 'smtp://u:p7@x' }, 'hello');
    const out = lines.join('');
    for (const s of ['p1', 'p2', 'p3', 'p4', 'p5', 'p6', 'p7']) expect(out).not.toContain(`"${s}`);
    expect(out).toContain('[redacted]');
  });
});
