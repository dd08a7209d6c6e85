/**
 * The README's real-use and Docker commands, parsed out of README.md and run as written against the simulator in
 * a fresh copy of the repository (so they cannot rot). What the test sets from outside: the simulator's base URL,
 * a free HTTP port and a local SMTP server in the environment, and the one placeholder `<your-token>`. `npm ci`
 * is stood in for by the already installed node_modules plus the `prepare` lifecycle script it runs (a real
 * `npm ci` compiles better-sqlite3 for minutes; scripts/smoke-prod does that in CI); `docker` lines need an
 * engine (CI's scripts/smoke-image runs the image itself): the test checks instead that every file docker-compose.yml mounts was created by
 * the README's lines and that the guard would start with them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, symlinkSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { startSimulator, type RunningSim } from '../../src/sim/index.js';
import { weakTokenReason } from '../../src/config/load.js';
import { CLI, tempDir } from '../helpers/proc.js';
import { freePort, startSmtp, type TestSmtp } from '../notify/helpers.js';

const ROOT = resolve(__dirname, '..', '..');
const TOKEN = 'readme-sim-token';

/** The lines of the ```sh block that follows `<!-- tested: NAME`, continuation lines joined. */
export function testedBlock(readme: string, name: string): string[] {
  const at = readme.indexOf(`<!-- tested: ${name}`);
  if (at < 0) throw new Error(`README.md has no "<!-- tested: ${name}" block`);
  const fence = readme.indexOf('```sh\n', at);
  const body = readme.slice(fence + 6, readme.indexOf('\n```', fence + 6));
  return body.replace(/\\\n\s*/g, ' ').split('\n').filter((l) => l.trim() && !l.trim().startsWith('#'));
}

/** A fresh copy of the repository's files (tracked and new, as a clone would have them), node_modules linked. */
function freshClone(): string {
  const dir = tempDir('xgc-guard-clone-');
  const git = spawnSync('git', ['ls-files', '-co', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8' });
  // outside a git checkout (an exported tree): every file but installs, builds, databases and history
  const files = git.status === 0 ? git.stdout.split('\n').filter(Boolean) : walk(ROOT, '').filter((f) => !/^(node_modules|dist|data|\.git|bench\/out)(\/|$)/.test(f));
  for (const f of files) {
    if (!existsSync(join(ROOT, f))) continue; // deleted in the work tree
    mkdirSync(dirname(join(dir, f)), { recursive: true });
    copyFileSync(join(ROOT, f), join(dir, f));
  }
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}

/** Run a shell line to completion (asynchronously: the simulator and SMTP server live in this process). */
function walk(root: string, rel: string): string[] {
  return readdirSync(join(root, rel), { withFileTypes: true }).flatMap((e) => {
    const p = rel ? `${rel}/${e.name}` : e.name;
    if (/^(node_modules|\.git)$/.test(e.name)) return [];
    return e.isDirectory() ? walk(root, p) : e.isFile() ? [p] : [];
  });
}

function sh(line: string, cwd: string, env: Record<string, string>, timeoutMs = 300_000): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolveP) => {
    const child = spawn('bash', ['-c', line], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b) => (stdout += b));
    child.stderr.on('data', (b) => (stderr += b));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (status) => {
      clearTimeout(timer);
      resolveP({ status, stdout, stderr });
    });
  });
}

describe('README commands, verbatim, against the simulator', { timeout: 600_000 }, () => {
  let sim: RunningSim;
  let smtp: TestSmtp;
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  beforeAll(async () => {
    sim = await startSimulator({ token: TOKEN, instances: 3, speed: 1, seed: 21 });
    smtp = await startSmtp();
  });
  afterAll(async () => {
    await sim?.close();
    await smtp?.close();
  });

  it('real use: npm ci, check, plan, config, run, spend, override, notify test, npm start', async () => {
    const lines = testedBlock(readme, 'real-use');
    expect(lines[0]).toMatch(/^npm ci\b/);
    const dir = freshClone();
    expect(existsSync(join(dir, 'dist'))).toBe(false);
    const port = await freePort();
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: tempDir('xgc-guard-home-'),
      XGC_API_BASE_URL: sim.url,
      GUARD_HTTP_PORT: String(port),
      SMTP_URL: `smtp://127.0.0.1:${smtp.port}`,
      SMTP_TO: 'ops@example.com',
      npm_config_offline: 'true', // npx must never look a name up in the registry
      npm_config_update_notifier: 'false',
    };
    const seen: string[] = [];
    for (const raw of lines) {
      const line = raw.replaceAll('<your-token>', TOKEN);
      seen.push(line.replace(/\s+#.*$/, ''));
      if (/^npm ci\b/.test(line)) {
        const r = await sh('npm run prepare', dir, env);
        expect(r.status, r.stderr).toBe(0);
        expect(existsSync(join(dir, 'dist', 'cli.js'))).toBe(true);
        continue;
      }
      const exp = /^export (\w+)=(.*?)(\s+#.*)?$/.exec(line);
      if (exp) {
        env[exp[1]] = (await sh(`printf '%s' ${exp[2]}`, dir, env)).stdout;
        continue;
      }
      if (/#.*\bthe daemon\b/.test(line)) {
        await runDaemon(line, dir, env, port);
        continue;
      }
      const r = await sh(line, dir, env);
      expect(r.status, `${line}\n${r.stdout}\n${r.stderr}`).toBe(0);
      if (/xgc-guard check/.test(line)) expect(r.stdout).toMatch(/^ok {4}xgc token accepted by http:\/\/127\.0\.0\.1/m);
      if (/xgc-guard plan/.test(line)) expect(r.stdout).toMatch(/nothing is acted on/);
      if (/xgc-guard spend/.test(line)) expect(r.stdout).toMatch(/by instance/);
      if (/override add/.test(line)) expect(r.stdout).toMatch(/^added override 1: snooze name=sd-\*/);
      if (/override list/.test(line)) expect(r.stdout).toMatch(/name=sd-\*\s+sd-webui/);
      if (/notify test/.test(line)) expect(r.stdout.trim()).toBe('ok    email (email): test message sent');
    }
    expect(seen).toEqual(expect.arrayContaining([expect.stringMatching(/npx xgc-guard run --config guard\.yaml/), expect.stringMatching(/^npm start/), expect.stringMatching(/--from -7d/)]));
    expect(env.XGC_API_TOKEN).toBe(TOKEN);
    expect(smtp.messages.some((m) => m.subject?.includes('email'))).toBe(true);
  });

  it('docker: the lines before `docker compose up` create every file docker-compose.yml mounts, and the guard starts with them', async () => {
    const lines = testedBlock(readme, 'docker');
    const dir = freshClone();
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: tempDir('xgc-guard-home-') };
    for (const raw of lines.filter((l) => !/^docker\b/.test(l))) {
      const r = await sh(raw.replaceAll('<your-token>', TOKEN), dir, env);
      expect(r.status, `${raw}\n${r.stderr}`).toBe(0);
    }
    expect(lines.some((l) => /^docker compose up\b/.test(l))).toBe(true);
    const compose = parseYaml(readFileSync(join(dir, 'docker-compose.yml'), 'utf8'));
    const svc = compose.services['xgc-guard'];
    // container path -> host file, from the bind mounts and the file secrets
    const hostOf = new Map<string, string>();
    for (const v of svc.volumes as string[]) {
      const [host, container] = v.split(':');
      if (host.startsWith('./')) hostOf.set(container, join(dir, host));
    }
    for (const name of svc.secrets as string[]) hostOf.set(`/run/secrets/${name}`, join(dir, compose.secrets[name].file));
    for (const [container, host] of hostOf) {
      expect(existsSync(host), `${host} (mounted at ${container})`).toBe(true);
      expect(statSync(host).isFile(), `${host} must be a file, or compose mounts a directory`).toBe(true);
      expect(statSync(host).mode & 0o004, `${host} readable by the image's node user`).toBeTruthy();
    }
    expect(weakTokenReason(readFileSync(join(dir, 'secrets', 'guard_token'), 'utf8').trim())).toBeNull();
    // the container's environment (image ENV + compose environment), with the mounts resolved to the host files
    const containerEnv: Record<string, string> = { GUARD_HTTP_HOST: '0.0.0.0', GUARD_DB: join(dir, 'data', 'guard.db'), XGC_API_BASE_URL: sim.url };
    // a key without a value is taken from the shell (compose's rule): here the simulator's URL set above
    for (const [k, v] of Object.entries(svc.environment as Record<string, string | null>)) if (v !== null) containerEnv[k] = hostOf.get(v) ?? v;
    const r = await sh(`exec ${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} check`, dir, { PATH: env.PATH, ...containerEnv });
    expect(r.stdout).not.toMatch(/^error/m);
    expect(r.stdout).toMatch(/^ok {4}config .*guard\.yaml: 7 policies \(idle-release, nightly, runaway, low-balance, held-gpu, runway, daily-cap\), dry_run=true$/m);
    expect(r.status, r.stdout + r.stderr).toBe(0);
  });
});

/** Start a daemon line, wait for /healthz and a first tick, stop it with SIGTERM and see it stop cleanly. */
async function runDaemon(line: string, cwd: string, env: Record<string, string>, port: number): Promise<void> {
  const child = spawn('bash', ['-c', `exec ${line}`], { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (b) => (out += b));
  child.stderr.on('data', (b) => (out += b));
  // 'close': every process holding the output pipes is gone (npx/npm exits before its node child has stopped)
  const exited = new Promise<void>((r) => child.on('close', () => r()));
  try {
    const t0 = Date.now();
    while (!/"msg":"tick: /.test(out)) {
      if (child.exitCode !== null || Date.now() - t0 > 60_000) throw new Error(`${line}: no first tick\n${out}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
  } finally {
    process.kill(-child.pid!, 'SIGTERM');
    await exited;
  }
  expect(out).toMatch(/"msg":"stopped"/);
}
