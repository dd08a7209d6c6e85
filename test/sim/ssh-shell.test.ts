/**
 * "SSH in and look" with Debian's OpenSSH client (`ssh`, `sftp`, `scp`) and `sshpass`, using only what the Open API
 * gives (ssh_domain, ssh_port, ssh_user, password): bare `nvidia-smi` prints the table with the instance's GPUs and
 * their current utilisation and memory, `nvidia-smi -L` lists them, the small shell runs `uptime; ls`, `&&`/`||`,
 * and refuses unknown commands with 127; SFTP lists and fetches files of the home, and refuses writes.
 * Skips (naming the Debian package) without /usr/bin/ssh, /usr/bin/sftp or /usr/bin/sshpass; fails instead with
 * REQUIRE_SYSTEM_DEPS=1.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { idHash } from '../../src/sim/machine.js';
import { samplePng } from '../../src/sim/fs.js';
import { startSimulator, type RunningSim } from '../../src/sim/index.js';
import { systemDeps } from '../probes/helpers.js';
import { apiAccess, connect, until, type ApiAccess } from './ssh-client.js';

const missing = systemDeps([
  { path: '/usr/bin/ssh', pkg: 'openssh-client' },
  { path: '/usr/bin/sftp', pkg: 'openssh-client' },
  { path: '/usr/bin/scp', pkg: 'openssh-client' },
  { path: '/usr/bin/sshpass', pkg: 'sshpass' },
]);

const TOKEN = 'tok-ssh-shell';
const T0 = Date.UTC(2026, 10, 2, 1, 0, 0);
const GPU_Q = 'nvidia-smi --query-gpu=index,utilization.gpu,memory.used,memory.total --format=csv,noheader,nounits';
const SSH_OPTS = ['-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'PreferredAuthentications=password', '-o', 'PubkeyAuthentication=no', '-o', 'LogLevel=ERROR'];
let sim: RunningSim;
let clock: ManualClock;
let dir: string;

async function post(path: string, body: unknown): Promise<any> {
  const r = await fetch(`${sim.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const json = await r.json();
  if (!r.ok) throw new Error(`${path}: ${JSON.stringify(json)}`);
  return json;
}
const access = async (id: string): Promise<ApiAccess> => (await apiAccess(sim.url, TOKEN)).get(id)!;

interface Ran {
  stdout: string;
  stderr: string;
  code: number | null;
  raw: Buffer;
}

/** Run a Debian OpenSSH tool through sshpass (the password in SSHPASS, not on the command line). */
function tool(a: ApiAccess, argv: string[], input = ''): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn('/usr/bin/sshpass', ['-e', ...argv], { env: { ...process.env, SSHPASS: a.password }, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const raw = Buffer.concat(out);
      resolve({ stdout: raw.toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), code, raw });
    });
    child.stdin.end(input);
  });
}
const ssh = (a: ApiAccess, command: string | null, input = '') =>
  tool(a, ['/usr/bin/ssh', ...SSH_OPTS, '-p', a.ssh_port, `${a.ssh_user}@${a.ssh_domain}`, ...(command === null ? [] : [command])], input);
const sftp = (a: ApiAccess, batch: string) => {
  const file = join(dir, `batch-${Math.random().toString(36).slice(2)}`);
  writeFileSync(file, batch);
  return tool(a, ['/usr/bin/sftp', '-oBatchMode=no', ...SSH_OPTS, '-P', a.ssh_port, '-b', file, `${a.ssh_user}@${a.ssh_domain}`]);
};

beforeAll(async () => {
  clock = new ManualClock(T0);
  sim = await startSimulator({ token: TOKEN, clock, instances: 0, seed: 11 });
  dir = mkdtempSync(join(tmpdir(), 'sim-ssh-shell-'));
});
afterAll(async () => {
  await sim?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(missing !== null)("SSH in and look, with Debian's OpenSSH client and sshpass", () => {
  it('bare nvidia-smi prints the table: driver, each GPU by name, its utilisation and memory, and the processes', async () => {
    const { id } = await post('/sim/instances', { name: 'look', image: 'ComfyUI', gpu_model: 'RTX 4090', gpu_count: 2, busy: true, kind: 'app', gpu_util: 73 });
    const a = await access(id);
    const r = await ssh(a, 'nvidia-smi');
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(/^Mon Nov {2}2 01:00:00 2026 {7}$/); // the simulator's clock, ctime layout
    expect(lines[2]).toMatch(/^\| NVIDIA-SMI 535\.\d+\.\d+ +Driver Version: 535\.\d+\.\d+ +CUDA Version: 12\.2 +\|$/);
    // one block per GPU: name, then fan/temp/power, memory used/total and GPU-Util as the query reports them
    const gpuRows = lines.filter((l) => /^\| +\d+ {2}NVIDIA GeForce RTX 4090 +Off \| 00000000:[0-9A-F]{2}:00\.0 Off \|/.test(l));
    expect(gpuRows).toHaveLength(2);
    const q = (await ssh(a, GPU_Q)).stdout.trim().split('\n').map((l) => l.split(', ').map(Number));
    expect(q).toEqual([
      [0, 73, 20511, 24564],
      [1, 0, 0, 24564],
    ]);
    const usage = lines.filter((l) => /MiB \/ \d+MiB/.test(l));
    expect(usage).toHaveLength(2);
    expect(usage[0]).toMatch(/^\| +\d+% +\d+C +P2 +\d+W \/ 450W \| +20511MiB \/ 24564MiB \| +73% +Default \|$/);
    expect(usage[1]).toMatch(/^\| +0% +\d+C +P8 +\d+W \/ 450W \| +0MiB \/ 24564MiB \| +0% +Default \|$/);
    const procs = lines.slice(lines.findIndex((l) => l.includes('Processes:')));
    expect(procs.some((l) => /^\| +0 +N\/A +N\/A +\d+ +C +\/root\/miniconda3\/bin\/python +20205MiB \|$/.test(l))).toBe(true);
    // a table: every framed line is as wide as the frame
    const framed = lines.filter((l) => l.startsWith('|') || l.startsWith('+'));
    expect(new Set(framed.map((l) => l.length))).toEqual(new Set([89]));

    // the table follows the work: idle now, every GPU at 0% and no process
    await post(`/sim/instances/${id}/activity`, { busy: false });
    const idle = (await ssh(a, 'nvidia-smi')).stdout;
    expect(idle.match(/ 0% +Default/g)).toHaveLength(2);
    expect(idle).not.toMatch(/ 73%/);
  });

  it('nvidia-smi -L lists the GPUs with stable UUIDs; a CPU-only instance has none', async () => {
    const { id } = await post('/sim/instances', { name: 'list', image: 'Jupyter', gpu_model: 'RTX 4090 D 48G', gpu_count: 3 });
    const a = await access(id);
    const r = await ssh(a, 'nvidia-smi -L');
    expect(r.code).toBe(0);
    const rows = r.stdout.split('\n').slice(0, -1);
    expect(rows).toHaveLength(3);
    rows.forEach((l, k) => expect(l).toMatch(new RegExp(`^GPU ${k}: NVIDIA GeForce RTX 4090 D 48G \\(UUID: GPU-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\\)$`)));
    expect(new Set(rows.map((l) => l.slice(-38))).size).toBe(3);
    expect((await ssh(a, 'nvidia-smi -L')).stdout).toBe(r.stdout);

    const { id: cpu } = await post('/sim/instances', { name: 'cpu', image: 'Jupyter', gpu_count: 0 });
    const c = await ssh(await access(cpu), 'nvidia-smi -L');
    expect(c).toMatchObject({ stdout: 'No devices were found\n', code: 6 });
  });

  it('uptime; ls — both run: the running time and load average, then the home one name per line', async () => {
    const { id } = await post('/sim/instances', { name: 'up', image: 'ComfyUI' });
    const a = await access(id);
    await post('/sim/clock/advance', { seconds: 3 * 3600 + 7 * 60 });
    const r = await ssh(a, 'uptime; ls');
    expect(r.code).toBe(0);
    const [up, ...ls] = r.stdout.split('\n');
    expect(up).toMatch(/^ 04:07:\d\d up {2}3:07, {2}0 users, {2}load average: \d+\.\d\d, \d+\.\d\d, \d+\.\d\d$/);
    const load = (await ssh(a, 'cat /proc/loadavg')).stdout.split(' ').slice(0, 3);
    expect(up.endsWith(`load average: ${load.join(', ')}`)).toBe(true);
    expect(ls).toEqual(['ComfyUI', 'README.md', 'cloud', 'miniconda3', '']);
    await post('/sim/balance', { balance: 100_000 }); // two days of every instance here must not run the account dry
    await post('/sim/clock/advance', { seconds: 2 * 86_400 });
    expect((await ssh(a, 'uptime')).stdout).toMatch(/ up 2 days, {2}3:07, /);

    const la = await ssh(a, 'ls -la; ls cloud');
    expect(la.stdout).toMatch(/^total \d+\ndrwx------ +\d+ root root +4096 \w{3} [ \d]\d +[\d:]+ \.\n/);
    expect(la.stdout).toMatch(/\n-rw-r--r-- +1 root root +\d+ \w{3} [ \d]\d +[\d:]+ README\.md\n/);
    expect(la.stdout).toMatch(/ 1 root root +\d+ Apr 18 {2}2024 \.bashrc\n/);
    expect(la.stdout.endsWith('README.txt\ndatasets\nmodels\n')).toBe(true);
    const misc = await ssh(a, 'pwd; whoami; hostname; echo "$HOME" \'$HOME\'; df -h; free -h; cat /etc/os-release');
    const out = misc.stdout.split('\n');
    expect(out.slice(0, 4)).toEqual(['/root', 'root', id.slice(0, 12), '/root $HOME']);
    expect(misc.stdout).toMatch(/\nFilesystem +Size +Used Avail Use% Mounted on\noverlay +30G +\d+G +\d+G +\d+% \/\n/);
    expect(misc.stdout).toMatch(/\nxgcos +50G +[\d.]+[MG] +\d+G +\d+% \/root\/cloud\n/);
    expect(misc.stdout).toMatch(/\n {15}total {8}used {8}free {6}shared {2}buff\/cache {3}available\nMem: +\d+Gi +[\d.]+Gi +\d+Gi +/);
    expect(misc.stdout).toContain('PRETTY_NAME="Ubuntu 22.04.4 LTS"\n');
    // the used size df shows is the one the platform bills after a release
    const set = await post(`/sim/instances/${id}`, { disk_used_gb: 21.5 });
    expect(set).toMatchObject({ disk_used_gb: 21.5 });
    expect((await ssh(a, 'df -h /')).stdout).toMatch(/\noverlay +30G +22G +8\.5G +72% \/\n/);
  });

  it('false && echo no prints nothing; || runs on failure; an unknown command exits 127', async () => {
    const { id } = await post('/sim/instances', { name: 'ops', image: 'Jupyter' });
    const a = await access(id);
    expect(await ssh(a, 'false && echo no')).toMatchObject({ stdout: '', stderr: '', code: 1 });
    expect(await ssh(a, 'true && echo yes')).toMatchObject({ stdout: 'yes\n', code: 0 });
    expect(await ssh(a, 'false || echo fallback; echo $?')).toMatchObject({ stdout: 'fallback\n0\n', code: 0 });
    expect(await ssh(a, 'frobnicate --now')).toMatchObject({ stdout: '', stderr: 'bash: line 1: frobnicate: command not found\n', code: 127 });
    expect(await ssh(a, 'frobnicate && echo no')).toMatchObject({ stdout: '', code: 127 });
    expect(await ssh(a, 'cd /nope && pwd')).toMatchObject({ stdout: '', stderr: 'bash: line 1: cd: /nope: No such file or directory\n', code: 1 });
  });

  it('a shell without a command: lines run in order (cd carries over) and `exit N` sets the exit code', async () => {
    const { id } = await post('/sim/instances', { name: 'sh', image: 'WebUI' });
    const a = await access(id);
    const r = await ssh(a, null, 'cd cloud\npwd\nls -d /tmp\nexit 4\necho never\n');
    expect(r.stdout).toBe('/root/cloud\n/tmp\n');
    expect(r.code).toBe(4);
  });

  it('a pty shell prompts with the working directory and runs the same commands', async () => {
    const { id } = await post('/sim/instances', { name: 'pty', image: 'Jupyter' });
    const { client } = await connect(await access(id));
    try {
      const sh = await new Promise<ssh2.ClientChannel>((resolve, reject) => client.shell((err, ch) => (err ? reject(err) : resolve(ch))));
      let screen = '';
      sh.on('data', (d: Buffer) => (screen += d.toString()));
      await until(() => screen.endsWith(':~# '), 5_000, 'prompt');
      sh.write('cd cloud; nvidia-smi -L\r');
      await until(() => screen.endsWith(':~/cloud# '), 5_000, 'prompt in ~/cloud');
      expect(screen).toMatch(/cd cloud; nvidia-smi -L\r\nGPU 0: NVIDIA GeForce RTX 4090 D \(UUID: GPU-[0-9a-f-]+\)\r\nroot@\w+:~\/cloud# $/);
      sh.write('ls\r');
      await until(() => screen.includes('README.txt  datasets  models\r\n'), 5_000, 'ls in columns');
      const closed = new Promise((r) => sh.once('close', r));
      sh.write('exit\r');
      await closed;
    } finally {
      client.end();
    }
  });

  it('sftp in batch mode lists the home and fetches files byte for byte; writes are refused', async () => {
    const { id } = await post('/sim/instances', { name: 'files', image: 'ComfyUI' });
    const a = await access(id);
    const local = mkdtempSync(join(dir, 'get-'));
    const r = await sftp(a, `pwd\nls\nls ComfyUI/output\nget README.md ${local}\nget ComfyUI/output/ComfyUI_00001_.png ${local}\n`);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Remote working directory: /root\n');
    expect(r.stdout).toMatch(/sftp> ls\n(ComfyUI|README\.md|cloud|miniconda3| )+\n/);
    expect(r.stdout).toContain('ComfyUI/output/ComfyUI_00001_.png');
    const readme = readFileSync(join(local, 'README.md'), 'utf8');
    expect(readme).toContain(`XianGong Cloud instance ${id}`);
    expect(readme).toBe((await ssh(a, 'cat README.md')).stdout);
    const png = readFileSync(join(local, 'ComfyUI_00001_.png'));
    expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    expect(png.equals(samplePng(idHash(id)))).toBe(true);

    const put = await sftp(a, `put ${join(local, 'README.md')} copy.md\n`);
    expect(put.code).toBe(1);
    expect(put.stderr).toMatch(/Permission denied/);
    expect(await sftp(a, 'get no-such-file\n')).toMatchObject({ code: 1 });
  });

  it("OpenSSH's scp (SFTP underneath) copies a file and exits 0", async () => {
    const { id } = await post('/sim/instances', { name: 'scp', image: 'WebUI' });
    const a = await access(id);
    const target = join(dir, `scp-${id}.md`);
    const r = await tool(a, ['/usr/bin/scp', ...SSH_OPTS, '-P', a.ssh_port, `${a.ssh_user}@${a.ssh_domain}:README.md`, target]);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(readFileSync(target, 'utf8')).toBe((await ssh(a, 'cat README.md')).stdout);
  });

  it('the legacy scp protocol (scp -O, an exec of `scp -f`) sends files, with -p their times; uploads are refused', async () => {
    const created = clock.now();
    const { id } = await post('/sim/instances', { name: 'scp-o', image: 'ComfyUI' });
    const a = await access(id);
    const scpO = (...args: string[]) => tool(a, ['/usr/bin/scp', '-O', ...SSH_OPTS, '-P', a.ssh_port, ...args]);
    const remote = (p: string) => `${a.ssh_user}@${a.ssh_domain}:${p}`;
    const md = join(dir, `scp-o-${id}.md`);
    expect(await scpO(remote('README.md'), md)).toMatchObject({ code: 0, stderr: '' });
    expect(readFileSync(md, 'utf8')).toBe((await ssh(a, 'cat README.md')).stdout);
    const png = join(dir, `scp-o-${id}.png`);
    expect(await scpO('-p', remote('ComfyUI/output/ComfyUI_00001_.png'), png)).toMatchObject({ code: 0, stderr: '' });
    expect(readFileSync(png).equals(samplePng(idHash(id)))).toBe(true);
    expect(statSync(png).mtimeMs).toBe(Math.floor(created / 1000) * 1000); // -p: the file's time on the instance
    expect(await scpO(remote('nope'), join(dir, 'nope'))).toMatchObject({ code: 1, stderr: 'scp: nope: No such file or directory\n' });
    expect(await scpO(md, remote('up.md'))).toMatchObject({ code: 1, stderr: 'scp: up.md: Permission denied\n' });
  });
});
