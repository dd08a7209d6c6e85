/**
 * The simulator's SSH: a client that reads only `GET /open/instances` logs in over real SSH (ssh2's Client),
 * runs the fixed commands, streams `nvidia-smi -lms` on the simulator's clock, and sees GPU, CPU, network
 * and logins follow the kind of work; auth, stop, host-key rotation and SSH faults behave as documented.
 */
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { startSimulator, type RunningSim } from '../../src/sim/index.js';
import { apiAccess, connect, run, stream, until, type ApiAccess } from './ssh-client.js';

const TOKEN = 'tok-ssh';
const T0 = Date.UTC(2026, 10, 2, 1, 0, 0);
const GPU_Q = 'nvidia-smi --query-gpu=index,utilization.gpu,memory.used,memory.total --format=csv,noheader,nounits';
const APPS_Q = 'nvidia-smi --query-compute-apps=pid,process_name,used_memory --format=csv,noheader,nounits';
let sim: RunningSim;
let clock: ManualClock;
const clients: ssh2.Client[] = [];

async function post(path: string, body: unknown): Promise<any> {
  const r = await fetch(`${sim.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const json = await r.json();
  if (!r.ok) throw new Error(`${path}: ${JSON.stringify(json)}`);
  return json;
}
const truth = async (id: string) => ((await (await fetch(`${sim.url}/sim/state`)).json()) as any).instances.find((i: any) => i.id === id);
const access = async (id: string): Promise<ApiAccess> => (await apiAccess(sim.url, TOKEN)).get(id)!;
async function login(id: string, over: Parameters<typeof connect>[1] = {}) {
  const c = await connect(await access(id), over);
  clients.push(c.client);
  return c;
}
/**
 * A key pair the way a user's tool makes one. ssh2's ed25519 keygen strips leading zero bytes off the public key,
 * so about 1 pair in 256 cannot be parsed back (mscdex/ssh2#1390, #1513): draw until both halves read.
 */
function userKeyPair(): { private: string; public: string } {
  for (;;) {
    const k = ssh2.utils.generateKeyPairSync('ed25519');
    if (!(ssh2.utils.parseKey(k.private) instanceof Error) && !(ssh2.utils.parseKey(k.public) instanceof Error)) return k;
  }
}
const advance = (s: number) => post('/sim/clock/advance', { seconds: s });
const gpuUtils = (stdout: string) => stdout.trim().split('\n').map((l) => Number(l.split(', ')[1]));

beforeAll(async () => {
  clock = new ManualClock(T0);
  sim = await startSimulator({ token: TOKEN, clock, instances: 0, seed: 5 });
});
afterEach(async () => {
  for (const c of clients.splice(0)) c.end();
  await post('/sim/faults', {});
});
afterAll(async () => {
  await sim.close();
});

describe('login with what the Open API gives', () => {
  it('ssh_domain / ssh_port reach a real SSH server; password auth as ssh_user runs every fixed command in the real formats', async () => {
    const { id } = await post('/sim/instances', { name: 'web', image: 'WebUI', busy: true, gpu_util: 88 });
    const a = await access(id);
    expect(a).toMatchObject({ ssh_domain: '127.0.0.1', ssh_user: 'root' });
    expect(a.ssh_port).toMatch(/^\d+$/);
    const { client } = await login(id);

    expect(await run(client, GPU_Q)).toEqual({ stdout: '0, 88, 20511, 24564\n', stderr: '', code: 0 });
    const apps = await run(client, APPS_Q);
    expect(apps.stdout).toMatch(/^\d+, \/root\/miniconda3\/bin\/python, \d+\n$/);
    const withHeader = await run(client, 'nvidia-smi --query-gpu=index,utilization.gpu,memory.used,memory.total --format=csv');
    expect(withHeader.stdout).toBe('index, utilization.gpu [%], memory.used [MiB], memory.total [MiB]\n0, 88 %, 20511 MiB, 24564 MiB\n');
    expect((await run(client, 'cat /proc/loadavg')).stdout).toMatch(/^\d+\.\d\d \d+\.\d\d \d+\.\d\d \d+\/\d+ \d+\n$/);
    const net = (await run(client, 'cat /proc/net/dev')).stdout.split('\n');
    expect(net[0]).toBe('Inter-|   Receive                                                |  Transmit');
    expect(net[1]).toBe(' face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed');
    expect(net[2]).toMatch(/^ {4}lo: +\d+( +\d+){15}$/);
    expect(net[3]).toMatch(/^ {2}eth0: +\d+( +\d+){15}$/);
    expect(await run(client, 'who -u')).toEqual({ stdout: '', stderr: '', code: 0 }); // this exec channel has no tty: no login
  });

  it('anything else exits 127 with "command not found" on stderr; the fake filesystem has only what it shows', async () => {
    const { id } = await post('/sim/instances', { name: 'nb', image: 'Jupyter' });
    const { client } = await login(id);
    for (const cmd of ['rm -rf /', 'reboot', 'python -c 1', 'sudo ls']) {
      const r = await run(client, cmd);
      expect(r.code, cmd).toBe(127);
      expect(r.stderr, cmd).toBe(`bash: line 1: ${cmd.split(' ')[0]}: command not found\n`);
      expect(r.stdout, cmd).toBe('');
    }
    expect(await run(client, 'cat /etc/shadow')).toEqual({ stdout: '', stderr: 'cat: /etc/shadow: No such file or directory\n', code: 1 });
    const chained = await run(client, 'nvidia-smi -L; reboot');
    expect(chained.stdout).toMatch(/^GPU 0: NVIDIA GeForce RTX 4090 D \(UUID: GPU-[0-9a-f-]{36}\)\n$/);
    expect(chained).toMatchObject({ stderr: 'bash: line 1: reboot: command not found\n', code: 127 });
    for (const cmd of ['nvidia-smi | head', 'ls > /tmp/x', 'sleep 100 &', 'echo $(id)']) {
      const r = await run(client, cmd);
      expect(r.code, cmd).toBe(2); // refused outright, not half-run
      expect(r.stderr, cmd).toMatch(/not supported by this simulated shell/);
      expect(r.stdout, cmd).toBe('');
    }
    const badField = await run(client, 'nvidia-smi --query-gpu=bogus --format=csv');
    expect(badField.code).toBe(2);
    expect(badField.stdout).toContain('"bogus" is not a valid field');
  });

  it('a wrong password is refused, and so is any other user', async () => {
    const { id } = await post('/sim/instances', { name: 'pw', image: 'Jupyter' });
    await expect(login(id, { password: 'not-the-password' })).rejects.toMatchObject({ level: 'client-authentication' });
    await expect(login(id, { username: 'ubuntu' })).rejects.toMatchObject({ level: 'client-authentication' });
    await expect(login(id)).resolves.toBeTruthy(); // positive control
  });

  it("public-key auth: the API's ssh_key, and an account key the instance was created with; other keys are refused", async () => {
    const { id } = await post('/sim/instances', { name: 'keys', image: 'Jupyter' });
    await expect(login(id, { useKey: true, password: undefined })).resolves.toBeTruthy();
    const mine = userKeyPair();
    await expect(login(id, { privateKey: mine.private, password: undefined })).rejects.toMatchObject({ level: 'client-authentication' });
    const { id: keyId } = await post('/sim/ssh-keys', { public_key: mine.public });
    const { id: withKey } = await post('/sim/instances', { name: 'keyed', image: 'Jupyter', ssh_key: keyId });
    await expect(login(withKey, { privateKey: mine.private, password: undefined })).resolves.toBeTruthy();
    expect((await truth(withKey)).machine.ssh.authorized_keys).toEqual([keyId]);
    const bad = await fetch(`${sim.url}/sim/ssh-keys`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ public_key: 'ssh-ed25519 nope' }) });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as any).error.message).toMatch(/^public_key/);
  });
});

describe('values follow the kind of work', () => {
  it('app work shows in Jupyter and on GPU 0; background work keeps the GPUs busy while every app is idle', async () => {
    const { id } = await post('/sim/instances', { name: 'train', image: 'Jupyter', gpu_count: 2 });
    const a = await access(id);
    const jupyter = async () => ((await (await fetch(`${sim.url}/c/${id}-8888/api/kernels?token=${(await truth(id)).jupyter_token}`)).json()) as any)[0].execution_state;
    const { client } = await login(id);
    expect(gpuUtils((await run(client, GPU_Q)).stdout)).toEqual([0, 0]);
    expect((await run(client, APPS_Q)).stdout).toBe('');

    await post(`/sim/instances/${id}/activity`, { busy: true });
    expect(gpuUtils((await run(client, GPU_Q)).stdout)).toEqual([95, 0]);
    expect(await jupyter()).toBe('busy');

    await post(`/sim/instances/${id}/activity`, { busy: true, kind: 'background', gpu_util: 97 });
    expect(gpuUtils((await run(client, GPU_Q)).stdout)).toEqual([97, 97]);
    expect((await run(client, APPS_Q)).stdout.trim().split('\n')).toHaveLength(2);
    expect(await jupyter()).toBe('idle');
    const t = await truth(id);
    expect(t).toMatchObject({ busy: true, kind: 'background', app_busy: false });
    expect(a.ssh_port).toBe(String(t.machine.ssh.port));

    await post(`/sim/instances/${id}/activity`, { busy: false });
    expect(gpuUtils((await run(client, GPU_Q)).stdout)).toEqual([0, 0]);
  });

  it('POST /sim/instances {image: Jupyter, busy: false, gpu_util: 97} is background GPU work, as users have set it up', async () => {
    const { id } = await post('/sim/instances', { name: 'nohup', image: 'Jupyter', busy: false, gpu_util: 97 });
    expect(await truth(id)).toMatchObject({ busy: true, kind: 'background', app_busy: false, gpu_util: 97 });
    const { client } = await login(id);
    expect((await run(client, GPU_Q)).stdout).toBe('0, 97, 20511, 24564\n');
  });

  it('cpu work: GPU near 0, load average climbs toward its level and the eth0 byte counters grow fast', async () => {
    const { id } = await post('/sim/instances', { name: 'dl', image: 'Jupyter' });
    const { client } = await login(id);
    const load1 = async () => Number((await run(client, 'cat /proc/loadavg')).stdout.split(' ')[0]);
    const rx = async () => Number((await run(client, 'cat /proc/net/dev')).stdout.split('\n')[3].trim().split(/\s+/)[1]);
    await advance(120);
    const idleLoad = await load1();
    const idleRx0 = await rx();
    await advance(60);
    const idleRate = ((await rx()) - idleRx0) / 60;
    await post(`/sim/instances/${id}/activity`, { busy: true, kind: 'cpu' });
    const rx0 = await rx();
    await advance(300);
    expect(gpuUtils((await run(client, GPU_Q)).stdout)).toEqual([0]);
    expect(await load1()).toBeGreaterThan(idleLoad + 4);
    const busyRate = ((await rx()) - rx0) / 300;
    expect(busyRate).toBeGreaterThan(1_000_000);
    expect(busyRate).toBeGreaterThan(1000 * idleRate);
    await post(`/sim/instances/${id}/activity`, { busy: false });
    await advance(900);
    expect(await load1()).toBeLessThan(1);
  });

  it('interactive work is a login typing now ("."), idle time grows after it stops; logins vanish at stop', async () => {
    const { id } = await post('/sim/instances', { name: 'tty', image: 'Jupyter' });
    const { client } = await login(id);
    expect((await run(client, 'who -u')).stdout).toBe('');
    await post(`/sim/instances/${id}/activity`, { busy: true, kind: 'interactive' });
    await advance(600);
    expect((await run(client, 'who -u')).stdout).toMatch(/^root {5}pts\/0 {8}2026-11-02 \d\d:\d\d {3}\. +\d+ \(203\.0\.113\.24\)\n$/);
    expect(gpuUtils((await run(client, GPU_Q)).stdout)).toEqual([0]);
    await post(`/sim/instances/${id}/activity`, { busy: false });
    await advance(25 * 60 + 5);
    expect((await run(client, 'who -u')).stdout).toMatch(/^root {5}pts\/0 {8}2026-11-02 \d\d:\d\d 00:25 +\d+ \(203\.0\.113\.24\)\n$/);
    expect((await truth(id)).machine.logins).toEqual([expect.objectContaining({ tty: 'pts/0', idle_s: 25 * 60 + 5, source: 'sim' })]);
  });

  it('a real SSH shell with a pty is a login whose idle time follows the keys typed; exec channels without a tty never are', async () => {
    const { id } = await post('/sim/instances', { name: 'human', image: 'Jupyter' });
    const { client: human } = await login(id);
    const { client: probe } = await login(id);
    const shell = await new Promise<ssh2.ClientChannel>((resolve, reject) => human.shell((err, ch) => (err ? reject(err) : resolve(ch))));
    let screen = '';
    shell.on('data', (d: Buffer) => (screen += d.toString()));
    await until(() => screen.includes('# '), 5_000, 'prompt');
    const who = async () => (await run(probe, 'who -u')).stdout;
    expect(await who()).toMatch(/^root {5}pts\/0 .* {3}\. .*\(127\.0\.0\.1\)\n$/);
    await advance(7 * 60);
    expect(await who()).toMatch(/ 00:07 /);
    shell.write('cat /proc/loadavg\r');
    await until(() => /\d+\.\d\d \d+\.\d\d/.test(screen), 5_000, 'loadavg in the shell');
    expect(await who()).toMatch(/ {3}\. {3}/);
    const closed = new Promise((r) => shell.once('close', r));
    shell.write('exit\r');
    await closed;
    expect(await who()).toBe('');
  });
});

describe('streaming on the simulator clock', () => {
  it('-lms N prints one block per N ms of sim time, stamped with sim time; a jump prints one block, not the missed ones', async () => {
    const { id } = await post('/sim/instances', { name: 'stream', image: 'Jupyter', gpu_count: 2 });
    const { client } = await login(id);
    const s = await stream(client, 'nvidia-smi --query-gpu=timestamp,index,utilization.gpu --format=csv,noheader,nounits -lms 1000');
    await until(() => s.lines.length === 2, 5_000, 'first block');
    const t0 = clock.now();
    const stamp = (ms: number) => new Date(ms).toISOString().replace('T', ' ').replace(/-/g, '/').replace('Z', '');
    expect(s.lines).toEqual([`${stamp(t0)}, 0, 0`, `${stamp(t0)}, 1, 0`]);
    await post(`/sim/instances/${id}/activity`, { busy: true, kind: 'background', gpu_util: 91 });
    await advance(1);
    await until(() => s.lines.length === 4, 5_000, 'second block');
    expect(s.lines.slice(2)).toEqual([`${stamp(t0 + 1000)}, 0, 91`, `${stamp(t0 + 1000)}, 1, 91`]);
    // A jump over 30 periods: one block, stamped at the new time.
    await advance(30.5);
    await until(() => s.lines.length === 6, 5_000, 'block after the jump');
    expect(s.lines.slice(4)).toEqual([`${stamp(t0 + 31_500)}, 0, 91`, `${stamp(t0 + 31_500)}, 1, 91`]);
    // Without clock movement nothing more comes; the positive control is the block that follows an advance.
    const before = s.lines.length;
    await new Promise((r) => setTimeout(r, 300));
    expect(s.lines.length).toBe(before);
    await advance(0.5);
    await until(() => s.lines.length === before + 2, 5_000, 'block on the grid');
    expect(s.lines[before]).toMatch(new RegExp(`^${stamp(t0 + 32_000).replace(/[/.]/g, '\\$&')}`));
    s.close();
    await s.closed;
  });

  it('-l N loops in seconds and the stream survives until the channel closes', async () => {
    const { id } = await post('/sim/instances', { name: 'l', image: 'Jupyter' });
    const { client } = await login(id);
    const s = await stream(client, `${GPU_Q} -l 5`);
    await until(() => s.lines.length === 1, 5_000, 'first line');
    await advance(4);
    await new Promise((r) => setTimeout(r, 150));
    expect(s.lines).toHaveLength(1);
    await advance(1);
    await until(() => s.lines.length === 2, 5_000, 'second line after 5 s');
    s.close();
    await s.closed;
  });
});

describe('stop, host keys and faults', () => {
  it('connections to an instance that stops running are closed, and auth is refused until it runs again', async () => {
    const { id } = await post('/sim/instances', { name: 'stop', image: 'Jupyter' });
    const { client } = await login(id);
    const s = await stream(client, `${GPU_Q} -lms 500`);
    const closed = new Promise<void>((r) => client.once('close', () => r()));
    await fetch(`${sim.url}/open/instance/shutdown_release_gpu`, { method: 'POST', headers: { authorization: TOKEN, 'content-type': 'application/json' }, body: JSON.stringify({ id }) });
    await Promise.race([closed, new Promise((_r, reject) => setTimeout(() => reject(new Error('the connection is still open 5 s after the stop')), 5_000))]);
    await s.closed;
    await expect(login(id)).rejects.toMatchObject({ level: 'client-authentication' }); // shutting_down
    await advance(60);
    expect((await truth(id)).status).toBe('shutdown');
    await expect(login(id)).rejects.toMatchObject({ level: 'client-authentication' });
    const boot = await fetch(`${sim.url}/open/instance/boot`, { method: 'POST', headers: { authorization: TOKEN, 'content-type': 'application/json' }, body: JSON.stringify({ id }) });
    expect(((await boot.json()) as any).code).toBe(200);
    await advance(60);
    await expect(login(id)).resolves.toBeTruthy(); // same port, running again
  });

  it('POST /sim/instances/:id/host-key rotates the key: the next client sees a different, announced fingerprint', async () => {
    const { id } = await post('/sim/instances', { name: 'hk', image: 'Jupyter' });
    const first = await login(id);
    const again = await login(id);
    expect(again.hostKey).toBe(first.hostKey);
    expect((await truth(id)).machine.ssh.host_key_fingerprint).toBe(first.hostKey);
    const rotated = await post(`/sim/instances/${id}/host-key`, {});
    const after = await login(id);
    expect(after.hostKey).not.toBe(first.hostKey);
    expect(after.hostKey).toBe(rotated.fingerprint);
    expect((await run(first.client, GPU_Q)).code).toBe(0); // an open session survives the rotation
  });

  it('host keys are stable for a seed: a second simulator with the same seed serves the same key', async () => {
    const other = await startSimulator({ token: TOKEN, clock: new ManualClock(T0), instances: 2, seed: 5 });
    const mine = await startSimulator({ token: TOKEN, clock: new ManualClock(T0), instances: 2, seed: 5 });
    try {
      const a = [...(await apiAccess(other.url, TOKEN)).values()][0];
      const b = [...(await apiAccess(mine.url, TOKEN)).values()][0];
      expect(a.id).toBe(b.id);
      const ca = await connect(a);
      const cb = await connect(b);
      clients.push(ca.client, cb.client);
      expect(ca.hostKey).toBe(cb.hostKey);
    } finally {
      await other.close();
      await mine.close();
    }
  });

  it('ssh_refuse_rate 1 closes every new connection; ssh_hang_rate 1 never answers the handshake; 0 works again', async () => {
    const { id } = await post('/sim/instances', { name: 'faulty', image: 'Jupyter' });
    expect(await post('/sim/faults', { ssh_refuse_rate: 1 })).toMatchObject({ ssh_refuse_rate: 1, ssh_hang_rate: 0 });
    await expect(login(id)).rejects.toThrow();
    await post('/sim/faults', { ssh_hang_rate: 1 });
    const t0 = Date.now();
    await expect(login(id, { readyTimeout: 400 })).rejects.toMatchObject({ level: 'client-timeout' });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(350);
    await post('/sim/faults', {});
    await expect(login(id)).resolves.toBeTruthy();
    const bad = await fetch(`${sim.url}/sim/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ssh_hang_rate: 2 }) });
    expect(((await bad.json()) as any).error.message).toMatch(/^ssh_hang_rate/);
  });

  it('ssh_hang_rate also stalls exec channels of a live connection: the command never answers', async () => {
    const { id } = await post('/sim/instances', { name: 'stall', image: 'Jupyter' });
    const { client } = await login(id);
    await post('/sim/faults', { ssh_hang_rate: 1 });
    const r = await Promise.race([run(client, GPU_Q), new Promise((res) => setTimeout(() => res('stalled'), 300))]);
    expect(r).toBe('stalled');
    await post('/sim/faults', {});
    expect((await run(client, GPU_Q)).code).toBe(0); // positive control on the same connection
  });
});

describe("Debian's OpenSSH client", () => {
  it("logs in with the API's ssh_key and runs nvidia-smi", async () => {
    const { id } = await post('/sim/instances', { name: 'openssh', image: 'ComfyUI', busy: true, kind: 'app', gpu_util: 64 });
    const a = await access(id);
    const dir = mkdtempSync(join(tmpdir(), 'sim-ssh-'));
    try {
      const key = join(dir, 'id');
      writeFileSync(key, a.ssh_key);
      chmodSync(key, 0o600);
      const args = ['-i', key, '-p', a.ssh_port, '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no', '-o', `UserKnownHostsFile=${join(dir, 'known')}`, `${a.ssh_user}@${a.ssh_domain}`, GPU_Q];
      const out = await new Promise<{ stdout: string; code: number }>((resolve) =>
        execFile('ssh', args, { timeout: 15_000 }, (err, stdout) => resolve({ stdout, code: err ? ((err as any).code ?? 1) : 0 })),
      );
      expect(out).toEqual({ stdout: '0, 64, 20511, 24564\n', code: 0 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
