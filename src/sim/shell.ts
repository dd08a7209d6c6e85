/**
 * The small shell a simulated instance answers over SSH. The guard's probe commands print exactly what the real
 * tools print: `nvidia-smi --query-gpu=... / --query-compute-apps=...` (see `nvidia-smi.ts`), `cat /proc/loadavg`,
 * `cat /proc/net/dev` and `who -u`. For people who SSH in and look: bare `nvidia-smi` (the table), `nvidia-smi -L`,
 * `uptime`, `ls [-laAh1] [paths]`, `cd`, `pwd`, `echo`, `cat` (of the fake filesystem in `fs.ts`), `df [-h]`,
 * `free [-h|-m|-g]`, `hostname`, `whoami`, `id`, `date`, `uname`, `nproc`, `who`, `true`, `false`, `exit`, with
 * `;`, `&&`, `||`, quotes and `$VAR`. Anything else exits 127 with "command not found" on stderr; pipes,
 * redirections, subshells and background jobs are refused (exit 2) rather than half-done.
 */
import { NO_DEVICES, ctimeUtc, parseNvidiaSmi, smiBlock, smiHeader, smiList, smiTable } from './nvidia-smi.js';
import { coresOf, loginsAt } from './machine.js';
import {
  HOME,
  fsOf,
  hostnameOf,
  lookup,
  memoryKiB,
  procLoadavg,
  procNetDev,
  resolvePath,
  sizeOf,
  uptimeSeconds,
  usersAt,
  type FsDir,
  type FsNode,
  type ShellSubject,
} from './fs.js';

export type { ShellSubject } from './fs.js';
export { procLoadavg, procNetDev };

/** Where a command line runs: the working directory (kept by an interactive shell), and how it is attached. */
export interface ShellContext {
  cwd: string;
  /** stdout is a terminal (a pty): `ls` prints columns, line ends become CRLF */
  tty: boolean;
  /** an interactive shell (error messages read `bash: x: ...`, not `bash: line 1: x: ...`) */
  interactive: boolean;
  /** exit code of the last command (`$?`) */
  lastCode: number;
}

/** A fresh context: in the home, not a terminal, not interactive. */
export function shellContext(over: Partial<ShellContext> = {}): ShellContext {
  return { cwd: HOME, tty: false, interactive: false, lastCode: 0, ...over };
}

/**
 * What a command line does: print once and exit (`screen` is stdout and stderr interleaved in order, as a terminal
 * shows them; `exit` when the line ran `exit`), or — its last command loops — print `header` (with whatever ran
 * before it) and then a block every `periodMs` of simulated time until closed.
 */
export type CommandOutcome =
  | { kind: 'once'; stdout: string; stderr: string; screen: string; code: number; exit: boolean }
  | { kind: 'loop'; periodMs: number; header: string; stderr: string; block: (inst: ShellSubject, t: number) => string };

interface Result {
  stdout: string;
  stderr: string;
  code: number;
  exit?: boolean;
}
const ok = (stdout: string): Result => ({ stdout, stderr: '', code: 0 });
const fail = (stderr: string, code = 1, stdout = ''): Result => ({ stdout, stderr, code });

const pad = (v: number | string, w: number) => String(v).padStart(w);
const two = (n: number) => String(n).padStart(2, '0');

function whoTime(ms: number): string {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}-${two(d.getUTCMonth() + 1)}-${two(d.getUTCDate())} ${two(d.getUTCHours())}:${two(d.getUTCMinutes())}`;
}

/** coreutils' idle column: `  .  ` under a minute, `HH:MM` under a day, ` old ` beyond. */
export function whoIdle(idleS: number): string {
  if (idleS < 60) return '  .  ';
  if (idleS < 86_400) return `${two(Math.floor(idleS / 3600))}:${two(Math.floor((idleS % 3600) / 60))}`;
  return ' old ';
}

/** `who -u` as coreutils prints it (ISO times, UTC): `root     pts/0        2026-11-02 09:12   .          4242 (203.0.113.24)`. */
export function whoU(inst: ShellSubject, t: number): string {
  return loginsAt(inst, t)
    .sort((a, b) => a.since - b.since)
    .map((l) => `${'root'.padEnd(8)} ${l.tty.padEnd(12)} ${whoTime(l.since).padEnd(16)} ${whoIdle(l.idleS).padEnd(6)} ${pad(l.pid, 10)} (${l.from})`.trimEnd() + '\n')
    .join('');
}

/** Plain `who`: the same logins without the idle and pid columns. */
function who(inst: ShellSubject, t: number): string {
  return loginsAt(inst, t)
    .sort((a, b) => a.since - b.since)
    .map((l) => `${'root'.padEnd(8)} ${l.tty.padEnd(12)} ${whoTime(l.since)} (${l.from})\n`)
    .join('');
}

// ---------------------------------------------------------------- parsing

type Op = ';' | '&&' | '||';
/** A word: literal text with `$NAME` references kept as markers, expanded when its command runs. */
const VAR_OPEN = '\u0001';
const VAR_CLOSE = '\u0002';
interface Simple {
  op: Op;
  words: string[];
}
type Parsed = { cmds: Simple[] } | { error: string; code: number };

const UNSUPPORTED: Record<string, string> = {
  '|': 'pipes',
  '<': 'redirections',
  '>': 'redirections',
  '&': 'background jobs',
  '(': 'subshells',
  ')': 'subshells',
  '`': 'command substitution',
  '$(': 'command substitution',
};

/** Split a command line into simple commands joined by `;`, `&&`, `||` (quotes, backslashes, `#` comments). */
export function parseLine(line: string): Parsed {
  const cmds: Simple[] = [];
  let words: string[] = [];
  let cur: string | null = null;
  let op: Op = ';';
  const endWord = () => {
    if (cur !== null) words.push(cur);
    cur = null;
  };
  const endCmd = (next: Op): string | null => {
    endWord();
    if (words.length === 0) return next;
    cmds.push({ op, words });
    words = [];
    op = next;
    return null;
  };
  const unsupported = (tok: string): Parsed => ({ error: `${tok}: ${UNSUPPORTED[tok]} are not supported by this simulated shell\n`, code: 2 });
  const readVar = (k: number): [string, number] | null => {
    // at line[k] === '$'
    const next = line[k + 1];
    if (next === '?') return [`${VAR_OPEN}?${VAR_CLOSE}`, k + 2];
    if (next === '{') {
      const end = line.indexOf('}', k + 2);
      if (end < 0) return null;
      return [`${VAR_OPEN}${line.slice(k + 2, end)}${VAR_CLOSE}`, end + 1];
    }
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(line.slice(k + 1));
    if (!m) return ['$', k + 1];
    return [`${VAR_OPEN}${m[0]}${VAR_CLOSE}`, k + 1 + m[0].length];
  };
  let k = 0;
  while (k < line.length) {
    const c = line[k];
    if (c === ' ' || c === '\t') {
      endWord();
      k++;
    } else if (c === '\n' || c === ';') {
      const bad = endCmd(';');
      if (bad !== null && c === ';') return { error: "syntax error near unexpected token `;'\n", code: 2 };
      k++;
    } else if ((c === '&' || c === '|') && line[k + 1] === c) {
      const bad = endCmd(c === '&' ? '&&' : '||');
      if (bad !== null) return { error: `syntax error near unexpected token \`${c}${c}'\n`, code: 2 };
      k += 2;
    } else if (c in UNSUPPORTED) {
      return unsupported(c);
    } else if (c === '#' && cur === null) {
      break;
    } else if (c === '\\') {
      cur = (cur ?? '') + (line[k + 1] ?? '');
      k += 2;
    } else if (c === "'") {
      const end = line.indexOf("'", k + 1);
      if (end < 0) return { error: "unexpected EOF while looking for matching `''\n", code: 2 };
      cur = (cur ?? '') + line.slice(k + 1, end);
      k = end + 1;
    } else if (c === '"') {
      let s = '';
      let j = k + 1;
      for (; j < line.length && line[j] !== '"'; j++) {
        if (line[j] === '\\' && '$`"\\'.includes(line[j + 1] ?? '')) s += line[++j];
        else if (line[j] === '`' || (line[j] === '$' && line[j + 1] === '(')) return unsupported(line[j] === '`' ? '`' : '$(');
        else if (line[j] === '$') {
          const v = readVar(j);
          if (!v) return { error: 'bad substitution\n', code: 1 };
          s += v[0];
          j = v[1] - 1;
        } else s += line[j];
      }
      if (j >= line.length) return { error: 'unexpected EOF while looking for matching `"\'\n', code: 2 };
      cur = (cur ?? '') + s;
      k = j + 1;
    } else if (c === '$') {
      if (line[k + 1] === '(') return unsupported('$(');
      const v = readVar(k);
      if (!v) return { error: 'bad substitution\n', code: 1 };
      cur = (cur ?? '') + v[0];
      k = v[1];
    } else {
      cur = (cur ?? '') + c;
      k++;
    }
  }
  endWord();
  if (words.length > 0) cmds.push({ op, words });
  else if (op !== ';') return { error: 'syntax error: unexpected end of file\n', code: 2 };
  return { cmds };
}

function expand(words: string[], inst: ShellSubject, ctx: ShellContext): string[] {
  const env: Record<string, string> = {
    HOME,
    USER: 'root',
    LOGNAME: 'root',
    SHELL: '/bin/bash',
    PWD: ctx.cwd,
    HOSTNAME: hostnameOf(inst),
    PATH: '/root/miniconda3/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    '?': String(ctx.lastCode),
  };
  const re = new RegExp(`${VAR_OPEN}([^${VAR_CLOSE}]*)${VAR_CLOSE}`, 'g');
  return words.map((w) => w.replace(re, (_m, name: string) => env[name] ?? ''));
}

// ---------------------------------------------------------------- commands

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `ls -l`'s date: `Nov  2 09:12` within six months of now, else `Apr 18  2024`. */
function lsDate(mtime: number, now: number): string {
  const d = new Date(mtime);
  const day = `${MONTHS[d.getUTCMonth()]} ${pad(d.getUTCDate(), 2)}`;
  const recent = Math.abs(now - mtime) < 182.5 * 86_400_000;
  return recent ? `${day} ${two(d.getUTCHours())}:${two(d.getUTCMinutes())}` : `${day}  ${d.getUTCFullYear()}`;
}

function modeString(n: FsNode): string {
  const bits = 'rwxrwxrwx'
    .split('')
    .map((ch, k) => (n.mode & (1 << (8 - k)) ? ch : '-'))
    .join('');
  const sticky = n.mode & 0o1000 ? bits.slice(0, 8) + 't' : bits;
  return (n.kind === 'dir' ? 'd' : '-') + sticky;
}

/** coreutils' `-h` sizes (`ls -h`, `df -h`): powers of 1024, one decimal under 10, rounded up. */
function humanCeil(bytes: number, iec = false): string {
  if (bytes < 1024) return String(bytes);
  const units = ['K', 'M', 'G', 'T', 'P'];
  let v = bytes;
  let u = -1;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  const suffix = units[u] + (iec ? 'i' : '');
  if (v < 10) {
    const r = Math.ceil(v * 10) / 10;
    return r < 10 ? `${r.toFixed(1)}${suffix}` : `${Math.ceil(r)}${suffix}`;
  }
  return `${Math.ceil(v)}${suffix}`;
}

/** GNU ls's column layout for a terminal of 80 columns (filled down the columns). */
function columns(names: string[], width = 80): string {
  if (names.length === 0) return '';
  for (let cols = names.length; cols >= 1; cols--) {
    const rows = Math.ceil(names.length / cols);
    if (cols > 1 && Math.ceil(names.length / rows) < cols) continue;
    const widths: number[] = [];
    for (let c = 0; c * rows < names.length; c++) widths.push(Math.max(...names.slice(c * rows, (c + 1) * rows).map((n) => n.length)) + 2);
    const total = widths.reduce((a, b) => a + b, 0) - 2;
    if (total > width && cols > 1) continue;
    let out = '';
    for (let r = 0; r < rows; r++) {
      const cells: string[] = [];
      for (let c = 0; c < widths.length; c++) {
        const n = names[c * rows + r];
        if (n !== undefined) cells.push(n.padEnd(widths[c]));
      }
      out += cells.join('').trimEnd() + '\n';
    }
    return out;
  }
  return names.join('\n') + '\n';
}

function ls(args: string[], root: FsDir, ctx: ShellContext, t: number): Result {
  const flags = new Set<string>();
  const paths: string[] = [];
  for (const a of args) {
    if (a.startsWith('-') && a.length > 1 && a !== '--') {
      for (const f of a.slice(1)) {
        if (!'alAh1dF'.includes(f)) return fail(`ls: invalid option -- '${f}'\nTry 'ls --help' for more information.\n`, 2);
        flags.add(f);
      }
    } else paths.push(a);
  }
  if (paths.length === 0) paths.push('.');
  const long = flags.has('l');
  const human = flags.has('h');
  const classify = (name: string, n: FsNode) => (flags.has('F') && n.kind === 'dir' ? `${name}/` : name);
  const sizeText = (n: FsNode) => (human ? humanCeil(sizeOf(n, t)) : String(sizeOf(n, t)));
  const linksOf = (n: FsNode) => (n.kind === 'dir' ? 2 + [...n.entries.values()].filter((e) => e.kind === 'dir').length : 1);
  const render = (items: Array<[string, FsNode]>): string => {
    if (!long) return ctx.tty && !flags.has('1') ? columns(items.map(([name, n]) => classify(name, n))) : items.map(([name, n]) => classify(name, n) + '\n').join('');
    const lw = Math.max(0, ...items.map(([, n]) => String(linksOf(n)).length));
    const sw = Math.max(0, ...items.map(([, n]) => sizeText(n).length));
    return items.map(([name, n]) => `${modeString(n)} ${pad(linksOf(n), lw)} root root ${pad(sizeText(n), sw)} ${lsDate(n.mtime, t)} ${classify(name, n)}\n`).join('');
  };
  const listing = (d: FsDir, parent: FsDir): string => {
    let items = [...d.entries.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    if (!flags.has('a') && !flags.has('A')) items = items.filter(([name]) => !name.startsWith('.'));
    if (flags.has('a')) items = [['.', d], ['..', parent], ...items];
    if (!long) return render(items);
    const blocks = items.reduce((sum, [, n]) => sum + (n.kind === 'dir' ? 4 : Math.ceil(sizeOf(n, t) / 4096) * 4), 0);
    return `total ${human ? humanCeil(blocks * 1024) : blocks}\n` + render(items);
  };
  let stderr = '';
  let code = 0;
  const files: Array<[string, FsNode]> = [];
  const dirs: Array<[string, FsDir, FsDir]> = [];
  for (const p of paths) {
    const abs = resolvePath(ctx.cwd, p);
    const node = lookup(root, abs);
    if (!node) {
      stderr += `ls: cannot access '${p}': No such file or directory\n`;
      code = 2;
    } else if (node.kind === 'dir' && !flags.has('d')) {
      dirs.push([p, node, (lookup(root, resolvePath(abs, '..')) as FsDir | undefined) ?? root]);
    } else files.push([p, node]);
  }
  const parts: string[] = [];
  if (files.length > 0) parts.push(render(files));
  const headers = paths.length > 1;
  for (const [p, d, parent] of dirs) parts.push((headers ? `${p}:\n` : '') + listing(d, parent));
  return { stdout: parts.join('\n'), stderr, code };
}

function cat(args: string[], root: FsDir, ctx: ShellContext, t: number): Result {
  let stdout = '';
  let stderr = '';
  for (const a of args.filter((x) => x !== '-' && !(x.startsWith('-') && x.length > 1))) {
    const node = lookup(root, resolvePath(ctx.cwd, a));
    if (!node) stderr += `cat: ${a}: No such file or directory\n`;
    else if (node.kind === 'dir') stderr += `cat: ${a}: Is a directory\n`;
    else stdout += node.read(t).toString('utf8'); // text: the channel writes strings as UTF-8 (binary files are for SFTP)
  }
  return { stdout, stderr, code: stderr ? 1 : 0 };
}

/** procps 3.3's `uptime`: ` 09:12:33 up 2 days,  3:04,  1 user,  load average: 0.52, 0.58, 0.59`. */
function uptime(inst: ShellSubject, t: number): string {
  const d = new Date(t);
  const up = Math.floor(uptimeSeconds(inst, t));
  const days = Math.floor(up / 86_400);
  const hours = Math.floor(up / 3600) % 24;
  const mins = Math.floor(up / 60) % 60;
  let s = ` ${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} up `;
  if (days) s += `${days} day${days !== 1 ? 's' : ''}, `;
  s += hours ? `${pad(hours, 2)}:${two(mins)}, ` : `${mins} min, `;
  const users = usersAt(inst, t);
  s += `${pad(users, 2)} user${users === 1 ? '' : 's'}, `;
  const load = procLoadavg(inst, t).split(' ').slice(0, 3);
  return `${s} load average: ${load.join(', ')}\n`;
}

/** Disk usage of the image on the system disk (GiB). */

function df(args: string[], inst: ShellSubject): Result {
  const human = args.includes('-h');
  const bad = args.find((a) => a.startsWith('-') && a !== '-h');
  if (bad) return fail(`df: invalid option -- '${bad.slice(1, 2)}'\nTry 'df --help' for more information.\n`);
  const gib = 1024 ** 3;
  const sys = inst.systemDiskGb * gib;
  const sysUsed = Math.min(sys, inst.diskUsedBytes); // what the platform bills once the GPU is released
  const data = inst.dataDiskGb * gib;
  const dataUsed = Math.round(0.21 * gib);
  const rows: Array<[string, number, number, string]> = [
    ['overlay', sys, sysUsed, '/'],
    ['tmpfs', 64 * 1024 ** 2, 0, '/dev'],
    ['shm', 64 * 1024 ** 2, 0, '/dev/shm'],
    ['xgcos', data, dataUsed, resolvePath('/', inst.storageMountPath || `${HOME}/cloud`)],
  ];
  const fmt = (b: number) => (human ? (b === 0 ? '0' : humanCeil(b)) : String(Math.ceil(b / 1024)));
  const table = [
    ['Filesystem', human ? 'Size' : '1K-blocks', 'Used', human ? 'Avail' : 'Available', 'Use%', 'Mounted on'],
    ...rows.map(([fs, size, used, mount]) => [fs, fmt(size), fmt(used), fmt(size - used), size > 0 ? `${Math.ceil((used * 100) / size)}%` : '-', mount]),
  ];
  const mins = [14, human ? 5 : 9, human ? 5 : 9, human ? 5 : 9, 4, 0];
  const widths = mins.map((m, c) => Math.max(m, ...table.map((r) => r[c].length)));
  const out = table.map((r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : c === 5 ? cell : cell.padStart(widths[c]))).join(' ') + '\n').join('');
  return ok(out);
}

/** procps' `free` (KiB by default; `-h` `23Gi` / `1.8Gi`, `-m` MiB, `-g` GiB). */
function free(args: string[], inst: ShellSubject): Result {
  const unit = args.includes('-h') ? 'h' : args.includes('-g') ? 'g' : args.includes('-m') ? 'm' : 'k';
  const m = memoryKiB(inst);
  const freeKiB = m.total - m.used - m.cache;
  const available = freeKiB + Math.round(m.cache * 0.9);
  const fmt = (kib: number): string => {
    if (unit === 'k') return String(kib);
    if (unit === 'm') return String(Math.floor(kib / 1024));
    if (unit === 'g') return String(Math.floor(kib / 1024 ** 2));
    if (kib === 0) return '0B';
    const units = ['Ki', 'Mi', 'Gi', 'Ti'];
    let v = kib;
    let u = 0;
    while (v >= 1024 && u < units.length - 1) {
      v /= 1024;
      u++;
    }
    return v < 10 ? `${v.toFixed(1)}${units[u]}` : `${Math.round(v)}${units[u]}`;
  };
  const row = (label: string, vals: number[]) => label.padEnd(8) + vals.map((v) => fmt(v).padStart(12)).join('') + '\n';
  return ok(
    '               total        used        free      shared  buff/cache   available\n' +
      row('Mem:', [m.total, m.used, freeKiB, m.shared, m.cache, available]) +
      row('Swap:', [0, 0, 0]),
  );
}

const KERNEL = '5.15.0-105-generic';

function uname(args: string[], inst: ShellSubject): Result {
  const all = {
    s: 'Linux',
    n: hostnameOf(inst),
    r: KERNEL,
    v: '#115-Ubuntu SMP Mon Apr 15 09:52:04 UTC 2024',
    m: 'x86_64',
    p: 'x86_64',
    i: 'x86_64',
    o: 'GNU/Linux',
  } as const;
  const keys = args.length === 0 ? ['s'] : args.flatMap((a) => (a === '-a' || a === '--all' ? Object.keys(all) : a.startsWith('-') ? a.slice(1).split('') : ['?']));
  const bad = keys.find((k) => !(k in all));
  if (bad) return fail(`uname: invalid option -- '${bad}'\nTry 'uname --help' for more information.\n`);
  return ok(keys.map((k) => all[k as keyof typeof all]).join(' ') + '\n');
}

function nvidiaSmi(args: string[], inst: ShellSubject, t: number): Result | CommandOutcome {
  const loopOnly = args.length === 2 && ['-l', '--loop', '-lms', '--loop-ms'].includes(args[0]) && /^\d+$/.test(args[1]) && Number(args[1]) >= 1;
  if (args.length === 0 || loopOnly) {
    if (inst.gpuUsed === 0) return { stdout: NO_DEVICES, stderr: '', code: 6 };
    if (loopOnly) return { kind: 'loop', periodMs: Number(args[1]) * (args[0].includes('ms') ? 1 : 1000), header: '', stderr: '', block: (i, at) => smiTable(i, at) + '\n' };
    return ok(smiTable(inst, t));
  }
  if (args.length === 1 && (args[0] === '-L' || args[0] === '--list-gpus')) {
    return inst.gpuUsed === 0 ? { stdout: NO_DEVICES, stderr: '', code: 6 } : ok(smiList(inst));
  }
  const q = parseNvidiaSmi(args);
  if ('error' in q) return { stdout: q.error, stderr: '', code: q.code };
  if (inst.gpuUsed === 0) return { stdout: NO_DEVICES, stderr: '', code: 6 };
  if (q.loopMs !== null) return { kind: 'loop', periodMs: q.loopMs, header: smiHeader(q), stderr: '', block: (i, at) => smiBlock(q, i, at) };
  return ok(smiHeader(q) + smiBlock(q, inst, t));
}

/** Run one simple command (already expanded). */
function runSimple(argv: string[], inst: ShellSubject, t: number, ctx: ShellContext, fs: () => FsDir): Result | CommandOutcome {
  const [cmd, ...args] = argv;
  const bashErr = (msg: string) => (ctx.interactive ? `bash: ${msg}` : `bash: line 1: ${msg}`);
  switch (cmd) {
    case 'nvidia-smi':
      return nvidiaSmi(args, inst, t);
    case 'cat':
      return cat(args, fs(), ctx, t);
    case 'who':
      if (args.length === 1 && args[0] === '-u') return ok(whoU(inst, t));
      if (args.length === 0) return ok(who(inst, t));
      break;
    case 'ls':
      return ls(args, fs(), ctx, t);
    case 'cd': {
      const target = args[0] ?? HOME;
      const abs = resolvePath(ctx.cwd, target);
      const node = lookup(fs(), abs);
      if (!node) return fail(bashErr(`cd: ${target}: No such file or directory\n`));
      if (node.kind !== 'dir') return fail(bashErr(`cd: ${target}: Not a directory\n`));
      ctx.cwd = abs;
      return ok('');
    }
    case 'pwd':
      return ok(`${ctx.cwd}\n`);
    case 'echo': {
      const noNewline = args[0] === '-n';
      return ok((noNewline ? args.slice(1) : args).join(' ') + (noNewline ? '' : '\n'));
    }
    case 'uptime':
      return ok(uptime(inst, t));
    case 'df':
      return df(args, inst);
    case 'free':
      return free(args, inst);
    case 'hostname':
      return ok(`${hostnameOf(inst)}\n`);
    case 'whoami':
      return ok('root\n');
    case 'id':
      return ok('uid=0(root) gid=0(root) groups=0(root)\n');
    case 'date':
      return ok(ctimeUtc(t).replace(/ (\d{4})$/, ' UTC $1') + '\n');
    case 'uname':
      return uname(args, inst);
    case 'nproc':
      return ok(`${coresOf(inst.gpuUsed)}\n`);
    case 'true':
    case ':':
      return ok('');
    case 'false':
      return fail('');
    case 'clear':
      return ok(ctx.tty ? '\x1b[H\x1b[2J\x1b[3J' : '');
    case 'exit':
    case 'logout': {
      const n = args[0] === undefined ? ctx.lastCode : Number(args[0]);
      return { stdout: '', stderr: '', code: Number.isInteger(n) ? n & 0xff : 2, exit: true };
    }
  }
  return fail(bashErr(`${cmd}: command not found\n`), 127);
}

/** Run one command line against an instance at time `t` (in `ctx`, which `cd` and `$?` update). */
export function runCommand(line: string, inst: ShellSubject, t: number, ctx: ShellContext = shellContext()): CommandOutcome {
  const parsed = parseLine(line);
  if ('error' in parsed) {
    const msg = (ctx.interactive ? 'bash: ' : 'bash: line 1: ') + parsed.error;
    ctx.lastCode = parsed.code;
    return { kind: 'once', stdout: '', stderr: msg, screen: msg, code: parsed.code, exit: false };
  }
  let root: FsDir | undefined;
  const fs = () => (root ??= fsOf(inst));
  let stdout = '';
  let stderr = '';
  let screen = '';
  let code = ctx.lastCode;
  let first = true;
  for (const c of parsed.cmds) {
    if (!first && ((c.op === '&&' && code !== 0) || (c.op === '||' && code === 0))) continue;
    first = false;
    const r = runSimple(expand(c.words, inst, ctx), inst, t, ctx, fs);
    if ('kind' in r) {
      if (r.kind === 'loop') return { ...r, header: stdout + r.header, stderr: stderr + r.stderr };
      continue; // not produced by runSimple
    }
    stdout += r.stdout;
    stderr += r.stderr;
    screen += r.stdout + r.stderr;
    code = r.code;
    ctx.lastCode = code;
    if (r.exit) return { kind: 'once', stdout, stderr, screen, code, exit: true };
  }
  if (first) code = 0; // an empty line
  ctx.lastCode = code;
  return { kind: 'once', stdout, stderr, screen, code, exit: false };
}
