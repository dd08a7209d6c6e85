/**
 * Deterministic (seeded) generator of the bundled effectiveness traces in `bench/traces/`.
 * Trace second 0 is a local midnight (the replay maps it to Monday 2026-11-02 00:00 Asia/Shanghai);
 * event times are whole seconds, deliberately not aligned with the 60 s ticks.
 * Besides `app` work (the app shows it) the traces hold the work apps cannot see: `cpu` (model and dataset
 * downloads), `background` (nohup / tmux training) and `interactive` (an SSH session someone types in).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { seededRandom } from './stats.js';
import { join } from 'node:path';
import { parseTrace, type BusyInterval, type Trace, type TraceInstance } from './trace.js';
import type { WorkKind } from '../sim/machine.js';

const H = 3600;
const M = 60;
const DAY = 86_400;

const rng = seededRandom;

type Rand = () => number;
const uni = (r: Rand, lo: number, hi: number) => Math.round(lo + r() * (hi - lo));

/**
 * Busy bursts from `t` until about `until`: bursts of `burst` seconds separated by gaps of `gap` seconds,
 * and with probability `longGapP` a long gap (a break longer than idle_for). Returns the intervals.
 */
function bursts(r: Rand, t: number, until: number, burst: [number, number], gap: [number, number], longGapP: number, longGap: [number, number]): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  while (t < until) {
    const b = uni(r, burst[0], burst[1]);
    out.push([t, t + b]);
    t += b + (r() < longGapP ? uni(r, longGap[0], longGap[1]) : uni(r, gap[0], gap[1]));
  }
  return out;
}

/** Intervals of another kind of work. */
const as = (kind: WorkKind, xs: Array<[number, number]>): BusyInterval[] => xs.map(([a, b]) => [a, b, kind]);

/** A solo SD WebUI user over 30 days: weekday evenings, weekend afternoons, some forgotten nights, model downloads. */
export function soloWebuiMonth(seed = 1): Trace {
  const r = rng(seed);
  const days = 30;
  const sessions: TraceInstance['sessions'] = [];
  for (let d = 0; d < days; d++) {
    const weekend = d % 7 >= 5;
    if (r() > (weekend ? 0.7 : 0.8)) continue;
    const prevEnd = sessions.length ? (sessions[sessions.length - 1].end_s ?? Infinity) : -1;
    const start = d * DAY + (weekend ? 14 * H + uni(r, 0, 120 * M) : 19 * H + uni(r, 0, 90 * M));
    if (start <= prevEnd + 10 * M) continue;
    // a new checkpoint or LoRA first, now and then: a download the WebUI does not show
    const dl = r() < 0.25 ? uni(r, 4 * M, 14 * M) : 0;
    const first = start + uni(r, 3 * M, 10 * M);
    const busy: BusyInterval[] = dl ? [[first, first + dl, 'cpu']] : [];
    busy.push(...bursts(r, first + (dl ? dl + uni(r, 20, 3 * M) : 0), start + uni(r, weekend ? 3 * H : 90 * M, weekend ? 6 * H : 4 * H), [2 * M, 15 * M], [30, 12 * M], 0.08, [35 * M, 75 * M]));
    const lastBusy = busy[busy.length - 1][1];
    const forgotten = r() < (weekend ? 0.35 : 0.3);
    let end: number | null = forgotten ? (d + 1) * DAY + 8 * H + uni(r, 0, 4 * H) : lastBusy + uni(r, 1 * M, 20 * M);
    if (end >= days * DAY) end = null;
    sessions.push({ start_s: start, end_s: end, busy });
  }
  return parseTrace({
    name: 'solo-webui-month',
    duration_s: days * DAY,
    tick_s: 60,
    instances: [{ name: 'sd-webui', gpu_model: 'RTX 4090 D', price_per_hour: 1.59, image: 'WebUI', sessions }],
  });
}

/**
 * A small team over 14 days: two ComfyUI boxes used on workdays (sometimes left on, sometimes set up over SSH),
 * two multi-day trainings run with nohup from a notebook after downloading their data.
 */
export function teamComfyTraining(seed = 2): Trace {
  const r = rng(seed);
  const days = 14;
  const comfy = (name: string, gpu: string, price: number): TraceInstance => {
    const sessions: TraceInstance['sessions'] = [];
    for (let d = 0; d < days; d++) {
      if (d % 7 >= 5 || r() < 0.1) continue;
      const prevEnd = sessions.length ? (sessions[sessions.length - 1].end_s ?? Infinity) : -1;
      const start = d * DAY + 9 * H + 30 * M + uni(r, 0, 60 * M);
      if (start <= prevEnd + 10 * M) continue;
      const lunch = d * DAY + 12 * H + uni(r, 0, 30 * M);
      // some mornings start with installing custom nodes over SSH (typing, pauses under idle_for)
      const setup: BusyInterval[] = r() < 0.2 ? as('interactive', bursts(r, start + uni(r, M, 4 * M), start + uni(r, 15 * M, 35 * M), [2 * M, 6 * M], [30, 8 * M], 0, [0, 0])) : [];
      const from = setup.length ? setup[setup.length - 1][1] + uni(r, 30, 5 * M) : start + uni(r, 2 * M, 8 * M);
      const busy: BusyInterval[] = [
        ...setup,
        ...bursts(r, from, Math.max(lunch, from + 10 * M), [M, 8 * M], [30, 20 * M], 0.05, [35 * M, 50 * M]),
        ...bursts(r, lunch + uni(r, 40 * M, 80 * M), d * DAY + 18 * H + uni(r, 0, 2 * H), [M, 8 * M], [30, 20 * M], 0.05, [35 * M, 50 * M]),
      ];
      const lastBusy = busy[busy.length - 1][1];
      let end: number | null = lastBusy + uni(r, 2 * M, 30 * M);
      if (r() < 0.25) {
        let next = d + 1;
        while (next % 7 >= 5) next++;
        end = next * DAY + 9 * H + uni(r, 0, 90 * M);
      }
      if (end >= days * DAY) end = null;
      sessions.push({ start_s: start, end_s: end, busy });
    }
    return { name, gpu_model: gpu, price_per_hour: price, image: 'ComfyUI', sessions };
  };
  const trainer = (name: string, gpu: string, price: number, firstDay: number): TraceInstance => {
    const sessions: TraceInstance['sessions'] = [];
    let t = firstDay * DAY + 10 * H + uni(r, 0, 2 * H);
    while (t < (days - 2) * DAY) {
      // the dataset and base model come down first (CPU and network, GPU idle)
      const dl = t + uni(r, 2 * M, 5 * M);
      const dlEnd = dl + uni(r, 15 * M, 45 * M);
      const setup = bursts(r, dlEnd + uni(r, M, 5 * M), dlEnd + uni(r, 40 * M, 90 * M), [3 * M, 10 * M], [M, 10 * M], 0, [0, 0]);
      let tt = setup[setup.length - 1][1] + uni(r, 2 * M, 10 * M);
      const busy: BusyInterval[] = [[dl, dlEnd, 'cpu'], ...setup];
      const trainEnd = tt + uni(r, 30 * H, 70 * H);
      // `nohup python train.py &` from the notebook: the GPU works, Jupyter shows nothing;
      // a short evaluation pause (under idle_for) every ~8 h
      while (tt < trainEnd) {
        const seg = Math.min(trainEnd, tt + uni(r, 6 * H, 10 * H));
        busy.push([tt, seg, 'background']);
        tt = seg + uni(r, 5 * M, 20 * M);
      }
      const lastBusy = busy[busy.length - 1][1];
      let end: number | null = lastBusy + uni(r, 3 * H, 16 * H); // nobody watches the end of a run
      if (end >= days * DAY) end = null;
      sessions.push({ start_s: t, end_s: end, busy });
      if (end === null) break;
      t = end + uni(r, 12 * H, 36 * H);
    }
    return { name, gpu_model: gpu, price_per_hour: price, image: 'Jupyter', sessions };
  };
  return parseTrace({
    name: 'team-comfy-training',
    duration_s: days * DAY,
    tick_s: 60,
    instances: [
      comfy('comfy-a', 'RTX 4090', 1.89),
      comfy('comfy-b', 'RTX 4090 D', 1.59),
      trainer('train-1', 'RTX 4090 D 48G', 2.29, 0),
      trainer('train-2', 'RTX 4090 48G', 2.59, 2),
    ],
  });
}

/** A weekend where everyone forgets: t=0 is Friday 00:00, until Monday 12:00. Carol trains with nohup, Grace works over SSH. */
export function weekendForgotten(seed = 3): Trace {
  const r = rng(seed);
  const FRI = 0;
  const SAT = DAY;
  const SUN = 2 * DAY;
  const MON = 3 * DAY;
  const work = (from: number, to: number) => bursts(r, from, to, [2 * M, 12 * M], [30, 15 * M], 0.05, [35 * M, 60 * M]);
  const inst = (name: string, gpu: string, price: number, image: TraceInstance['image'], sessions: TraceInstance['sessions']): TraceInstance => ({ name, gpu_model: gpu, price_per_hour: price, image, sessions });
  const s = (start: number, end: number | null, busy: BusyInterval[]) => ({ start_s: start, end_s: end, busy });
  const aliceBusy = work(FRI + 14 * H + 317, FRI + 18 * H + 30 * M);
  const bobBusy = work(FRI + 10 * H + 125, FRI + 19 * H);
  const bobSat = work(SAT + 15 * H + 777, SAT + 16 * H + 10 * M);
  const daveBusy: Array<[number, number]> = [];
  // a notebook user who steps away for 20-25 minutes at a time (never long enough to release)
  for (let t = FRI + 11 * H + 403; t < FRI + 17 * H; ) {
    const b = uni(r, 10 * M, 40 * M);
    daveBusy.push([t, t + b]);
    t += b + uni(r, 20 * M, 25 * M);
  }
  const erinDl: BusyInterval = [FRI + 13 * H + 59, FRI + 13 * H + 11 * M + 17, 'cpu'];
  const erinBusy = work(FRI + 13 * H + 14 * M + 3, FRI + 19 * H + 40 * M);
  const frankSat = work(SAT + 13 * H + 211, SAT + 17 * H);
  const frankSun = work(SUN + 20 * H + 1009, SUN + 22 * H);
  // an SSH session with typing in bursts and pauses under idle_for, then the terminal is left open and forgotten
  const graceBusy = as('interactive', bursts(r, FRI + 15 * H + 421, FRI + 17 * H + 30 * M, [4 * M, 20 * M], [M, 18 * M], 0, [0, 0]));
  return parseTrace({
    name: 'weekend-forgotten',
    duration_s: MON + 12 * H,
    tick_s: 60,
    instances: [
      inst('sd-alice', 'RTX 4090 D', 1.59, 'WebUI', [s(FRI + 14 * H, MON + 9 * H + 30 * M, aliceBusy)]),
      inst('comfy-bob', 'RTX 4090', 1.89, 'ComfyUI', [s(FRI + 10 * H, null, [...bobBusy, ...bobSat])]),
      inst('train-carol', 'RTX 4090 D 48G', 2.29, 'Jupyter', [s(FRI + 16 * H, MON + 10 * H + 7 * M, [[FRI + 16 * H + 600, SAT + 5 * H + 12 * M + 41, 'background']])]),
      inst('notebook-dave', 'RTX 4090', 1.89, 'Jupyter', [s(FRI + 11 * H, null, daveBusy)]),
      inst('sd-erin', 'RTX 4090 D', 1.59, 'WebUI', [s(FRI + 13 * H, erinBusy[erinBusy.length - 1][1] + 7 * M + 13, [erinDl, ...erinBusy])]),
      inst('comfy-frank', 'RTX 4090 48G', 2.59, 'ComfyUI', [s(SAT + 13 * H, SAT + 17 * H + 20 * M + 5, frankSat), s(SUN + 20 * H, null, frankSun)]),
      inst('ssh-grace', 'RTX 4090 D', 1.59, 'Jupyter', [s(FRI + 15 * H, null, graceBusy)]),
    ],
  });
}

/** Write the bundled traces to `dir` and return their paths. */
export function writeBundledTraces(dir: string): string[] {
  mkdirSync(dir, { recursive: true });
  return [soloWebuiMonth(), teamComfyTraining(), weekendForgotten()].map((t) => {
    const path = join(dir, `${t.name}.json`);
    writeFileSync(path, JSON.stringify(t) + '\n');
    return path;
  });
}
