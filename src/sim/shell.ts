/**
 * The fixed read-only commands a simulated instance answers over SSH, printed in the formats of the real tools:
 * `nvidia-smi --query-gpu=... / --query-compute-apps=...` (see `nvidia-smi.ts`), `cat /proc/loadavg`,
 * `cat /proc/net/dev` and `who -u`. Anything else exits 127 with "command not found" on stderr.
 */
import { NO_DEVICES, parseNvidiaSmi, smiBlock, smiHeader } from './nvidia-smi.js';
import { idHash, levelOf, loginsAt, metersAt, type MachineSubject } from './machine.js';

/** An instance as the shell sees it: its machine plus the time it last reached `running`. */
export interface ShellSubject extends MachineSubject {
  startAt: number;
}

/** What a command does: print once and exit, or print a block every `periodMs` of simulated time until closed. */
export type CommandOutcome =
  | { kind: 'once'; stdout: string; stderr: string; code: number }
  | { kind: 'loop'; periodMs: number; header: string; block: (inst: ShellSubject, t: number) => string };

const once = (stdout: string, code = 0, stderr = ''): CommandOutcome => ({ kind: 'once', stdout, stderr, code });

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

const FILES: Record<string, (inst: ShellSubject, t: number) => string> = {
  '/proc/loadavg': procLoadavg,
  '/proc/net/dev': procNetDev,
};

/** Run one command line against an instance at time `t`. */
export function runCommand(line: string, inst: ShellSubject, t: number): CommandOutcome {
  const argv = line.trim().split(/\s+/).filter((w) => w !== '');
  if (argv.length === 0) return once('');
  const [cmd, ...args] = argv;
  if (cmd === 'nvidia-smi') {
    const q = parseNvidiaSmi(args);
    if ('error' in q) return once(q.error, q.code);
    if (inst.gpuUsed === 0) return once(NO_DEVICES, 6);
    if (q.loopMs !== null) return { kind: 'loop', periodMs: q.loopMs, header: smiHeader(q), block: (i, at) => smiBlock(q, i, at) };
    return once(smiHeader(q) + smiBlock(q, inst, t));
  }
  if (cmd === 'cat' && args.length > 0 && args.every((a) => a in FILES)) return once(args.map((a) => FILES[a](inst, t)).join(''));
  if (cmd === 'who' && args.length === 1 && args[0] === '-u') return once(whoU(inst, t));
  return once('', 127, `bash: line 1: ${cmd}: command not found\n`);
}
