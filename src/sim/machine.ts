/**
 * What a simulated instance's machine shows from the inside: GPU utilisation and memory, the CPU load average,
 * cumulative network byte counters and interactive logins, all derived from the kind of work it runs.
 * Pure: meters are settled at every change of work or status, and read in closed form at any later time, so a
 * jump of the clock gives the same values as many small steps.
 *
 * Kinds of work (`busy: true`):
 * - `app`: the app shows it (busy Jupyter kernel, ComfyUI queue, WebUI progress) and GPU 0 works;
 * - `background`: every GPU works and every app is idle (nohup / tmux training);
 * - `cpu`: GPUs near 0, CPU load and network throughput high (a model download, preprocessing);
 * - `interactive`: an SSH login whose tty sees input, GPUs idle.
 */
import type { AppKind, GpuModel } from './catalog.js';

/** The kinds of work an instance can run. */
export const WORK_KINDS = ['app', 'background', 'cpu', 'interactive'] as const;
/** One kind of work. */
export type WorkKind = (typeof WORK_KINDS)[number];

/** Whether `k` names a kind of work. */
export function isWorkKind(k: unknown): k is WorkKind {
  return typeof k === 'string' && (WORK_KINDS as readonly string[]).includes(k);
}

/** Default GPU utilisation (percent) of busy work of each kind. */
export const DEFAULT_GPU_UTIL: Readonly<Record<WorkKind, number>> = { app: 95, background: 95, cpu: 0, interactive: 0 };

/** Accumulated meters, valid at `at` (ms). Counters restart when the instance reaches `running`. */
export interface MachineMeters {
  at: number;
  /** 1, 5 and 15 minute load averages */
  load: [number, number, number];
  rxBytes: number;
  txBytes: number;
  loBytes: number;
}

/** One login session (a tty), simulated (`interactive` work) or a real SSH session with a pty. */
export interface Login {
  tty: string;
  pid: number;
  from: string;
  since: number;
  /** last input on the tty (ms) */
  lastInput: number;
  /** input right now (the `interactive` work kind is typing) */
  typing: boolean;
  source: 'sim' | 'ssh';
}

/** The fields of an instance the machine model reads. */
export interface MachineSubject {
  id: string;
  status: string;
  busy: boolean;
  workKind: WorkKind;
  gpuUtil: number;
  gpuUsed: number;
  gpuModel: GpuModel;
  image: { kind: AppKind };
  meters: MachineMeters;
  logins: Login[];
}

/** CPU cores of an instance with `gpuCount` GPUs (16 per GPU; 4 for a CPU-only boot). */
export function coresOf(gpuCount: number): number {
  return gpuCount > 0 ? 16 * gpuCount : 4;
}

/** Whether the apps (Jupyter, ComfyUI, WebUI) show the instance busy. */
export function appBusy(i: Pick<MachineSubject, 'busy' | 'workKind'>): boolean {
  return i.busy && i.workKind === 'app';
}

interface Level {
  /** runnable tasks the load average tends to */
  load: number;
  /** bytes per second */
  rx: number;
  tx: number;
}

const LOAD_TAU_S = [60, 300, 900] as const;
const LO_RATE = 120;

/** The steady levels the meters tend to under the current work. */
export function levelOf(i: MachineSubject): Level {
  if (i.status !== 'running') return { load: 0, rx: 0, tx: 0 };
  const webApp = i.image.kind !== 'Jupyter';
  const idle: Level = { load: webApp ? 0.08 : 0.02, rx: 220, tx: 160 };
  if (!i.busy) return idle;
  switch (i.workKind) {
    case 'app':
      return { load: 1.1, rx: 24_000, tx: webApp ? 180_000 : 6_000 };
    case 'background':
      return { load: 1.2 + 0.8 * Math.max(1, i.gpuUsed), rx: 1_500, tx: 900 };
    case 'cpu':
      return { load: coresOf(i.gpuUsed) / 2, rx: 62_000_000, tx: 1_100_000 };
    case 'interactive':
      return { load: 0.3, rx: 2_600, tx: 9_500 };
  }
}

/** Meters of `i` advanced to `t` without changing `i`. */
export function metersAt(i: MachineSubject, t: number): MachineMeters {
  const m = i.meters;
  const dt = Math.max(0, t - m.at) / 1000;
  if (dt === 0) return { ...m, load: [...m.load] };
  const lv = levelOf(i);
  const running = i.status === 'running';
  return {
    at: Math.max(t, m.at),
    load: m.load.map((l, k) => lv.load + (l - lv.load) * Math.exp(-dt / LOAD_TAU_S[k])) as [number, number, number],
    rxBytes: m.rxBytes + lv.rx * dt,
    txBytes: m.txBytes + lv.tx * dt,
    loBytes: m.loBytes + (running ? LO_RATE * dt : 0),
  };
}

/** Settle the meters at `t` (call before any change of work or status). */
export function settleMeters(i: MachineSubject, t: number): void {
  i.meters = metersAt(i, t);
}

/** Fresh meters (a container that just started). */
export function freshMeters(t: number): MachineMeters {
  return { at: t, load: [0, 0, 0], rxBytes: 0, txBytes: 0, loBytes: 0 };
}

/** The typing state of the simulated login follows `interactive` work: a login appears, and its last input is now while typing. */
export function syncSimLogin(i: MachineSubject, t: number, pid: number): void {
  const typing = i.status === 'running' && i.busy && i.workKind === 'interactive';
  let login = i.logins.find((l) => l.source === 'sim');
  if (typing && !login) {
    login = { tty: nextTty(i.logins), pid, from: '203.0.113.24', since: t, lastInput: t, typing: true, source: 'sim' };
    i.logins.push(login);
  }
  if (!login) return;
  if (login.typing && !typing) login.lastInput = t;
  if (typing) login.lastInput = t;
  login.typing = typing;
}

/** The first free `pts/N`. */
export function nextTty(logins: Login[]): string {
  for (let n = 0; ; n++) if (!logins.some((l) => l.tty === `pts/${n}`)) return `pts/${n}`;
}

/** A small stable number derived from an instance id (pids, jitter-free offsets). */
export function idHash(id: string): number {
  let h = 0x811c9dc5;
  for (let k = 0; k < id.length; k++) h = Math.imul(h ^ id.charCodeAt(k), 0x01000193) >>> 0;
  return h;
}

/** MiB of memory the driver reports for a GPU model (what `memory.total` prints). */
export function memoryTotalMiB(model: GpuModel): number {
  return model.vramGiB >= 48 ? 49140 : 24564;
}

/** One GPU as nvidia-smi sees it. */
export interface GpuReading {
  index: number;
  util: number;
  memUsedMiB: number;
  memTotalMiB: number;
  tempC: number;
  powerW: number;
}

/** Per-GPU readings at the current work (GPUs attached = `gpuUsed`). */
export function gpuReadings(i: MachineSubject): GpuReading[] {
  const total = memoryTotalMiB(i.gpuModel);
  const running = i.status === 'running';
  const out: GpuReading[] = [];
  for (let g = 0; g < i.gpuUsed; g++) {
    const works = running && i.busy && (i.workKind === 'background' || (g === 0 && i.workKind === 'app'));
    const nearZero = running && i.busy && g === 0 && (i.workKind === 'cpu' || i.workKind === 'interactive');
    const util = works || nearZero ? Math.round(i.gpuUtil) : 0;
    const modelLoaded = running && g === 0 && i.image.kind !== 'Jupyter';
    const memUsed = works ? Math.round(total * 0.835) : modelLoaded ? Math.round(total * 0.28) : 0;
    out.push({ index: g, util, memUsedMiB: memUsed, memTotalMiB: total, tempC: 33 + Math.round(util * 0.4), powerW: Math.round((21 + util * 3.9) * 100) / 100 });
  }
  return out;
}

/** One process holding GPU memory (`nvidia-smi --query-compute-apps`). */
export interface ComputeApp {
  pid: number;
  processName: string;
  usedMiB: number;
  gpu: number;
}

/** The processes holding GPU memory now: the web app's server, the busy kernel, or one trainer per GPU. */
export function computeApps(i: MachineSubject): ComputeApp[] {
  const base = 300 + (idHash(i.id) % 20_000);
  const python = '/root/miniconda3/bin/python';
  return gpuReadings(i)
    .filter((g) => g.memUsedMiB > 0)
    .map((g) => ({
      pid: i.busy && i.workKind === 'background' ? base + 4_000 + g.index : base + g.index,
      processName: python,
      usedMiB: Math.max(0, g.memUsedMiB - 306),
      gpu: g.index,
    }));
}

/** Logins with their idle time at `t` (ms). */
export function loginsAt(i: MachineSubject, t: number): Array<Login & { idleS: number }> {
  return i.logins.map((l) => ({ ...l, idleS: l.typing ? 0 : Math.max(0, Math.floor((t - l.lastInput) / 1000)) }));
}
