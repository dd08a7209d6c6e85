/**
 * GPU model names and rates as a wake needs them: boot takes full names (`NVIDIA GeForce RTX 4090 D`) while the
 * list shows short ones (`RTX 4090 D`); the rate a boot would bill is estimated for the money check.
 */

const VENDOR = 'NVIDIA GeForce ';

/** The full name boot wants: `RTX 4090 D` -> `NVIDIA GeForce RTX 4090 D`; a full name is kept as given. */
export function fullModelName(name: string): string {
  const n = name.trim().replace(/\s+/g, ' ');
  return /^nvidia\b/i.test(n) ? n : `${VENDOR}${n}`;
}

/** The short name lists show: `NVIDIA GeForce RTX 4090 D` -> `RTX 4090 D`. */
export function shortModelName(name: string): string {
  return name.trim().replace(/\s+/g, ' ').replace(/^nvidia\s+(geforce\s+)?/i, '');
}

/** Per-GPU prices (¥/h) known from working clients (reference/xgc-api-facts.md). */
const KNOWN_PER_GPU: Record<string, number> = { 'rtx 4090 d': 1.59, 'rtx 4090': 1.89 };

/**
 * What a `gpu_count: 0` boot bills per hour on top of the disk: not documented anywhere; ¥0.10/h is a guess (the
 * simulator's too). Only the money check uses it; spend is always what the list reports.
 */
export const CPU_ONLY_RATE_GUESS = 0.1;

/** The facts of an instance a rate estimate starts from. */
export interface RateBasis {
  gpuModel: string;
  pricePerHour: number;
  retainPrice: number;
  /** GPUs it held before (null: unknown) */
  lastGpuCount: number | null;
}

/**
 * ¥/h the instance would bill booted with `count` GPUs of `model`: its own per-GPU price for its own model, else
 * the known price of that model, else the dearest of both (never an underestimate for the money check).
 */
export function bootRate(basis: RateBasis, model: string, count: number): number {
  if (count === 0) return basis.retainPrice + CPU_ONLY_RATE_GUESS;
  const own = basis.lastGpuCount && basis.pricePerHour > 0 ? basis.pricePerHour / basis.lastGpuCount : null;
  const same = shortModelName(model).toLowerCase() === shortModelName(basis.gpuModel).toLowerCase();
  const known = KNOWN_PER_GPU[shortModelName(model).toLowerCase()];
  const perGpu = same && own !== null ? own : (known ?? Math.max(own ?? 0, ...Object.values(KNOWN_PER_GPU)));
  return perGpu * count;
}
