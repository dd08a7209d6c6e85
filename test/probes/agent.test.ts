/** The shipped heartbeat agent (bash + curl) posting to a real HTTP endpoint, its body fed to recordHeartbeat. */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { openDb } from '../../src/db/open.js';
import { heartbeatProbe, recordHeartbeat } from '../../src/probes/heartbeat.js';
import { access, systemDeps, waitFor } from './helpers.js';

const AGENT = resolve(import.meta.dirname, '../../agent/xgc-guard-agent.sh');
const missing = systemDeps([
  { path: '/bin/bash', pkg: 'bash' },
  { path: '/usr/bin/curl', pkg: 'curl' },
]);

describe.skipIf(missing !== null)('xgc-guard-agent.sh', () => {
  const posts: { url: string; headers: IncomingHttpHeaders; body: Record<string, unknown> }[] = [];
  const server = createServer((req, res) => {
    let data = '';
    req.on('data', (c) => (data += c));
    req.on('end', () => {
      posts.push({ url: req.url ?? '', headers: req.headers, body: JSON.parse(data) as Record<string, unknown> });
      res.writeHead(204).end();
    });
  });
  let dir = '';
  let agent: ChildProcess | undefined;

  beforeAll(async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    dir = mkdtempSync(join(tmpdir(), 'xgc-agent-'));
    writeFileSync(join(dir, 'nvidia-smi'), '#!/bin/sh\nprintf "7\\n42\\n"\n');
    chmodSync(join(dir, 'nvidia-smi'), 0o755);
  });
  afterAll(async () => {
    if (agent && agent.exitCode === null) agent.kill('SIGTERM');
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('posts the highest GPU utilisation with the bearer token, repeatedly, and busy=true while BUSY_FILE exists', async () => {
    const port = (server.address() as AddressInfo).port;
    agent = spawn('/bin/bash', [AGENT], {
      env: {
        PATH: `${dir}:/usr/bin:/bin`,
        XGC_INSTANCE_ID: 'abc123def456ghi7',
        GUARD_URL: `http://127.0.0.1:${port}/`,
        GUARD_HEARTBEAT_TOKEN: 'hb-token-xyz',
        INTERVAL: '1',
        BUSY_FILE: join(dir, 'busy'),
      },
      stdio: 'ignore',
    });
    await waitFor(async () => posts.length >= 2, 60_000, 100);
    expect(posts[0].url).toBe('/api/v1/heartbeat');
    expect(posts[0].headers.authorization).toBe('Bearer hb-token-xyz');
    expect(posts[0].headers['content-type']).toBe('application/json');
    expect(posts[0].body).toEqual({ instance_id: 'abc123def456ghi7', gpu_util: 42 });

    writeFileSync(join(dir, 'busy'), '');
    const n = posts.length;
    await waitFor(async () => posts.length > n, 60_000, 100);
    const last = posts[posts.length - 1].body;
    expect(last).toEqual({ instance_id: 'abc123def456ghi7', gpu_util: 42, busy: true });

    // What the agent sends is what recordHeartbeat stores and the probe reads.
    const g = openDb(':memory:');
    const clock = new ManualClock(Date.UTC(2025, 0, 1));
    recordHeartbeat(g.db, { instanceId: last.instance_id as string, gpuUtil: last.gpu_util as number, busy: last.busy as boolean }, clock.now());
    const r = await heartbeatProbe.run(access({ id: 'abc123def456ghi7' }), { now: clock.now(), clock, timeoutMs: 1000, db: g.db });
    expect(r.verdict).toBe('busy');
    g.close();
  });

  it('refuses to start without XGC_INSTANCE_ID', async () => {
    const p = spawn('/bin/bash', [AGENT], { env: { PATH: '/usr/bin:/bin', GUARD_URL: 'http://x', GUARD_HEARTBEAT_TOKEN: 't' }, stdio: 'ignore' });
    const code = await new Promise((r) => p.once('exit', r));
    expect(code).not.toBe(0);
  });
});
