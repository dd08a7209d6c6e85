/**
 * The Jupyter probe against a real Jupyter Server (Debian python3-jupyter-server + python3-ipykernel),
 * driving a real kernel over its WebSocket channels.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { systemClock } from '../../src/clock.js';
import { openDb, type GuardDb } from '../../src/db/open.js';
import { createJupyterProbe, jupyterProbe } from '../../src/probes/jupyter.js';
import type { ProbeContext } from '../../src/probes/types.js';
import { access, freePort, sleep, systemDeps, waitFor } from './helpers.js';

const PY = '/usr/bin/python3';
const TOKEN = 'jt-' + randomUUID();
const missing = systemDeps([
  {
    path: PY,
    pkg: 'python3-jupyter-server python3-ipykernel',
    check: () => spawnSync(PY, ['-c', 'import jupyter_server, ipykernel'], { stdio: 'ignore' }).status === 0,
  },
]);

describe.skipIf(missing !== null)('jupyter probe against a real Jupyter Server', () => {
  let server: ChildProcess | undefined;
  let dir = '';
  let base = '';
  let g: GuardDb;
  const ctx = (): ProbeContext => ({ now: systemClock.now(), clock: systemClock, timeoutMs: 5000, db: g.db });
  const inst = () => access({ id: 'jup1', image: 'Jupyter', jupyterUrl: base, jupyterToken: TOKEN });
  const api = (path: string, init: RequestInit = {}) =>
    fetch(base + path, { ...init, headers: { authorization: `token ${TOKEN}`, ...(init.headers ?? {}) } });

  beforeAll(async () => {
    g = openDb(':memory:');
    dir = mkdtempSync(join(tmpdir(), 'xgc-jupyter-'));
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    server = spawn(
      PY,
      ['-m', 'jupyter_server', `--ServerApp.token=${TOKEN}`, '--ip=127.0.0.1', `--port=${port}`, '--no-browser', '--allow-root', `--ServerApp.root_dir=${dir}`],
      {
        env: {
          ...process.env,
          HOME: join(dir, 'home'),
          JUPYTER_RUNTIME_DIR: join(dir, 'runtime'),
          JUPYTER_DATA_DIR: join(dir, 'data'),
          JUPYTER_CONFIG_DIR: join(dir, 'config'),
          PATH: `/usr/bin:/bin:${process.env.PATH ?? ''}`,
        },
        stdio: 'ignore',
      },
    );
    await waitFor(async () => (await api('/api/status')).ok, 120_000);
  });

  afterAll(async () => {
    try {
      const kernels = (await (await api('/api/kernels')).json()) as { id: string }[];
      for (const k of kernels) await api(`/api/kernels/${k.id}`, { method: 'DELETE' });
    } catch {
      /* server may be gone */
    }
    if (server && server.exitCode === null) {
      const exited = new Promise((r) => server!.once('exit', r));
      server.kill('SIGTERM');
      await Promise.race([exited, sleep(5000)]);
      if (server.exitCode === null) server.kill('SIGKILL');
    }
    g?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('answers idle on a fresh server with no kernels', async () => {
    const r = await jupyterProbe.run(inst(), ctx());
    expect(r).toMatchObject({ verdict: 'idle', metrics: { kernels: 0, terminals: 0 } });
  });

  it('answers unknown with a wrong token, without echoing any token', async () => {
    const r = await jupyterProbe.run(access({ id: 'jup1', jupyterUrl: base, jupyterToken: 'wrong-token-123' }), ctx());
    expect(r.verdict).toBe('unknown');
    expect(r.detail).toMatch(/rejected the token \(HTTP 403\)/);
    expect(r.detail).not.toContain('wrong-token-123');
    expect(r.detail).not.toContain(TOKEN);
  });

  it('does not count a kernel stuck in "starting" as busy once its last_activity leaves active_window', async () => {
    const res = await api('/api/kernels', { method: 'POST', body: '{}' });
    expect(res.status).toBe(201);
    const kernel = (await res.json()) as { id: string };
    const probe = createJupyterProbe({ activeWindowMs: 1500 });
    expect((await probe.run(inst(), ctx())).verdict).toBe('busy');
    // Jupyter Server 1.23.3 reports "starting" until a client talks to the kernel; under load the kernel's own
    // start may refresh last_activity a little later, so wait for the window to pass rather than a fixed sleep.
    let r = await probe.run(inst(), ctx());
    await waitFor(async () => (r = await probe.run(inst(), ctx())).verdict === 'idle', 90_000, 250);
    const kernels = (await (await api('/api/kernels')).json()) as { execution_state: string; last_activity: string }[];
    console.info(`kernel state with no client: ${kernels[0].execution_state}`);
    expect(r.verdict).toBe('idle');
    expect(r.since).toBe(Date.parse(kernels[0].last_activity));
    await api(`/api/kernels/${kernel.id}`, { method: 'DELETE' });
  }, 240_000);

  it('is busy while a cell executes on a real kernel, busy while a client stays connected, idle after', async () => {
    const { id } = (await (await api('/api/kernels', { method: 'POST', body: '{}' })).json()) as { id: string };
    const ws = new WebSocket(`${base.replace('http', 'ws')}/api/kernels/${id}/channels?token=${TOKEN}`);
    const msgId = randomUUID();
    let state: 'waiting' | 'busy' | 'done' = 'waiting';
    ws.on('message', (data) => {
      // binaryType 'nodebuffer' (the default): each message arrives as one Buffer
      const m = JSON.parse((data as Buffer).toString('utf8')) as { msg_type: string; parent_header?: { msg_id?: string }; content?: { execution_state?: string } };
      if (m.msg_type === 'status' && m.parent_header?.msg_id === msgId) {
        if (m.content?.execution_state === 'busy') state = 'busy';
        if (m.content?.execution_state === 'idle') state = 'done';
      }
    });
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    // A fresh kernel reports "starting" until a client talks to it; a user's notebook asks for kernel_info and
    // runs cells on a ready kernel, so do the same before executing (otherwise the server may miss the busy status).
    const kernelInfo = () =>
      ws.send(JSON.stringify({ header: { msg_id: randomUUID(), username: 'test', session: randomUUID(), msg_type: 'kernel_info_request', version: '5.3', date: new Date().toISOString() }, parent_header: {}, metadata: {}, content: {}, channel: 'shell', buffers: [] }));
    kernelInfo();
    let asked = Date.now();
    await waitFor(
      async () => {
        if (Date.now() - asked > 5_000) {
          kernelInfo();
          asked = Date.now();
        }
        return ((await (await api(`/api/kernels/${id}`)).json()) as { execution_state: string }).execution_state === 'idle';
      },
      90_000,
      200,
    );
    // The cell runs until the test lets it finish (no race between a fixed sleep in the kernel and a loaded machine).
    const release = join(dir, `release-${msgId}`);
    const cell = `import os, time\nwhile not os.path.exists(${JSON.stringify(release)}):\n    time.sleep(0.05)\n`;
    ws.send(
      JSON.stringify({
        header: { msg_id: msgId, username: 'test', session: randomUUID(), msg_type: 'execute_request', version: '5.3', date: new Date().toISOString() },
        parent_header: {},
        metadata: {},
        content: { code: cell, silent: false, store_history: true, user_expressions: {}, allow_stdin: false, stop_on_error: true },
        channel: 'shell',
        buffers: [],
      }),
    );
    await waitFor(async () => state !== 'waiting', 90_000, 100);
    expect(state).toBe('busy');
    await sleep(2000); // past the short active window: only execution_state can make it busy now
    const window = { activeWindowMs: 1500, countConnections: false };
    // The cell runs until released, so the probe may look again: under two suites at once the server's
    // execution_state once still read idle at the first look.
    let during = await createJupyterProbe(window).run(inst(), ctx());
    await waitFor(async () => (during = await createJupyterProbe(window).run(inst(), ctx())).verdict === 'busy', 60_000, 250).catch(() => undefined);
    expect(during.verdict).toBe('busy');
    expect(during.detail).toMatch(/executing/);
    expect(during.metrics?.busy_kernels).toBe(1);
    expect(state).toBe('busy'); // the cell was still running when the probe looked

    writeFileSync(release, '');
    await waitFor(async () => state === 'done', 90_000, 100);
    await sleep(2000);
    const connected = await createJupyterProbe({ activeWindowMs: 1500, countConnections: true }).run(inst(), ctx());
    expect(connected.verdict).toBe('busy');
    expect(connected.detail).toMatch(/open kernel connection/);
    await waitFor(async () => (await createJupyterProbe(window).run(inst(), ctx())).verdict === 'idle', 90_000, 250);

    const closed = new Promise((r) => ws.once('close', r));
    ws.close();
    await closed;
    await waitFor(async () => ((await (await api('/api/kernels')).json()) as { connections: number }[])[0].connections === 0, 30_000);
    let after = await createJupyterProbe({ activeWindowMs: 1500 }).run(inst(), ctx());
    await waitFor(async () => (after = await createJupyterProbe({ activeWindowMs: 1500 }).run(inst(), ctx())).verdict === 'idle', 90_000, 250);
    expect(after.verdict).toBe('idle');
    const [k] = (await (await api('/api/kernels')).json()) as { last_activity: string }[];
    expect(after.since).toBe(Date.parse(k.last_activity));
    expect(after.since!).toBeLessThan(systemClock.now() - 1500);
  }, 720_000);
});
