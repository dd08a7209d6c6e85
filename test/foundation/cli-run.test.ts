import { describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, spawnCli, tempDir } from '../helpers/proc.js';

describe('xgc-guard run (a real process)', () => {
  it('starts with a token and no config, says it runs the defaults in dry-run, answers /healthz, exits 0 on SIGTERM', async () => {
    const dir = tempDir();
    const spawned = Date.now();
    const p = spawnCli(['run'], { XGC_API_TOKEN: 'tok-run-test', XGC_API_BASE_URL: 'http://127.0.0.1:9', GUARD_DB: join(dir, 'g.db'), GUARD_HTTP_PORT: '0' });
    const [, url] = await p.waitFor(/"url":"(http:\/\/127\.0\.0\.1:\d+)"/);
    const startup = Date.now() - spawned; // how fast a process gets going on this machine right now
    expect(p.out()).toMatch(/no config file: running the documented default policies in dry-run mode/);
    const res = await fetch(`${url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${url}/readyz`);
    expect(((await ready.json()) as { db: string }).db).toBe('open');
    const t0 = Date.now();
    p.child.kill('SIGTERM');
    const { code } = await p.exited;
    expect(code).toBe(0);
    // stopping is less work than starting: 10 s, or 3x what the start took when the machine is loaded
    expect(Date.now() - t0).toBeLessThan(Math.max(10_000, 3 * startup));
    expect(p.out()).not.toContain('tok-run-test');
  });

  it('refuses to run without XGC_API_TOKEN (exit 2)', async () => {
    const r = await runCli(['run'], { GUARD_DB: join(tempDir(), 'g.db') });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/refusing to start: XGC_API_TOKEN is not set/);
  });

  it('refuses a non-loopback host without GUARD_API_TOKEN (exit 2)', async () => {
    const r = await runCli(['run'], { XGC_API_TOKEN: 't', GUARD_HTTP_HOST: '0.0.0.0', GUARD_DB: join(tempDir(), 'g.db') });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/without GUARD_API_TOKEN/);
  });

  it('refuses a destroy policy without allow_destroy (exit 2)', async () => {
    const dir = tempDir();
    const cfg = join(dir, 'c.yaml');
    writeFileSync(cfg, 'policies:\n  - { name: nuke, type: max_runtime, max: 1h, action: destroy, confirm_destroy: true }\n');
    const r = await runCli(['run', '--config', cfg], { XGC_API_TOKEN: 't', GUARD_DB: join(dir, 'g.db') });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/"nuke" uses action destroy but allow_destroy is not true/);
  });

  it('a bad config exits 1 naming the key path before anything runs', async () => {
    const dir = tempDir();
    const cfg = join(dir, 'c.yaml');
    writeFileSync(cfg, 'policies:\n  - { name: i, type: idle, idel_for: 45m }\n');
    const r = await runCli(['run', '--config', cfg], { XGC_API_TOKEN: 't', GUARD_DB: join(dir, 'g.db') });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('policies[0].idel_for: unknown key');
    expect(r.stderr).toContain('policies[0].idle_for: required');
  });

  it('check reports each config finding on its own line', async () => {
    const dir = tempDir();
    const cfg = join(dir, 'c.yaml');
    writeFileSync(cfg, 'locale: fr\nhttp: { port: "x" }\n');
    const r = await runCli(['check', '--config', cfg], {});
    expect(r.code).toBe(1);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toEqual(expect.arrayContaining([expect.stringMatching(/^error config http\.port/), expect.stringMatching(/^error config locale/)]));
  });

  it.each([['run'], ['check'], ['plan'], ['spend'], ['override'], ['notify'], ['health'], ['sim'], ['demo'], []])('--help and --version work for %j', async (...cmd) => {
    const h = await runCli([...cmd, '--help']);
    expect(h.stdout).toMatch(/xgc-guard|Usage/);
    const v = await runCli([...cmd, '--version']);
    expect(v.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    expect(v.code).toBe(0);
  });
});
