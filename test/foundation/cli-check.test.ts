import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startSimulator, type RunningSim } from '../../src/sim/index.js';
import { startSmtp, type TestSmtp } from '../notify/helpers.js';
import { runCli, tempDir } from '../helpers/proc.js';

describe('xgc-guard check against the simulator and a real SMTP server', () => {
  let sim: RunningSim;
  let smtp: TestSmtp;
  beforeAll(async () => {
    sim = await startSimulator({ token: 'good-token', instances: 1, speed: 0, seed: 5, balance: 123.45 });
    smtp = await startSmtp();
  });
  afterAll(async () => {
    await sim.close();
    await smtp.close();
  });

  const config = (smtpPort: number, creds = '') => {
    const f = join(tempDir(), 'c.yaml');
    writeFileSync(f, `notify:\n  email: { smtp_url: "smtp://${creds}127.0.0.1:${smtpPort}", from: guard@example.com, to: [me@example.com] }\n`);
    return f;
  };

  it('reports the token accepted, the balance and SMTP ok, one line each, exit 0', async () => {
    const r = await runCli(['check', '--config', config(smtp.port)], { XGC_API_TOKEN: 'good-token', XGC_API_BASE_URL: sim.url });
    expect(r.code, r.stdout).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^ok {4}config /);
    expect(lines).toContain('ok    xgc balance ¥123.45');
    expect(lines.some((l) => /^ok {4}xgc token accepted by http:\/\/127\.0\.0\.1:\d+/.test(l))).toBe(true);
    expect(lines).toContain('ok    smtp server accepted the connection');
  });

  it('reports the same policies with no config file and with --config guard.example.yaml', async () => {
    const env = { XGC_API_TOKEN: 'good-token', XGC_API_BASE_URL: sim.url };
    const cwd = tempDir(); // no guard.yaml here: the defaults
    const none = await runCli(['check'], env, cwd);
    const example = await runCli(['check', '--config', join(__dirname, '..', '..', 'guard.example.yaml')], env, cwd);
    const policies = (out: string) => /^ok {4}config .*: (\d+ policies \(.*\), dry_run=\w+)$/m.exec(out)?.[1];
    expect(policies(none.stdout)).toBe('7 policies (idle-release, nightly, runaway, low-balance, held-gpu, runway, daily-cap), dry_run=true');
    expect(policies(example.stdout)).toBe(policies(none.stdout));
    expect(none.stdout).toMatch(/^ok {4}config \(no file: documented defaults, dry-run\)/m);
  });

  it('names a rejected token and an unreachable SMTP server, exit 1, without echoing secrets', async () => {
    const dead = (await import('node:net')).createServer().listen(0, '127.0.0.1');
    await new Promise((r) => dead.once('listening', r));
    const port = (dead.address() as { port: number }).port;
    await new Promise((r) => dead.close(r));
    const r = await runCli(['check', '--config', config(port, 'user:hunter2@')], { XGC_API_TOKEN: 'wrong-token', XGC_API_BASE_URL: sim.url });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^error xgc auth: .*未找到访问令牌/m);
    expect(r.stdout).toMatch(/^error smtp \w+: cannot use the SMTP server/m);
    expect(r.stdout + r.stderr).not.toContain('wrong-token');
    expect(r.stdout + r.stderr).not.toContain('hunter2');
  });

  it('says for each running instance whether its GPU can be seen over SSH, never printing a credential', async () => {
    const id = sim.world.addInstance({ name: 'train-bg', image: 'Jupyter', status: 'running', busy: false, gpuUtil: 97 }).id;
    const secrets = ((await (await fetch(`${sim.url}/sim/state`)).json()) as any).instances.flatMap((i: any) => [i.password, i.ssh_key, i.jupyter_token]).filter(Boolean);
    const seen = await runCli(['check', '--config', config(smtp.port)], { XGC_API_TOKEN: 'good-token', XGC_API_BASE_URL: sim.url, GUARD_DB: join(tempDir(), 'none.db') });
    expect(seen.stdout).toMatch(new RegExp(`^ok {4}gpu train-bg \\(${id}\\): seen — GPU at 97% \\(busy at 10%\\)$`, 'm'));
    await fetch(`${sim.url}/sim/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ssh_refuse_rate: 1 }) });
    try {
      const refused = await runCli(['check', '--config', config(smtp.port)], { XGC_API_TOKEN: 'good-token', XGC_API_BASE_URL: sim.url, GUARD_DB: join(tempDir(), 'none.db') });
      expect(refused.stdout).toMatch(new RegExp(`^warn {2}gpu train-bg \\(${id}\\): not seen — .*\\[(closed|refused|error)\\]$`, 'm'));
      expect(refused.code).toBe(0); // a GPU not seen is a warning: idle releases then come after a warning
      for (const out of [seen, refused]) for (const secret of secrets) expect(out.stdout + out.stderr).not.toContain(secret);
    } finally {
      await fetch(`${sim.url}/sim/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({}) });
    }
  });

  it('reports an SMTP server that refuses the login', async () => {
    const r = await runCli(['check', '--config', config(smtp.port, 'user:hunter2@')], { XGC_API_TOKEN: 'good-token', XGC_API_BASE_URL: sim.url });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^error smtp EAUTH: cannot use the SMTP server/m);
    expect(r.stdout).not.toContain('hunter2');
  });
});
