/**
 * The platform's free GPUs: an overall cap (the `gpuPool` option, shared by every model) and, once set through
 * `POST /sim/gpu-pool`, a free count per model. A deploy or boot takes from both and fails with 可用GPU不足
 * when either is short; a release, destroy or freeze gives back to both.
 */
import { GPU_MODELS, type GpuModel } from './catalog.js';

/** Free GPUs per model and overall. */
export class GpuPool {
  private freeTotal: number;
  /** free count per model short name; absent = limited only by the overall cap */
  private readonly perModel = new Map<string, number>();

  constructor(readonly total: number) {
    this.freeTotal = total;
  }

  /** GPUs free overall. */
  get free(): number {
    return this.freeTotal;
  }

  /** GPUs of `model` a deploy or boot could take now. */
  freeOf(model: GpuModel): number {
    return Math.min(this.freeTotal, this.perModel.get(model.short) ?? Number.POSITIVE_INFINITY);
  }

  /** Whether `n` GPUs of `model` can be taken. */
  canTake(model: GpuModel, n: number): boolean {
    return this.freeOf(model) >= n;
  }

  /** Take `n` GPUs of `model` (callers check `canTake` first; `force` may drive counts below zero). */
  take(model: GpuModel, n: number): void {
    this.freeTotal -= n;
    const m = this.perModel.get(model.short);
    if (m !== undefined) this.perModel.set(model.short, m - n);
  }

  /** Give `n` GPUs of `model` back. */
  give(model: GpuModel, n: number): void {
    if (n <= 0) return;
    this.freeTotal += n;
    const m = this.perModel.get(model.short);
    if (m !== undefined) this.perModel.set(model.short, m + n);
  }

  /** Set the free count of one model (null = back to the overall cap only). */
  setFree(model: GpuModel, free: number | null): void {
    if (free === null) this.perModel.delete(model.short);
    else this.perModel.set(model.short, free);
  }

  /** Free GPUs per model short name (the `GET /sim/gpu-pool` answer). */
  view(): Record<string, number> {
    return Object.fromEntries(GPU_MODELS.map((m) => [m.short, Math.max(0, this.freeOf(m))]));
  }
}
