/**
 * The `gpu` probe's signals as pure functions: parsing what the fixed read-only commands print
 * (`nvidia-smi` CSV, `/proc/loadavg`, `/proc/net/dev`, `who -u`) and judging a rolling window of samples.
 * Busy when any GPU reaches `gpuBusyPercent`, when CPU load or network throughput stay above their
 * thresholds, or when an interactive login typed within `activeWindowMs`; idle since the first reading after the last busy one.
 */
import type { ReasonCode } from '../notify/reasons.js';
import type { ProbeResult } from './types.js';

/** The commands the probe ever runs on an instance: fixed and read-only. */
export const GPU_COMMANDS = {
  /** one line per GPU: `index, utilization.gpu, memory.used, memory.total`; `-lms N` makes it loop */
  gpu: 'nvidia-smi --query-gpu=index,utilization.gpu,memory.used,memory.total --format=csv,noheader,nounits',
  apps: 'nvidia-smi --query-compute-apps=pid,process_name,used_memory --format=csv,noheader,nounits',
  load: 'cat /proc/loadavg',
  net: 'cat /proc/net/dev',
  logins: 'who -u',
} as const;

/** The looping form of the GPU query: one block of lines every `ms` until the channel closes. */
export function gpuStreamCommand(ms: number): string {
  return `${GPU_COMMANDS.gpu} -lms ${Math.max(100, Math.round(ms))}`;
}

/** One GPU's line. */
export interface GpuLine {
  index: number;
  util: number;
  memUsedMiB: number;
  memTotalMiB: number;
}

/** Parse every GPU line of a one-shot query (lines that are not GPU figures are skipped). */
export function parseGpuLines(text: string): GpuLine[] {
  return text
    .split('\n')
    .map(parseGpuLine)
    .filter((g): g is GpuLine => g !== null);
}

/** Parse one `index, util, mem.used, mem.total` line; null when it is not one (a header, a warning, garbage). */
export function parseGpuLine(line: string): GpuLine | null {
  const parts = line.split(',').map((s) => s.trim());
  if (parts.length < 2) return null;
  const [index, util, used, total] = parts.map((p) => (/^\d+(\.\d+)?$/.test(p) ? Number(p) : NaN));
  if (!Number.isInteger(index) || !Number.isFinite(util) || util < 0 || util > 100) return null;
  return { index, util, memUsedMiB: Number.isFinite(used) ? used : 0, memTotalMiB: Number.isFinite(total) ? total : 0 };
}

/**
 * Splits the looping output into blocks (one line per GPU): a block ends when a GPU index repeats.
 * Feed it chunks as they arrive; it calls `onBlock` with each complete block.
 */
export class GpuBlockReader {
  private buf = '';
  private block: GpuLine[] = [];
  /** `gpus`: lines per block when known (from a one-shot query), else learned when the first index repeats */
  constructor(
    private readonly onBlock: (lines: GpuLine[]) => void,
    gpus?: number,
  ) {
    if (gpus && gpus > 0) this.expected = gpus;
  }

  /** Take a chunk of stdout. */
  push(chunk: string): void {
    this.buf += chunk;
    if (this.buf.length > 64 * 1024) this.buf = this.buf.slice(-4096); // never grow without bound
    let nl: number;
    while ((nl = this.buf.indexOf('\n')) >= 0) {
      const line = this.buf.slice(0, nl);
      this.buf = this.buf.slice(nl + 1);
      const g = parseGpuLine(line);
      if (!g) continue;
      if (this.block.some((b) => b.index === g.index)) this.flushBlock();
      this.block.push(g);
      // once the GPU count is known (the first block ended), a block is complete at that many lines
      if (this.block.length >= this.expected) this.flushBlock();
    }
  }

  /** GPUs per block once known (the largest block seen). */
  private expected = Infinity;

  private flushBlock(): void {
    if (this.block.length === 0) return;
    this.expected = this.expected === Infinity ? this.block.length : Math.max(this.expected, this.block.length);
    const b = this.block;
    this.block = [];
    this.onBlock(b);
  }

  /** Flush a pending block (the channel closed). */
  end(): void {
    this.flushBlock();
  }
}

/** Parse `/proc/loadavg`: the 1-minute load average, or null. */
export function parseLoadavg(text: string): number | null {
  const first = text.trim().split(/\s+/)[0];
  const n = Number(first);
  return first !== undefined && /^\d+(\.\d+)?$/.test(first) && Number.isFinite(n) ? n : null;
}

/** Parse `/proc/net/dev`: received + transmitted bytes over every interface but `lo`, or null. */
export function parseNetDev(text: string): number | null {
  let total = 0;
  let seen = 0;
  for (const line of text.split('\n')) {
    const m = /^\s*([^:\s]+):\s*(.*)$/.exec(line);
    if (!m || m[1] === 'lo') continue;
    const f = m[2].trim().split(/\s+/).map(Number);
    if (f.length < 9 || !Number.isFinite(f[0]) || !Number.isFinite(f[8])) continue;
    total += f[0] + f[8];
    seen++;
  }
  return seen > 0 ? total : null;
}

/** One interactive login from `who -u`: its tty and how long since it last typed (ms; 0 = within the minute). */
export interface Login {
  tty: string;
  idleMs: number;
}

/**
 * Parse `who -u` (`root pts/0 2026-11-29 10:00 00:03 1234 (10.0.0.1)`): the idle column is `.` (typed within
 * the last minute), `HH:MM`, or `old` (over a day). Lines that do not parse are left out.
 */
export function parseWho(text: string): Login[] {
  const out: Login[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 5) continue;
    const tty = f[1];
    // the idle column follows the date and time (`YYYY-MM-DD HH:MM`, or `Mon DD HH:MM` in other locales)
    const timeIdx = f.findIndex((x, i) => i >= 2 && /^\d{1,2}:\d{2}$/.test(x));
    const idle = timeIdx >= 0 ? f[timeIdx + 1] : undefined;
    if (idle === undefined) continue;
    let idleMs: number;
    if (idle === '.') idleMs = 0;
    else if (idle === 'old') idleMs = 86_400_000;
    else {
      const m = /^(\d{1,2}):(\d{2})$/.exec(idle);
      if (!m) continue;
      idleMs = (Number(m[1]) * 60 + Number(m[2])) * 60_000;
    }
    out.push({ tty, idleMs });
  }
  return out;
}

/** One sample of an instance at time `at` (epoch ms): whatever signals were read then. */
export interface GpuSample {
  at: number;
  /** per-GPU utilisation (%) and memory used (MiB); absent when this sample carries no GPU block */
  gpus?: { util: number; memUsedMiB: number }[];
  /** 1-minute load average */
  load?: number;
  /** network bytes per second since the previous counter reading */
  netBytesPerSec?: number;
  /** interactive logins */
  logins?: Login[];
}

/** Thresholds of the judgement (defaults in GPU_SIGNAL_DEFAULTS, documented in the README). */
export interface GpuThresholds {
  /** a GPU at or above this utilisation (%) is busy */
  gpuBusyPercent: number;
  /** a 1-minute load average at or above this, in every sample of the window, is busy (0 = off) */
  cpuBusyLoad: number;
  /** network throughput (rx + tx) at or above this, in every reading of the window, is busy (0 = off) */
  netBusyBytesPerSec: number;
  /** an interactive login that typed within this is busy */
  activeWindowMs: number;
  /** how far back the judgement looks */
  windowMs: number;
}

/**
 * Defaults, chosen from what idle-shutdown tools for rented GPUs use: a GPU at 10% or more is working (idle
 * 4090s sit at 0–3%; RunPod/vast.ai idle scripts use 5–10%); a load average of 2 held for the window (an idle
 * container stays well under 1; note that some containers see the host's load, which errs towards busy); 1 MiB/s
 * of network held for the window (a model download runs at 10–100 MiB/s; a notebook tab or SSH session at
 * KiB/s); a login that typed in the last 15 minutes; a 60 s window.
 */
export const GPU_SIGNAL_DEFAULTS: GpuThresholds = {
  gpuBusyPercent: 10,
  cpuBusyLoad: 2,
  netBusyBytesPerSec: 1024 * 1024,
  activeWindowMs: 15 * 60_000,
  windowMs: 60_000,
};

/** The signal of a sample that can make it busy. */
export type Signal = 'gpus' | 'load' | 'netBytesPerSec' | 'logins';
const SIGNAL_RANK: Record<Signal, number> = { gpus: 0, load: 1, netBytesPerSec: 2, logins: 3 };

/**
 * Why a sample is busy (text, code, and the signal that made it busy), or null. `window` is every sample of the
 * window (for "stays above" signals).
 */
function busyReason(s: GpuSample, window: GpuSample[], t: GpuThresholds): { text: string; code: ReasonCode; signal: Signal } | null {
  const max = s.gpus?.length ? Math.max(...s.gpus.map((g) => g.util)) : undefined;
  if (max !== undefined && max >= t.gpuBusyPercent)
    return { text: `GPU at ${max}% (busy at ${t.gpuBusyPercent}%)`, code: { code: 'gpu.busy', params: { util_pct: max, busy_pct: t.gpuBusyPercent } }, signal: 'gpus' };
  const loads = window.map((w) => w.load).filter((x): x is number => x !== undefined);
  if (t.cpuBusyLoad > 0 && s.load !== undefined && loads.length >= 2 && loads.every((l) => l >= t.cpuBusyLoad)) {
    const load = s.load.toFixed(2);
    return { text: `CPU load ${load} held over ${loads.length} samples (busy at ${t.cpuBusyLoad})`, code: { code: 'gpu.busy_cpu', params: { load, samples: loads.length, busy_load: t.cpuBusyLoad } }, signal: 'load' };
  }
  const nets = window.map((w) => w.netBytesPerSec).filter((x): x is number => x !== undefined);
  if (t.netBusyBytesPerSec > 0 && s.netBytesPerSec !== undefined && nets.length >= 2 && nets.every((n) => n >= t.netBusyBytesPerSec)) {
    const [rate, busyRate] = [fmtRate(s.netBytesPerSec), fmtRate(t.netBusyBytesPerSec)];
    return { text: `network ${rate} held over ${nets.length} readings (busy at ${busyRate})`, code: { code: 'gpu.busy_net', params: { rate, readings: nets.length, busy_rate: busyRate } }, signal: 'netBytesPerSec' };
  }
  const active = s.logins?.filter((l) => l.idleMs < t.activeWindowMs) ?? [];
  if (active.length) {
    const { tty, idleMs } = active[0];
    return idleMs < 60_000
      ? { text: `SSH login on ${tty} typed within the last minute`, code: { code: 'gpu.busy_login_now', params: { tty } }, signal: 'logins' }
      : { text: `SSH login on ${tty} typed ${Math.round(idleMs / 60_000)}m ago`, code: { code: 'gpu.busy_login', params: { tty, idle_ms: idleMs } }, signal: 'logins' };
  }
  return null;
}

/** Bytes per second for humans. */
export function fmtRate(bps: number): string {
  if (bps >= 1024 * 1024) return `${(bps / 1024 / 1024).toFixed(1)} MiB/s`;
  if (bps >= 1024) return `${(bps / 1024).toFixed(0)} KiB/s`;
  return `${Math.round(bps)} B/s`;
}

/** The latest value of a field over the samples (newest first). */
function latest<K extends keyof GpuSample>(samples: GpuSample[], k: K): GpuSample[K] | undefined {
  for (let i = samples.length - 1; i >= 0; i--) if (samples[i][k] !== undefined) return samples[i][k];
  return undefined;
}

/** The newest busy sample of an instance and when it was first seen stopped. */
export interface BusyEvidence {
  /** when the newest busy sample was taken */
  at: number;
  /** the signals that made the samples at `at` busy */
  signals: Signal[];
  /** the first reading after `at` of each of those signals, the latest of them; null until all were taken */
  until: number | null;
}

/** What the judgement carries from one call to the next for one instance. */
export interface GpuJudgePrior {
  lastBusy: BusyEvidence | null;
  /** when this stretch of watching began (idle since then at the earliest) */
  watchingSince: number;
}

/**
 * Judge the samples (oldest first) at `now`. `prior` carries the busy evidence of earlier windows. An idle
 * answer's `since` is the first reading after the last busy sample of the signal that made it busy (the GPU block
 * after a busy GPU, the next `who` after an active login), never the busy sample itself: the work may have run
 * until just before that reading, so idle time counts only from when idleness was seen. Never before watching
 * began (a gap saw nothing). Returns the verdict and, for the caller, the updated busy evidence.
 */
export function judgeGpuWindow(
  samples: GpuSample[],
  now: number,
  t: GpuThresholds,
  prior: GpuJudgePrior,
): ProbeResult & { lastBusy: BusyEvidence | null } {
  let from = 0;
  while (from < samples.length && now - samples[from].at > t.windowMs) from++;
  const window = from === 0 ? samples : samples.slice(from);
  let last = prior.lastBusy;
  let busyWhy: ReturnType<typeof busyReason> = null;
  let busyAt = -Infinity;
  for (let i = 0; i < window.length; i++) {
    const s = window[i];
    const why = busyReason(s, window.slice(0, i + 1), t);
    if (!why) continue;
    // the newest busy reading says why; readings taken at the same moment name the GPU before load, network, logins
    if (s.at > busyAt || SIGNAL_RANK[why.signal] < SIGNAL_RANK[busyWhy!.signal]) [busyWhy, busyAt] = [why, s.at];
    if (!last || s.at > last.at) last = { at: s.at, signals: [why.signal], until: null };
    else if (s.at === last.at && !last.signals.includes(why.signal)) last = { at: last.at, signals: [...last.signals, why.signal], until: null };
  }
  // The stretch's end is found once, from the readings after the busy sample (whether or not a later window still
  // judges that sample busy: "held over the window" signals stop counting as the window moves on).
  if (last && last.until === null) {
    let until = -Infinity;
    for (const sig of last.signals) {
      const next = window.find((w) => w.at > last!.at && w[sig] !== undefined);
      if (!next) {
        until = NaN;
        break;
      }
      until = Math.max(until, next.at);
    }
    if (!Number.isNaN(until)) last = { ...last, until };
  }
  const gpus = latest(window, 'gpus');
  const metrics: Record<string, number> = { samples: window.length };
  if (gpus?.length) {
    metrics.gpus = gpus.length;
    metrics.gpu_util_max = Math.max(...gpus.map((g) => g.util));
    metrics.memory_used_mib = gpus.reduce((a, g) => a + g.memUsedMiB, 0);
  }
  const load = latest(window, 'load');
  if (load !== undefined) metrics.load1 = load;
  const net = latest(window, 'netBytesPerSec');
  if (net !== undefined) metrics.net_bytes_per_sec = Math.round(net);
  const logins = latest(window, 'logins');
  if (logins) metrics.logins = logins.length;
  if (!gpus?.length) return { verdict: 'unknown', detail: 'no GPU sample in the window', code: { code: 'gpu.no_sample_window', params: {} }, metrics, lastBusy: last };
  if (busyWhy) return { verdict: 'busy', since: last?.at ?? now, detail: busyWhy.text, code: busyWhy.code, metrics, lastBusy: last };
  // idle since the work was seen stopped (now while no reading has shown it yet), never before watching began
  const stopped = last === null ? prior.watchingSince : (last.until ?? now);
  const since = Math.max(stopped, prior.watchingSince);
  const parts = [`GPU at most ${metrics.gpu_util_max}%`];
  const details: ReasonCode[] = [];
  if (load !== undefined) {
    parts.push(`load ${load.toFixed(2)}`);
    details.push({ code: 'gpu.part_load', params: { load: load.toFixed(2) } });
  }
  if (net !== undefined) {
    parts.push(`network ${fmtRate(net)}`);
    details.push({ code: 'gpu.part_net', params: { rate: fmtRate(net) } });
  }
  if (logins?.length) {
    parts.push(`${logins.length} login(s), none typed within ${Math.round(t.activeWindowMs / 60_000)}m`);
    details.push({ code: 'gpu.part_logins_idle', params: { logins: logins.length, window_ms: t.activeWindowMs } });
  } else {
    parts.push('no login');
    details.push({ code: 'gpu.part_no_login', params: {} });
  }
  const code: ReasonCode = { code: 'gpu.idle_window', params: { util_pct: metrics.gpu_util_max }, details };
  return { verdict: 'idle', since, detail: parts.join(', '), code, metrics, lastBusy: last };
}
