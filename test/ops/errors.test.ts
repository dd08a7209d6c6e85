import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { startSimulator, type RunningSim } from '../../src/sim/index.js';
import { CLI, runCli, tempDir } from '../helpers/proc.js';
import { freePort } from '../notify/helpers.js';

/** stderr must be exactly one line, and it must match. */
function oneLine(stderr: string, re: RegExp): void {
  const lines = stderr.trim().split('\n');
  expect(lines, stderr).toHaveLength(1);
  expect(lines[0]).toMatch(re);
}

function config(text: string): string {
  const f = join(tempDir(), 'guard.yaml');
  writeFileSync(f, text);
  return f;
}

describe('errors name the thing and the fix, one line each (the built CLI)', { timeout: 90_000 }, () => {
  let sim: RunningSim;
  let env: Record<string, string>;
  beforeAll(async () => {
    sim = await startSimulator({ token: 'tok-errors', instances: 1, speed: 0, seed: 3 });
    env = { XGC_API_TOKEN: 'tok-errors', XGC_API_BASE_URL: sim.url, GUARD_HTTP_PORT: '0' };
  });
  afterAll(async () => sim?.close());

  it('a database path that cannot be opened names the path and how to fix it', async () => {
    const dir = tempDir();
    const file = join(dir, 'a-file');
    writeFileSync(file, 'x');
    const underFile = await runCli(['run'], { ...env, GUARD_DB: join(file, 'guard.db') });
    expect(underFile.code).toBe(1);
    oneLine(underFile.stderr, new RegExp(`^xgc-guard run: cannot open the database ${file}/guard.db: a parent of .* is a file, not a directory; set GUARD_DB \\(or db.path\\) to a writable file$`));
    const isDir = join(dir, 'dbdir');
    mkdirSync(isDir);
    const d = await runCli(['run'], { ...env, GUARD_DB: isDir });
    expect(d.code).toBe(1);
    oneLine(d.stderr, new RegExp(`^xgc-guard run: cannot open the database ${isDir}: ${isDir} is a directory, not a database file; set GUARD_DB`));
  });

  it('a database directory the guard user cannot write (as a volume owned by root) names the directory and the uid', async () => {
    const dir = tempDir();
    const data = join(dir, 'data');
    mkdirSync(data);
    chmodSync(dir, 0o755);
    chmodSync(data, 0o755);
    const asRoot = process.getuid?.() === 0;
    // root may write anywhere: run the CLI as `nobody` then, the way the image runs as `node`
    const argv = asRoot ? ['/usr/bin/setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, CLI, 'run'] : [process.execPath, CLI, 'run'];
    if (!asRoot) chmodSync(data, 0o555);
    const child = spawn(argv[0], argv.slice(1), { env: { PATH: process.env.PATH ?? '/usr/bin', ...env, GUARD_DB: join(data, 'guard.db'), GUARD_LOG_PRETTY: '0' }, cwd: dir });
    let stderr = '';
    child.stderr.on('data', (b) => (stderr += b));
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    expect(code).toBe(1);
    const uid = asRoot ? 65534 : process.getuid?.();
    oneLine(stderr, new RegExp(`^xgc-guard run: cannot open the database ${data}/guard.db: directory ${data} is not writable by uid ${uid}; make it writable \\(e\\.g\\. chown ${uid} ${data}\\) or set GUARD_DB`));
    expect(existsSync(join(data, 'guard.db'))).toBe(false);
  });

  it('a port in use names the address and the variable to change', async () => {
    const busy: Server = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', () => r()));
    const port = (busy.address() as { port: number }).port;
    try {
      const r = await runCli(['run'], { ...env, GUARD_HTTP_PORT: String(port), GUARD_DB: join(tempDir(), 'g.db') });
      expect(r.code).toBe(1);
      oneLine(r.stderr, new RegExp(`^xgc-guard run: cannot listen on 127\\.0\\.0\\.1:${port}: the port is already in use \\(another xgc-guard or program\\); stop it or set GUARD_HTTP_PORT \\(or http\\.port\\) to a free port$`));
    } finally {
      busy.close();
    }
  });

  it('a cron field out of range names the key, the field and its range', async () => {
    const r = await runCli(['run', '--config', config('policies:\n  - { name: nightly, type: schedule, cron: "0 25 * * *" }\n')], env);
    expect(r.code).toBe(1);
    oneLine(r.stderr, /^config error: policies\[0\]\.cron: bad cron expression "0 25 \* \* \*": hour "25" is out of range 0-23 \(e\.g\. "0 2 \* \* \*"\)$/);
    const s = await runCli(['check', '--config', config('snapshot: { every: "*/1 * * 13 *" }\n')], {});
    expect(s.stdout).toMatch(/^error config snapshot\.every: bad cron expression "\*\/1 \* \* 13 \*": month "13" is out of range 1-12/m);
  });

  it('an unknown key says which key was meant', async () => {
    const r = await runCli(['run', '--config', config('dryrun: false\nhttp: { metrics_atuh: false }\n')], env);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n').sort()).toEqual(['config error: dryrun: unknown key (did you mean dry_run?)', 'config error: http.metrics_atuh: unknown key (did you mean metrics_auth?)']);
  });

  it('a refused connection names the base URL and the variable', async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const c = await runCli(['check'], { XGC_API_TOKEN: 'x', XGC_API_BASE_URL: base });
    expect(c.code).toBe(1);
    expect(c.stdout).toMatch(new RegExp(`^error xgc network: cannot reach XianGong at ${base} \\(/open/\\S+: ECONNREFUSED\\); check XGC_API_BASE_URL \\(xgc\\.base_url\\) and the network$`, 'm'));
    const p = await runCli(['plan'], { XGC_API_TOKEN: 'x', XGC_API_BASE_URL: base, GUARD_DB: join(tempDir(), 'g.db') });
    expect(p.code).toBe(1);
    oneLine(p.stderr, new RegExp(`^xgc-guard plan: cannot reach XianGong at ${base} \\(/open/\\S+: ECONNREFUSED\\); check XGC_API_BASE_URL`));
  });

  it('off loopback, an API token shorter than 16 characters or the documented placeholder is refused (exit 2)', async () => {
    const base = { ...env, GUARD_HTTP_HOST: '0.0.0.0', GUARD_DB: join(tempDir(), 'g.db') };
    const example = await runCli(['run'], { ...base, GUARD_API_TOKEN: 'change-me' });
    expect(example.code).toBe(2);
    oneLine(example.stderr, /^refusing to start: GUARD_API_TOKEN \(http\.api_token\) is too weak to listen on 0\.0\.0\.0: it is shorter than 16 characters; generate one with: openssl rand -hex 24$/);
    const longPlaceholder = await runCli(['run'], { ...base, GUARD_API_TOKEN: 'change-me-change-me-please' });
    expect(longPlaceholder.code).toBe(2);
    expect(longPlaceholder.stderr).toMatch(/too weak to listen on 0\.0\.0\.0: it is a placeholder from the documentation/);
    expect(example.stderr + longPlaceholder.stderr).not.toMatch(/change-me/);
    // positive control: a strong token passes the same checks (check lists every refusal as "error start ...")
    const strong = await runCli(['check'], { ...base, GUARD_API_TOKEN: 'f3a9c1d07be24e6a8c5d2b19e07f4a6c' });
    expect(strong.stdout).not.toMatch(/^error start/m);
    expect(strong.code).toBe(0);
    // on loopback a short token is the user's business
    const loop = await runCli(['check'], { ...env, GUARD_API_TOKEN: 'short' });
    expect(loop.stdout).not.toMatch(/^error start/m);
  });

  it('a config path that is missing or a directory (a compose bind mount of a missing file) is one line naming it', async () => {
    const dir = tempDir();
    const r = await runCli(['run'], { ...env, GUARD_CONFIG: dir });
    expect(r.code).toBe(1);
    oneLine(r.stderr, new RegExp(`^config error: config file ${dir} is a directory, not a file \\(Docker made it: .*\\); fix it on the host, next to docker-compose\\.yml: rmdir guard\\.yaml && cp guard\\.example\\.yaml guard\\.yaml$`));
    const missing = join(dir, 'guard.yaml');
    const m = await runCli(['run', '--config', missing], env);
    expect(m.code).toBe(1);
    oneLine(m.stderr, new RegExp(`^config error: config file ${missing} not found: create it \\(cp guard\\.example\\.yaml guard\\.yaml\\) or fix --config / GUARD_CONFIG$`));
  });
});
