/**
 * The small, read-only filesystem a simulated instance shows over SSH (`ls`, `cat`, `cd`) and SFTP: a root with
 * the usual top-level folders, `/etc` (os-release, hostname), `/proc` (loadavg, net/dev, uptime, meminfo — the same
 * text the commands print), and the home `/root` with a README, the image's folder and a sample output, and the
 * cloud storage mount (`storage_mount_path`, `/root/cloud`). Built on demand from the instance and the time:
 * nothing is stored and nothing can be written.
 */
import { deflateSync, crc32 } from 'node:zlib';
import { coresOf, idHash, levelOf, loginsAt, metersAt, type MachineSubject } from './machine.js';

/** An instance as the shell and SFTP see it. */
export interface ShellSubject extends MachineSubject {
  name: string;
  createdAt: number;
  /** start of the current run (ms): the container's boot, for `uptime` */
  startAt: number;
  systemDiskGb: number;
  /** the system disk's used bytes (the image plus what was written; billed after a GPU release) */
  diskUsedBytes: number;
  dataDiskGb: number;
  storageMountPath: string;
}

/** A regular file; `read` gives its bytes at time `t`. */
export interface FsFile {
  kind: 'file';
  mode: number;
  mtime: number;
  read: (t: number) => Buffer;
}

/** A directory. */
export interface FsDir {
  kind: 'dir';
  mode: number;
  mtime: number;
  entries: Map<string, FsNode>;
}

export type FsNode = FsFile | FsDir;

/** The home directory (`~`). */
export const HOME = '/root';

/** The host name an instance's machine reports (its prompt, `hostname`, `/etc/hostname`). */
export function hostnameOf(inst: { id: string }): string {
  return inst.id.slice(0, 12);
}

const dir = (mtime: number, mode = 0o755): FsDir => ({ kind: 'dir', mode, mtime, entries: new Map() });
const text = (body: string | ((t: number) => string), mtime: number, mode = 0o644): FsFile => ({
  kind: 'file',
  mode,
  mtime,
  read: (t) => Buffer.from(typeof body === 'string' ? body : body(t)),
});
/** A file whose bytes are made once, on first read. */
function lazyBytes(make: () => Buffer, mtime: number): FsFile {
  let body: Buffer | undefined;
  return { kind: 'file', mode: 0o644, mtime, read: () => (body ??= make()) };
}

/** The directory at `path` (absolute, normalised), created with its parents. */
function mkdirs(root: FsDir, path: string, mtime: number): FsDir {
  let cur = root;
  for (const part of path.split('/').filter((p) => p !== '')) {
    let next = cur.entries.get(part);
    if (!next || next.kind !== 'dir') {
      next = dir(mtime);
      cur.entries.set(part, next);
    }
    cur = next;
  }
  return cur;
}

function put(root: FsDir, path: string, node: FsNode): void {
  const cut = path.lastIndexOf('/');
  mkdirs(root, path.slice(0, cut), node.mtime).entries.set(path.slice(cut + 1), node);
}

/** Normalise `path` against `cwd` (`~` is the home), resolving `.` and `..`; always absolute. */
export function resolvePath(cwd: string, path: string): string {
  const p = path === '~' ? HOME : path.startsWith('~/') ? HOME + path.slice(1) : path;
  const parts: string[] = [];
  for (const part of (p.startsWith('/') ? p : `${cwd}/${p}`).split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') parts.pop();
    else parts.push(part);
  }
  return '/' + parts.join('/');
}

/** The node at an absolute, normalised path, or undefined. */
export function lookup(root: FsDir, abs: string): FsNode | undefined {
  let cur: FsNode = root;
  for (const part of abs.split('/').filter((p) => p !== '')) {
    if (cur.kind !== 'dir') return undefined;
    const next: FsNode | undefined = cur.entries.get(part);
    if (!next) return undefined;
    cur = next;
  }
  return cur;
}

/** Size in bytes of a node (4096 for a directory, as ext4/overlay report). */
export function sizeOf(node: FsNode, t: number): number {
  return node.kind === 'dir' ? 4096 : node.read(t).length;
}

// ---------------------------------------------------------------- /proc and /etc texts

/** `/proc/loadavg`: `0.52 0.58 0.59 1/389 12345`. */
export function procLoadavg(inst: ShellSubject, t: number): string {
  const m = metersAt(inst, t);
  const lv = levelOf(inst);
  const running = Math.max(1, Math.ceil(lv.load - 0.5));
  const threads = 160 + (inst.image.kind === 'Jupyter' ? 0 : 70) + (inst.busy ? 40 : 0);
  const lastPid = 300 + (idHash(inst.id) % 20_000) + Math.floor(Math.max(0, t - inst.startAt) / 9_000);
  return `${m.load.map((l) => l.toFixed(2)).join(' ')} ${running}/${threads} ${lastPid}\n`;
}

const pad = (v: number | string, w: number) => String(v).padStart(w);

function netDevLine(name: string, rx: number, rxp: number, tx: number, txp: number): string {
  return (
    `${pad(name, 6)}: ${pad(rx, 7)} ${pad(rxp, 7)} ${pad(0, 4)} ${pad(0, 4)} ${pad(0, 4)} ${pad(0, 5)} ${pad(0, 10)} ${pad(0, 9)} ` +
    `${pad(tx, 8)} ${pad(txp, 7)} ${pad(0, 4)} ${pad(0, 4)} ${pad(0, 4)} ${pad(0, 5)} ${pad(0, 7)} ${pad(0, 10)}\n`
  );
}

/** `/proc/net/dev` in the kernel's layout, with cumulative counters since the container started. */
export function procNetDev(inst: ShellSubject, t: number): string {
  const m = metersAt(inst, t);
  const rx = Math.floor(m.rxBytes);
  const tx = Math.floor(m.txBytes);
  const lo = Math.floor(m.loBytes);
  return (
    'Inter-|   Receive                                                |  Transmit\n' +
    ' face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n' +
    netDevLine('lo', lo, Math.floor(lo / 96), lo, Math.floor(lo / 96)) +
    netDevLine('eth0', rx, Math.floor(rx / 1180), tx, Math.floor(tx / 860))
  );
}

/** Seconds the container has been up at `t`. */
export function uptimeSeconds(inst: ShellSubject, t: number): number {
  return Math.max(0, (t - inst.startAt) / 1000);
}

/** Memory of the machine in KiB: total (62 GiB per GPU, 16 GiB CPU-only), used by the work, and page cache. */
export function memoryKiB(inst: ShellSubject): { total: number; used: number; cache: number; shared: number } {
  const gib = 1024 * 1024;
  const total = (inst.gpuUsed > 0 ? 62 * inst.gpuUsed : 16) * gib;
  const app = inst.image.kind === 'Jupyter' ? 0.9 : 5.6;
  const work = !inst.busy ? 0 : inst.workKind === 'background' ? 9 * Math.max(1, inst.gpuUsed) : inst.workKind === 'cpu' ? 14 : inst.workKind === 'app' ? 3.5 : 0.2;
  const used = Math.round((1.1 + app + work) * gib);
  const cache = Math.round((inst.image.kind === 'Jupyter' ? 2.4 : 11.8) * gib);
  return { total, used: Math.min(used, total - cache), cache, shared: 12 * 1024 };
}

function procMeminfo(inst: ShellSubject): string {
  const m = memoryKiB(inst);
  const free = m.total - m.used - m.cache;
  const line = (k: string, v: number) => `${`${k}:`.padEnd(16)}${pad(v, 8)} kB\n`;
  return line('MemTotal', m.total) + line('MemFree', free) + line('MemAvailable', free + Math.round(m.cache * 0.9)) + line('Buffers', 0) + line('Cached', m.cache) + line('SwapCached', 0) + line('SwapTotal', 0) + line('SwapFree', 0) + line('Shmem', m.shared);
}

const OS_RELEASE = `PRETTY_NAME="Ubuntu 22.04.4 LTS"
NAME="Ubuntu"
VERSION_ID="22.04"
VERSION="22.04.4 LTS (Jammy Jellyfish)"
VERSION_CODENAME=jammy
ID=ubuntu
ID_LIKE=debian
HOME_URL="https://www.ubuntu.com/"
SUPPORT_URL="https://help.ubuntu.com/"
BUG_REPORT_URL="https://bugs.launchpad.net/ubuntu/"
PRIVACY_POLICY_URL="https://www.ubuntu.com/legal/terms-and-policies/privacy-policy"
UBUNTU_CODENAME=jammy
`;

const BASHRC = `# ~/.bashrc: executed by bash(1) for non-login shells.
[ -z "$PS1" ] && return
HISTCONTROL=ignoreboth
shopt -s histappend
PS1='\\u@\\h:\\w\\$ '
export PATH=/root/miniconda3/bin:$PATH
alias ll='ls -alF'
`;

const PROFILE = `# ~/.profile: executed by Bourne-compatible login shells.
if [ "$BASH" ]; then
  if [ -f ~/.bashrc ]; then
    . ~/.bashrc
  fi
fi
mesg n 2> /dev/null || true
`;

// ---------------------------------------------------------------- a sample output image

/** A small valid PNG (64x64 RGB gradient, tinted from the instance id): the "sample output" in the home. */
export function samplePng(seed: number): Buffer {
  const w = 64;
  const h = 64;
  const raw = Buffer.alloc((w * 3 + 1) * h);
  for (let y = 0; y < h; y++) {
    raw[y * (w * 3 + 1)] = 0; // filter: none
    for (let x = 0; x < w; x++) {
      const o = y * (w * 3 + 1) + 1 + x * 3;
      raw[o] = (x * 4 + (seed & 0xff)) & 0xff;
      raw[o + 1] = (y * 4 + ((seed >>> 8) & 0xff)) & 0xff;
      raw[o + 2] = ((x + y) * 2 + ((seed >>> 16) & 0xff)) & 0xff;
    }
  }
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(td) >>> 0);
    return Buffer.concat([len, td, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

/** The README in the home: what this machine is and where things are. */
export function homeReadme(inst: ShellSubject): string {
  const gpus = inst.gpuUsed > 0 ? `${inst.gpuUsed} x ${inst.gpuModel.full}` : 'none (CPU-only boot)';
  return (
    `# ${inst.name}\n\n` +
    `XianGong Cloud instance ${inst.id} (simulated by xgc-guard).\n\n` +
    `- GPUs: ${gpus}\n` +
    `- Image: ${inst.image.kind}\n` +
    `- System disk: ${inst.systemDiskGb} GB, mounted at /\n` +
    `- Cloud storage: ${inst.storageMountPath} (kept when the instance is destroyed)\n\n` +
    `Run \`nvidia-smi\` to see the GPUs. Files in this folder go away with the instance; copy results to ${inst.storageMountPath}.\n`
  );
}

const IMAGE_DIRS = {
  ComfyUI: { dir: 'ComfyUI', output: 'ComfyUI/output/ComfyUI_00001_.png' },
  WebUI: { dir: 'stable-diffusion-webui', output: 'stable-diffusion-webui/outputs/txt2img-images/00000-1234567890.png' },
  Jupyter: { dir: 'notebooks', output: 'notebooks/outputs/sample.png' },
} as const;

/** The path (under the home) of the instance's sample output image. */
export function sampleImagePath(inst: ShellSubject): string {
  return `${HOME}/${IMAGE_DIRS[inst.image.kind].output}`;
}

/** The whole tree of an instance (built fresh; texts are read at the time they are read). */
export function fsOf(inst: ShellSubject): FsDir {
  const base = Date.UTC(2024, 3, 18, 6, 12); // the image's build: files that came with it
  const made = inst.createdAt;
  const boot = inst.startAt || made;
  const root = dir(base);
  for (const d of ['bin', 'boot', 'dev', 'etc', 'home', 'lib', 'lib64', 'media', 'mnt', 'opt', 'proc', 'run', 'sbin', 'srv', 'sys', 'tmp', 'usr', 'var']) {
    root.entries.set(d, dir(d === 'proc' || d === 'dev' || d === 'sys' || d === 'run' ? boot : base, d === 'tmp' ? 0o1777 : 0o755));
  }
  put(root, '/etc/os-release', text(OS_RELEASE, base));
  put(root, '/etc/hostname', text(`${hostnameOf(inst)}\n`, boot));
  put(root, '/proc/loadavg', text((t) => procLoadavg(inst, t), boot, 0o444));
  put(root, '/proc/net/dev', text((t) => procNetDev(inst, t), boot, 0o444));
  put(root, '/proc/uptime', text((t) => `${uptimeSeconds(inst, t).toFixed(2)} ${(uptimeSeconds(inst, t) * coresOf(inst.gpuUsed) * 0.93).toFixed(2)}\n`, boot, 0o444));
  put(root, '/proc/meminfo', text(() => procMeminfo(inst), boot, 0o444));

  const home = mkdirs(root, HOME, made);
  home.mode = 0o700;
  put(root, `${HOME}/.bashrc`, text(BASHRC, base));
  put(root, `${HOME}/.profile`, text(PROFILE, base));
  put(root, `${HOME}/README.md`, text(homeReadme(inst), made));
  mkdirs(root, `${HOME}/miniconda3/bin`, base);
  mkdirs(root, `${HOME}/miniconda3/lib`, base);
  const img = IMAGE_DIRS[inst.image.kind];
  mkdirs(root, `${HOME}/${img.dir}`, base);
  put(root, `${HOME}/${img.output}`, lazyBytes(() => samplePng(idHash(inst.id)), made));

  const mount = resolvePath('/', inst.storageMountPath || `${HOME}/cloud`);
  mkdirs(root, mount, made);
  put(root, `${mount}/README.txt`, text(`XianGong Cloud storage (xgcos), mounted at ${mount}.\nIts files outlive the instance; ${inst.dataDiskGb} GB.\n`, made));
  mkdirs(root, `${mount}/datasets`, made);
  mkdirs(root, `${mount}/models`, made);
  return root;
}

/** Users logged in now (for `uptime`). */
export function usersAt(inst: ShellSubject, t: number): number {
  return loginsAt(inst, t).length;
}
