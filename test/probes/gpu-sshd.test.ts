/**
 * The `gpu` probe against a real OpenSSH server (Debian openssh-server) on a loopback port, with a stub
 * `nvidia-smi` on the test user's PATH that prints what the test writes into a file (and loops with `-lms`).
 * `/proc/loadavg`, `/proc/net/dev` and `who -u` are this machine's own.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Client } from 'ssh2';
import { systemClock } from '../../src/clock.js';
import { openDb, type GuardDb } from '../../src/db/open.js';
import { GPU_SIGNAL_DEFAULTS } from '../../src/probes/gpu-signals.js';
import { forgetSshHostKey } from '../../src/probes/host-keys.js';
import { ProbeMonitor, type GpuProbeOptions } from '../../src/probes/monitor.js';
import { machineLock } from '../helpers/machine-lock.js';
import { access, freePort, sleep, systemDeps, waitFor } from './helpers.js';

// A user of this run's own: two copies of the suite on one machine must not reset each other's password or kill
// each other's sessions (`pkill -u` below). Deleted after the run.
const USER = `xgcprobe${randomBytes(3).toString('hex')}`;
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

describe.skipIf(missing !== null || notRoot)('gpu probe against a real sshd', () => {
  const password = 'pw-' + randomBytes(9).toString('hex');
  let dir = '';
  let port = 0;
  let sshd: ChildProcess | undefined;
  let createdUtmp = false;
  let releaseLogins: (() => void) | undefined;
  let createdUser = false;
  let g: GuardDb;
  const warnings: unknown[] = [];
  const log = { warn: (o: unknown) => void warnings.push(o), info: () => undefined, debug: () => undefined };
  const monitors: ProbeMonitor[] = [];
  /** A monitor watching the test sshd as one instance, sampling every 200 ms. */
  function watch(over: { password?: string; key?: boolean; gpu?: Partial<GpuProbeOptions> } = {}) {
    const gpu: GpuProbeOptions = {
      ...GPU_SIGNAL_DEFAULTS,
      enabled: true,
      sampleEveryMs: 200,
      connectTimeoutMs: 5_000,
      staleAfterMs: 1_500,
      windowMs: 1_000,
      connectConcurrency: 4,
      privateKeyFile: over.key ? join(dir, 'id_client') : undefined,
      // this machine's load is other work's (containers see the host's load average): only GPU and logins here
      cpuBusyLoad: 0,
      netBusyBytesPerSec: 0,
      ...over.gpu,
    };
    const m = new ProbeMonitor({ db: g.db, clock: systemClock, log, options: { gpu, apps: {}, appIntervalMs: 60_000, concurrency: 1 } });
    monitors.push(m);
    m.setTargets([inst({ password: over.password ?? '' })]);
    return m;
  }
  const answer = (m: ProbeMonitor) => m.gpuAnswer('ssh1', systemClock.now());
  // waits for something that must happen, bounded as a hang guard: two suites at once on 2 cores slowed an sshd
  // handshake past 10 s
  const until = (m: ProbeMonitor, pred: (a: ReturnType<typeof answer>) => boolean, ms = 60_000) => waitFor(async () => (pred(answer(m)) ? answer(m) : undefined), ms, 50);
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

  /** The sshd of the test is up (a test that stopped it and failed before restarting must not break the next). */
  async function ensureSshd(hostKey = join(dir, 'host_a')): Promise<void> {
    if (!sshd || sshd.exitCode !== null || sshd.signalCode !== null) await startSshd(hostKey);
  }

  async function stopSshd(): Promise<void> {
    if (!sshd || sshd.exitCode !== null) return;
    const exited = new Promise((r) => sshd!.once('exit', r));
    sshd.kill('SIGTERM');
    await Promise.race([exited, sleep(5000)]);
  }

  beforeAll(async () => {
    // pty logins are machine-wide (utmp): a second copy of the suite (scripts/stress-suite) logging in at the same
    // time would be seen by this file's probe, and its idle checks would fail. The copies take turns with this file.
    releaseLogins = await machineLock('sshd-logins', 280_000);
    g = openDb(':memory:');
    dir = mkdtempSync(join(tmpdir(), 'xgc-sshd-'));
    chmodSync(dir, 0o755);
    mkdirSync('/run/sshd', { recursive: true });
    // sshd records pty logins in utmp (what `who -u` reads); a container booted without systemd has none yet
    if (!existsSync('/run/utmp')) {
      writeFileSync('/run/utmp', '', { mode: 0o664 });
      createdUtmp = true;
    }
    run('/usr/sbin/useradd', ['-m', '-s', '/bin/sh', USER]);
    createdUser = true;
    run('/usr/sbin/chpasswd', [], `${USER}:${password}\n`);
    for (const k of ['host_a', 'host_b', 'id_client']) run('/usr/bin/ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', k, '-f', join(dir, k)]);
    writeFileSync(join(dir, 'authorized_keys'), readFileSync(join(dir, 'id_client.pub')), { mode: 0o644 });
    mkdirSync(join(dir, 'stub'), { mode: 0o755 });
    // the stub answers the query once, or loops every 0.2 s with -lms/-l (as nvidia-smi does) until the channel closes
    writeFileSync(
      join(dir, 'stub', 'nvidia-smi'),
      `#!/bin/sh\necho "$*" >> ${join(dir, 'calls')}\ncase "$*" in\n  *query-compute-apps*) echo "4242, python, 20480" ;;\n  *-lms*|*" -l "*) while cat ${join(dir, 'util')}; do sleep 0.2; done ;;\n  *) cat ${join(dir, 'util')} ;;\nesac\n`,
      { mode: 0o755 },
    );
    writeFileSync(join(dir, 'calls'), '', { mode: 0o666 });
    chmodSync(join(dir, 'calls'), 0o666);
    setGpu('0, 0\n');
    port = await freePort();
    await startSshd(join(dir, 'host_a'));
  });

  // a test that failed half-way must not leave its monitor connecting (and running commands) during the next
  afterEach(async () => {
    for (const m of monitors.splice(0)) await m.stop();
  });

  afterAll(async () => {
    await stopSshd();
    if (createdUser) {
      spawnSync('pkill', ['-KILL', '-u', USER]);
      spawnSync('/usr/sbin/userdel', ['-r', USER], { stdio: 'ignore' });
    }
    if (createdUtmp) rmSync('/run/utmp', { force: true });
    g?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
    releaseLogins?.();
  });

  it('streams busy at 85% over one connection with key auth, and trusts the host key on first use', async () => {
    setGpu('0, 85, 20480, 24564\n');
    const before = calls();
    const m = watch({ key: true });
    const a = await until(m, (x) => x?.verdict === 'busy');
    expect(a).toMatchObject({ verdict: 'busy', detail: 'GPU at 85% (busy at 10%)', metrics: { gpu_util_max: 85, memory_used_mib: 20480, gpus: 1 } });
    await sleep(1_000); // more samples arrive, still over the one stream started once
    const log = readFileSync(join(dir, 'calls'), 'utf8').split('\n').filter(Boolean).slice(before);
    // one query (the GPU count and a first sample), then one looping stream
    expect(log.slice(0, 2)).toEqual([
      '--query-gpu=index,utilization.gpu,memory.used,memory.total --format=csv,noheader,nounits',
      '--query-gpu=index,utilization.gpu,memory.used,memory.total --format=csv,noheader,nounits -lms 200',
    ]);
    expect(log.filter((l) => l.includes('-lms'))).toHaveLength(1);
    expect(m.status().streaming).toBe(1);
    const fp = run('/usr/bin/ssh-keygen', ['-l', '-E', 'sha256', '-f', join(dir, 'host_a.pub')]).split(' ')[1];
    expect(g.sqlite.prepare('select host_port, fingerprint from ssh_host_keys').all()).toEqual([{ host_port: `127.0.0.1:${port}`, fingerprint: fp }]);
    await m.stop();
  });

  it('is idle at 0% over all GPUs with the instance password; its own exec channels are never a login', async () => {
    setGpu('0, 0, 512, 24564\n1, 3, 100, 24564\n');
    const m = watch({ password });
    const a = await until(m, (x) => x?.verdict === 'idle' && x.metrics?.logins !== undefined && x.metrics?.net_bytes_per_sec !== undefined);
    expect(a).toMatchObject({ verdict: 'idle', metrics: { gpus: 2, gpu_util_max: 3, logins: 0 } });
    expect(a!.detail).toMatch(/^GPU at most 3%, load \d+\.\d\d, network \d.*\/s, no login$/);
    await m.stop();
  });

  it('an interactive login that types is busy while the GPU idles', async () => {
    await ensureSshd();
    setGpu('0, 0, 512, 24564\n');
    const m = watch({ password });
    await until(m, (x) => x?.verdict === 'idle');
    // a person logs in with a terminal (a pty) and types
    const user = new Client();
    await new Promise<void>((resolve, reject) => {
      user.once('ready', () => resolve()).once('error', reject);
      user.connect({ host: '127.0.0.1', port, username: USER, password, hostVerifier: () => true });
    });
    const shell = await new Promise<import('ssh2').ClientChannel>((resolve, reject) => user.shell({ term: 'xterm' }, (err, s) => (err ? reject(err) : resolve(s))));
    shell.write('echo typing\n');
    const busy = await until(m, (x) => x?.verdict === 'busy');
    expect(busy!.detail).toMatch(/^SSH login on pts\/\d+ typed within the last minute$/);
    shell.end();
    user.end();
    await until(m, (x) => x?.verdict === 'idle');
    await m.stop();
  });

  it('a dropped connection is re-established', async () => {
    setGpu('0, 60, 1, 2\n');
    const m = watch({ password });
    await until(m, (x) => x?.verdict === 'busy');
    // the instance goes away under the probe: the listener and every session of the user
    await stopSshd();
    spawnSync('pkill', ['-KILL', '-u', USER]);
    await until(m, (x) => x?.verdict === 'unknown');
    expect(answer(m)!.detail).toMatch(/^GPU not seen/);
    await startSshd(join(dir, 'host_a'));
    await until(m, (x) => x?.verdict === 'busy' && m.status().streaming === 1);
    await m.stop();
  });

  it('answers unknown on wrong credentials, without the password anywhere', async () => {
    await ensureSshd();
    await sleep(500); // let commands of the previous test's sessions finish writing their call log
    const before = calls();
    const m = watch({ password: 'not-the-password-42' });
    const a = await until(m, (x) => /authentication failed/.test(x?.detail ?? ''));
    expect(a!.verdict).toBe('unknown');
    expect(a!.detail).not.toContain('not-the-password-42');
    expect(JSON.stringify(warnings)).not.toContain('not-the-password-42');
    expect(calls()).toBe(before);
    await m.stop();
  });

  it('a changed host key is unknown with a warning: no password is sent and no command runs', async () => {
    await stopSshd();
    writeFileSync(join(dir, 'sshd.log'), '');
    await startSshd(join(dir, 'host_b'));
    setGpu('0, 85, 1, 2\n');
    const before = calls();
    warnings.length = 0;
    const m = watch({ password });
    const a = await until(m, (x) => /host key/.test(x?.detail ?? ''));
    expect(a!.verdict).toBe('unknown');
    expect(a!.detail).toMatch(/SSH host key of 127\.0\.0\.1:\d+ changed/);
    expect(a!.detail).not.toContain(password);
    expect(warnings.length).toBeGreaterThanOrEqual(1);
    expect(m.gpuDownReason('ssh1')).toBe('host_key_changed');
    // positive control: the sshd log does record authentications (see below), and here it saw none
    await sleep(300);
    expect(calls()).toBe(before);
    expect(readFileSync(join(dir, 'sshd.log'), 'utf8')).not.toMatch(/Accepted|Failed password|Failed publickey/);
    await m.stop();

    // Once the operator forgets the old key, the new one is trusted on first use again.
    expect(forgetSshHostKey(g.db, '127.0.0.1', port)).toBe(true);
    const m2 = watch({ password });
    await until(m2, (x) => x?.verdict === 'busy');
    await sleep(300);
    expect(readFileSync(join(dir, 'sshd.log'), 'utf8')).toContain(`Accepted password for ${USER}`);
    await m2.stop();
  });
});
