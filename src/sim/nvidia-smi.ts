/**
 * The simulator's `nvidia-smi`: the query forms monitoring tools run, printed as the real tool prints them.
 * `--query-gpu=FIELDS` / `--query-compute-apps=FIELDS` with `--format=csv[,noheader][,nounits]`, optionally looping
 * with `-l N` (seconds) or `-lms N` (milliseconds) of the simulator's clock. Values come from `machine.ts`.
 */
import { computeApps, gpuReadings, type GpuReading, type MachineSubject } from './machine.js';

/** What one invocation asks for. */
export interface NvidiaSmiQuery {
  target: 'gpu' | 'apps';
  fields: string[];
  header: boolean;
  units: boolean;
  /** loop period in ms, or null for one block */
  loopMs: number | null;
}

/** A usage error, printed as nvidia-smi prints it. */
export interface NvidiaSmiError {
  error: string;
  code: number;
}

const INVALID = "Invalid combination of input arguments. Please run 'nvidia-smi -h' for help.\n";

type Unit = '%' | 'MiB' | 'W' | null;
interface Field {
  header: string;
  unit: Unit;
  value: (g: GpuReading, t: number, name: string) => string | number;
}

const two = (n: number) => String(n).padStart(2, '0');
/** nvidia-smi's timestamp format (`2026/11/02 09:12:33.123`), in UTC as in a container without TZ. */
export function smiTimestamp(t: number): string {
  const d = new Date(t);
  return `${d.getUTCFullYear()}/${two(d.getUTCMonth() + 1)}/${two(d.getUTCDate())} ${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())}.${String(d.getUTCMilliseconds()).padStart(3, '0')}`;
}

const busId = (index: number) => `00000000:${(0x18 + index * 0x10).toString(16).toUpperCase().padStart(2, '0')}:00.0`;

const GPU_FIELDS: Record<string, Field> = {
  timestamp: { header: 'timestamp', unit: null, value: (_g, t) => smiTimestamp(t) },
  index: { header: 'index', unit: null, value: (g) => g.index },
  name: { header: 'name', unit: null, value: (_g, _t, name) => name },
  count: { header: 'count', unit: null, value: () => 0 },
  'pci.bus_id': { header: 'pci.bus_id', unit: null, value: (g) => busId(g.index) },
  'utilization.gpu': { header: 'utilization.gpu [%]', unit: '%', value: (g) => g.util },
  'utilization.memory': { header: 'utilization.memory [%]', unit: '%', value: (g) => Math.round(g.util * 0.6) },
  'memory.used': { header: 'memory.used [MiB]', unit: 'MiB', value: (g) => g.memUsedMiB },
  'memory.total': { header: 'memory.total [MiB]', unit: 'MiB', value: (g) => g.memTotalMiB },
  'memory.free': { header: 'memory.free [MiB]', unit: 'MiB', value: (g) => g.memTotalMiB - g.memUsedMiB },
  'temperature.gpu': { header: 'temperature.gpu', unit: null, value: (g) => g.tempC },
  'power.draw': { header: 'power.draw [W]', unit: 'W', value: (g) => g.powerW.toFixed(2) },
};

const APP_FIELDS: Record<string, { header: string; unit: Unit }> = {
  pid: { header: 'pid', unit: null },
  process_name: { header: 'process_name', unit: null },
  name: { header: 'process_name', unit: null },
  used_memory: { header: 'used_gpu_memory [MiB]', unit: 'MiB' },
  used_gpu_memory: { header: 'used_gpu_memory [MiB]', unit: 'MiB' },
  gpu_bus_id: { header: 'gpu_bus_id', unit: null },
};

function positiveInt(v: string | undefined): number | null {
  if (v === undefined || !/^\d+$/.test(v)) return null;
  const n = Number(v);
  return n >= 1 ? n : null;
}

/** Parse the arguments after `nvidia-smi`. */
export function parseNvidiaSmi(args: string[]): NvidiaSmiQuery | NvidiaSmiError {
  let target: 'gpu' | 'apps' | null = null;
  let fields: string[] = [];
  let format: string[] | null = null;
  let loopMs: number | null = null;
  for (let k = 0; k < args.length; k++) {
    const a = args[k];
    const eq = a.indexOf('=');
    const [opt, val] = eq > 0 ? [a.slice(0, eq), a.slice(eq + 1)] : [a, undefined];
    if (opt === '--query-gpu' || opt === '--query-compute-apps') {
      if (target || !val) return { error: INVALID, code: 2 };
      target = opt === '--query-gpu' ? 'gpu' : 'apps';
      fields = val.split(',').map((f) => f.trim());
    } else if (opt === '--format') {
      format = (val ?? '').split(',').map((f) => f.trim());
    } else if (opt === '-l' || opt === '--loop' || opt === '-lms' || opt === '--loop-ms') {
      const n = positiveInt(val ?? args[++k]);
      if (n === null) return { error: INVALID, code: 2 };
      loopMs = opt === '-l' || opt === '--loop' ? n * 1000 : n;
    } else {
      return { error: INVALID, code: 2 };
    }
  }
  if (!target || !format || !format.includes('csv') || format.some((f) => !['csv', 'noheader', 'nounits'].includes(f))) {
    return { error: INVALID, code: 2 };
  }
  const known = target === 'gpu' ? GPU_FIELDS : APP_FIELDS;
  const bad = fields.find((f) => !(f in known));
  if (bad !== undefined) return { error: `Field "${bad}" is not a valid field to query.\n\n`, code: 2 };
  return { target, fields, header: !format.includes('noheader'), units: !format.includes('nounits'), loopMs };
}

function withUnit(v: string | number, unit: Unit, units: boolean): string {
  return units && unit ? `${v} ${unit}` : String(v);
}

/** The header line of a query (`index, utilization.gpu [%], ...`), or '' with `noheader`. */
export function smiHeader(q: NvidiaSmiQuery): string {
  if (!q.header) return '';
  const table: Record<string, { header: string }> = q.target === 'gpu' ? GPU_FIELDS : APP_FIELDS;
  return q.fields.map((f) => table[f].header).join(', ') + '\n';
}

/** One block of output at time `t`: one line per GPU (or per process). '' when no process holds a GPU. */
export function smiBlock(q: NvidiaSmiQuery, inst: MachineSubject, t: number): string {
  const gpus = gpuReadings(inst);
  if (q.target === 'gpu') {
    const name = inst.gpuModel.full;
    return gpus
      .map((g) => q.fields.map((f) => (f === 'count' ? String(gpus.length) : withUnit(GPU_FIELDS[f].value(g, t, name), GPU_FIELDS[f].unit, q.units))).join(', ') + '\n')
      .join('');
  }
  return computeApps(inst)
    .map((p) =>
      q.fields
        .map((f) => {
          const unit = APP_FIELDS[f].unit;
          if (f === 'pid') return String(p.pid);
          if (f === 'process_name' || f === 'name') return p.processName;
          if (f === 'gpu_bus_id') return busId(p.gpu);
          return withUnit(p.usedMiB, unit, q.units);
        })
        .join(', ') + '\n',
    )
    .join('');
}

/** What nvidia-smi prints when the instance has no GPU attached (a `gpu_count: 0` boot). */
export const NO_DEVICES = 'No devices were found\n';

// ---------------------------------------------------------------- the table (bare `nvidia-smi`) and `-L`

/** Driver and CUDA version the simulated machines report (a 535 driver, as on many RTX 4090 images). */
export const DRIVER_VERSION = '535.183.01';
export const CUDA_VERSION = '12.2';
/** Board power limit (W) of the simulated RTX 4090 family. */
const POWER_CAP_W = 450;

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
/** C's `ctime` layout without the newline (`Mon Nov  2 09:12:33 2026`), in UTC. */
export function ctimeUtc(t: number): string {
  const d = new Date(t);
  return `${DAYS[d.getUTCDay()]} ${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2)} ${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} ${d.getUTCFullYear()}`;
}

/** A stable GPU UUID for one GPU of one instance (`GPU-8c1f2a3b-...`), as `-L` and the table's process rows use. */
export function gpuUuid(instId: string, index: number): string {
  let h = 0x811c9dc5 ^ index;
  const hex: string[] = [];
  const src = `${instId}/${index}`;
  for (let round = 0; round < 4; round++) {
    for (let k = 0; k < src.length; k++) h = Math.imul(h ^ src.charCodeAt(k), 0x01000193) >>> 0;
    h = Math.imul(h ^ round, 0x01000193) >>> 0;
    hex.push(h.toString(16).padStart(8, '0'));
  }
  const s = hex.join('');
  return `GPU-${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20, 32)}`;
}

/** `left`, spaces, `right`, filling exactly `width` columns (the left part is cut if both do not fit). */
function spread(left: string, right: string, width: number): string {
  const room = width - right.length;
  return (left.length > room ? left.slice(0, room) : left.padEnd(room)) + right;
}

const W1 = 41;
const W2 = 22;
const W3 = 22;
const WIDTH = W1 + W2 + W3 + 2; // inner width of the full-width boxes
const dashes = (n: number) => '-'.repeat(n);

/** `nvidia-smi -L`: `GPU 0: NVIDIA GeForce RTX 4090 (UUID: GPU-...)` per GPU. */
export function smiList(inst: MachineSubject): string {
  return gpuReadings(inst)
    .map((g) => `GPU ${g.index}: ${inst.gpuModel.full} (UUID: ${gpuUuid(inst.id, g.index)})\n`)
    .join('');
}

/** Bare `nvidia-smi`: the summary table (driver 535 layout) with one block per GPU and the Processes section. */
export function smiTable(inst: MachineSubject, t: number): string {
  const gpus = gpuReadings(inst);
  const row = (a: string, b: string, c: string) => `|${a}|${b}|${c}|\n`;
  const sep = `+${dashes(W1)}+${dashes(W2)}+${dashes(W3)}+\n`;
  let out = `${ctimeUtc(t)}       \n`;
  out += `+${dashes(WIDTH)}+\n`;
  out += `|${spread(` NVIDIA-SMI ${DRIVER_VERSION}             Driver Version: ${DRIVER_VERSION}   CUDA Version: ${CUDA_VERSION}`, '', WIDTH)}|\n`;
  out += `|${dashes(W1)}+${dashes(W2)}+${dashes(W3)}+\n`;
  out += row(spread(' GPU  Name', 'Persistence-M ', W1), spread(' Bus-Id', 'Disp.A ', W2), ' Volatile Uncorr. ECC ');
  out += row(spread(' Fan  Temp   Perf', 'Pwr:Usage/Cap ', W1), spread('', 'Memory-Usage ', W2), ' GPU-Util  Compute M. ');
  out += row(' '.repeat(W1), ' '.repeat(W2), spread('', 'MIG M. ', W3));
  out += `|${'='.repeat(W1)}+${'='.repeat(W2)}+${'='.repeat(W3)}|\n`;
  for (const g of gpus) {
    const fan = g.util > 0 ? 30 + Math.round(g.util * 0.35) : 0;
    const perf = g.util > 0 ? 'P2' : g.memUsedMiB > 0 ? 'P5' : 'P8';
    out += row(spread(`${String(g.index).padStart(4)}  ${inst.gpuModel.full}`, 'Off ', W1), ` ${busId(g.index)} Off `, spread('', 'Off ', W3));
    out += row(
      spread(`${`${fan}%`.padStart(4)}${`${g.tempC}C`.padStart(6)}${perf.padStart(6)}`, `${Math.round(g.powerW)}W / ${POWER_CAP_W}W `, W1),
      spread('', `${g.memUsedMiB}MiB / ${g.memTotalMiB}MiB `, W2),
      `${`${g.util}%`.padStart(8)}${'Default'.padStart(13)} `,
    );
    out += row(' '.repeat(W1), ' '.repeat(W2), spread('', 'N/A ', W3));
    out += sep;
  }
  out += `${' '.repeat(WIDTH + 2)}\n`;
  out += `+${dashes(WIDTH)}+\n`;
  out += `|${spread(' Processes:', '', WIDTH)}|\n`;
  out += `|${spread('  GPU   GI   CI        PID   Type   Process name', 'GPU Memory ', WIDTH)}|\n`;
  out += `|${spread('        ID   ID', 'Usage      ', WIDTH)}|\n`;
  out += `|${'='.repeat(WIDTH)}|\n`;
  const apps = computeApps(inst);
  if (apps.length === 0) out += `|${spread('  No running processes found', '', WIDTH)}|\n`;
  for (const p of apps) {
    out += `|${spread(`${String(p.gpu).padStart(5)}   N/A  N/A ${String(p.pid).padStart(9)}${'C'.padStart(7)}   ${p.processName}`, ` ${p.usedMiB}MiB `, WIDTH)}|\n`;
  }
  out += `+${dashes(WIDTH)}+\n`;
  return out;
}
