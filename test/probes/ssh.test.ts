/**
 * The SSH probe against a real OpenSSH server (Debian openssh-server) on a loopback port, with a stub
 * `nvidia-smi` on the test user's PATH that prints what the test writes into a file.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/clock.js';
import { openDb, type GuardDb } from '../../src/db/open.js';
import { createSshProbe, forgetSshHostKey } from '../../src/probes/ssh.js';
import type { ProbeContext } from '../../src/probes/types.js';
import { machineLock } from '../helpers/machine-lock.js';
import { access, freePort, sleep, systemDeps, waitFor } from './helpers.js';

const USER = 'xgcprobe';
const missing = systemDeps([
  { path: '/usr/sbin/sshd', pkg: 'openssh-server' },
  { path: '/usr/bin/ssh-keygen', pkg: 'openssh-client' },
  { path: '/usr/sbin/useradd', pkg: 'passwd' },
  { path: '/usr/sbin/chpasswd', pkg: 'passwd' },
]);
const notRoot = process.getuid?.() !== 0;
if (notRoot && !missing) console.warn('skipping ssh probe tests: they need root to run sshd and create a test user');

function run(cmd: string, args: string[], input?: string): string {
  const r = spawnSync(cmd, args, { input, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

describe.skipIf(missing !== null || notRoot)('ssh probe against a real sshd', () => {
  const password = 'pw-' + randomBytes(9).toString('hex');
  let dir = '';
  let port = 0;
  let sshd: ChildProcess | undefined;
  let g: GuardDb;
  let unlock: (() => void) | undefined;
  const warnings: unknown[] = [];
  const log = { warn: (o: unknown) => void warnings.push(o), info: () => undefined, debug: () => undefined };
  const ctx = (): ProbeContext => ({ now: systemClock.now(), clock: systemClock, timeoutMs: 10_000, db: g.db, log });
  const inst = (over: { password?: string } = {}) =>
    access({ id: 'ssh1', sshHost: '127.0.0.1', sshPort: port, sshUser: USER, password: over.password ?? '' });
  const setGpu = (text: string) => writeFileSync(join(dir, 'util'), text);
  const calls = () => (existsSync(join(dir, 'calls')) ? readFileSync(join(dir, 'calls'), 'utf8').split('\n').filter(Boolean).length : 0);

  async function startSshd(hostKey: string): Promise<void> {
    const cfg = join(dir, 'sshd_config');
    writeFileSync(
      cfg,
      [
        `Port ${port}`,
        'ListenAddress 127.0.0.1',
        `HostKey ${hostKey}`,
        `PidFile ${join(dir, 'sshd.pid')}`,
        `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
        'StrictModes no',
        'UsePAM no',
        'PubkeyAuthentication yes',
        'PasswordAuthentication yes',
        'KbdInteractiveAuthentication no',
        'PermitRootLogin no',
        `AllowUsers ${USER}`,
        `SetEnv PATH=${join(dir, 'stub')}:/usr/bin:/bin`,
        'LogLevel VERBOSE',
        '',
      ].join('\n'),
    );
    sshd = spawn('/usr/sbin/sshd', ['-D', '-f', cfg, '-p', String(port), '-E', join(dir, 'sshd.log')], { stdio: 'ignore' });
    await waitFor(
      () =>
        new Promise<boolean>((resolve) => {
          const s = connect(port, '127.0.0.1');
          s.once('connect', () => (s.destroy(), resolve(true)));
          s.once('error', () => resolve(false));
        }),
      15_000,
      100,
    );
  }

  async function stopSshd(): Promise<void> {
    if (!sshd || sshd.exitCode !== null) return;
    const exited = new Promise((r) => sshd!.once('exit', r));
    sshd.kill('SIGTERM');
    await Promise.race([exited, sleep(5000)]);
  }

  beforeAll(async () => {
    // The test user and its password are machine-wide: a second copy of the suite waits its turn.
    unlock = await machineLock('ssh-test-user');
    g = openDb(':memory:');
    dir = mkdtempSync(join(tmpdir(), 'xgc-sshd-'));
    chmodSync(dir, 0o755);
    mkdirSync('/run/sshd', { recursive: true });
    if (spawnSync('id', [USER], { stdio: 'ignore' }).status !== 0) run('/usr/sbin/useradd', ['-m', '-s', '/bin/sh', USER]);
    run('/usr/sbin/chpasswd', [], `${USER}:${password}\n`);
    for (const k of ['host_a', 'host_b', 'id_client']) run('/usr/bin/ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', k, '-f', join(dir, k)]);
    writeFileSync(join(dir, 'authorized_keys'), readFileSync(join(dir, 'id_client.pub')), { mode: 0o644 });
    mkdirSync(join(dir, 'stub'), { mode: 0o755 });
    writeFileSync(join(dir, 'stub', 'nvidia-smi'), `#!/bin/sh\necho "$*" >> ${join(dir, 'calls')}\ncat ${join(dir, 'util')}\n`, { mode: 0o755 });
    writeFileSync(join(dir, 'calls'), '', { mode: 0o666 });
    chmodSync(join(dir, 'calls'), 0o666);
    setGpu('0, 0\n');
    port = await freePort();
    await startSshd(join(dir, 'host_a'));
  }, 660_000);

  afterAll(async () => {
    await stopSshd();
    g?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
    unlock?.();
  });

  it('is busy at 85% GPU with key auth, and trusts the host key on first use', async () => {
    setGpu('85, 20480\n');
    const probe = createSshProbe({ privateKeyFile: join(dir, 'id_client'), samples: 3, sampleIntervalMs: 200 });
    const before = calls();
    const r = await probe.run(inst(), ctx());
    expect(r).toMatchObject({ verdict: 'busy', metrics: { gpu_util_max: 85, memory_used_mib_max: 20480, gpus: 1 } });
    expect(calls() - before).toBe(1); // one busy sample is enough
    expect(readFileSync(join(dir, 'calls'), 'utf8')).toContain('--query-gpu=utilization.gpu,memory.used --format=csv,noheader,nounits');
    const fp = run('/usr/bin/ssh-keygen', ['-l', '-E', 'sha256', '-f', join(dir, 'host_a.pub')]).split(' ')[1];
    const stored = g.sqlite.prepare('select host_port, fingerprint from ssh_host_keys').all();
    expect(stored).toEqual([{ host_port: `127.0.0.1:${port}`, fingerprint: fp }]);
  });

  it('is idle at 0% with the instance password, after taking `samples` samples over all GPUs', async () => {
    setGpu('0, 512\n3, 100\n');
    const before = calls();
    const r = await createSshProbe({ samples: 3, sampleIntervalMs: 100 }).run(inst({ password }), ctx());
    expect(r).toMatchObject({ verdict: 'idle', metrics: { gpus: 2, samples: 3, gpu_util_max: 3 } });
    expect(calls() - before).toBe(3);
  });

  it('respects gpu_busy_percent', async () => {
    setGpu('12, 0\n');
    expect((await createSshProbe({ samples: 1 }).run(inst({ password }), ctx())).verdict).toBe('busy');
    expect((await createSshProbe({ samples: 1, gpuBusyPercent: 50 }).run(inst({ password }), ctx())).verdict).toBe('idle');
  });

  it('answers unknown on wrong credentials, without the password in the detail', async () => {
    const before = calls();
    const r = await createSshProbe({ samples: 1 }).run(inst({ password: 'not-the-password-42' }), ctx());
    expect(r.verdict).toBe('unknown');
    expect(r.detail).toMatch(/authentication failed/);
    expect(r.detail).not.toContain('not-the-password-42');
    expect(calls()).toBe(before);
  });

  it('answers unknown with a warning when the host key changed, and sends no password and runs nothing', async () => {
    await stopSshd();
    writeFileSync(join(dir, 'sshd.log'), '');
    await startSshd(join(dir, 'host_b'));
    setGpu('85, 0\n');
    const before = calls();
    const r = await createSshProbe({ samples: 1 }).run(inst({ password }), ctx());
    expect(r.verdict).toBe('unknown');
    expect(r.detail).toMatch(/host key of 127\.0\.0\.1:\d+ changed/);
    expect(r.detail).not.toContain(password);
    expect(warnings).toHaveLength(1);
    expect(calls()).toBe(before);

    // Once the operator forgets the old key, the new one is trusted on first use again. This login is also the
    // positive control for the sshd log: once its line is there, so is anything the refused connection caused.
    expect(forgetSshHostKey(g.db, '127.0.0.1', port)).toBe(true);
    expect((await createSshProbe({ samples: 1 }).run(inst({ password }), ctx())).verdict).toBe('busy');
    const sshdLog = await waitFor(
      async () => {
        const text = readFileSync(join(dir, 'sshd.log'), 'utf8');
        return /Accepted password for xgcprobe/.test(text) && text;
      },
      15_000,
      100,
    );
    expect(sshdLog.match(/Accepted \w+ for/g)).toHaveLength(1); // that login only: the refused connection never authenticated
    expect(sshdLog).not.toMatch(/Failed password|Failed publickey/);
  });
});
