/**
 * The simulated cloud as a pure state machine: instances, their lifecycle, the GPU pool, the
 * per-instance billing ledger and the account balance. Time only moves through `advanceTo(t)`,
 * which processes scheduled transitions, hourly debits and negative-balance destruction in time
 * order, so one jump of a week yields exactly the same ledger as many small steps.
 */
import type { Clock } from '../clock.js';
import {
  type AppKind,
  type GpuModel,
  DATA_CENTERS,
  GB,
  Rng,
  SYSTEM_DISK_GB,
  defaultImage,
  findGpuModel,
  findPublicImage,
  GPU_MODELS,
  pricePerHour,
  retainPrice,
  roundMoney,
  CPU_ONLY_PRICE,
  DEFAULT_IMAGE_GB,
  IMAGE_ID_RE,
  REMOVED_PUBLIC_IMAGES,
} from './catalog.js';
import { GpuPool } from './gpu-pool.js';
import {
  DEFAULT_GPU_UTIL,
  WORK_KINDS,
  freshMeters,
  idHash,
  isWorkKind,
  settleMeters,
  syncSimLogin,
  type Login,
  type MachineMeters,
  type WorkKind,
} from './machine.js';
import { ed25519FromSeed, keySeed, parsePublicKey } from './ssh-keys.js';

/** Every instance status the Open API documents. */
export const SIM_STATUSES = [
  'deploying',
  'running',
  'booting',
  'shutting_down',
  'shutdown',
  'destroying',
  'destroyed',
  'saving_image',
  'freezing',
  'freeze',
  'replacing_image',
] as const;
/** One documented instance status. */
export type SimStatus = (typeof SIM_STATUSES)[number];

/** Chinese messages the simulated platform answers with (all under code 1000). */
export const SIM_MSG = {
  tokenEmpty: '访问令牌为空',
  tokenUnknown: '未找到访问令牌',
  notFound: '实例不存在',
  wrongState: '实例当前状态不支持该操作',
  noGpu: '可用GPU不足',
  /** the platform's out-of-stock text for a known model; the simulator does not send it (an empty pool is 可用GPU不足) */
  modelUnavailable: 'GPU型号暂时不可用',
  badParam: '参数错误',
  lowBalance: '余额不足',
  noImage: '镜像不存在',
  noDataCenter: '数据中心不存在',
  busy: '服务繁忙',
  noRoute: '接口不存在',
} as const;

/** A refusal by the simulated platform; the server answers it as `{code: 1000, success: false, msg}`. */
export class SimError extends Error {
  readonly code = 1000;
  constructor(public readonly msg: string) {
    super(msg);
    this.name = 'SimError';
  }
}

/** The platform's parameter refusal naming the field: `参数错误: gpu_model` (plain `参数错误` without a field). */
export function paramError(field?: string): SimError {
  return new SimError(field ? `${SIM_MSG.badParam}: ${field}` : SIM_MSG.badParam);
}

/** Seconds of simulated time each asynchronous step takes; `gone` = how long a destroyed instance stays listed. */
export interface SimDurations {
  deploy: number;
  boot: number;
  shutdown: number;
  release: number;
  destroy: number;
  gone: number;
}

/** Default step durations in seconds (the platform's deploy->destroy round trip is a few minutes). */
export const DEFAULT_DURATIONS: Readonly<SimDurations> = {
  deploy: 30,
  boot: 20,
  shutdown: 10,
  release: 15,
  destroy: 10,
  gone: 60,
};

/** Fault injection settings for `/open` (rates 0..1, `endpoints` = path prefixes, empty = all). */
export interface SimFaults {
  error_rate: number;
  http_500_rate: number;
  timeout_rate: number;
  malformed_rate: number;
  token_error_rate: number;
  latency_ms: number;
  endpoints: string[];
  /** SSH: a new connection is accepted and closed at once */
  ssh_refuse_rate: number;
  /** SSH: a new connection never gets an answer, or a new exec channel never prints */
  ssh_hang_rate: number;
}

/** No faults. */
export const NO_FAULTS: Readonly<SimFaults> = {
  error_rate: 0,
  http_500_rate: 0,
  timeout_rate: 0,
  malformed_rate: 0,
  token_error_rate: 0,
  latency_ms: 0,
  endpoints: [],
  ssh_refuse_rate: 0,
  ssh_hang_rate: 0,
};

type Intent =
  | 'deploy'
  | 'boot'
  | 'shutdown'
  | 'release'
  | 'shutdown_destroy'
  | 'destroy'
  | 'gone'
  | 'save_image'
  | 'replace_image'
  | 'freeze';

interface Pending {
  from: number;
  at: number;
  seq: number;
  intent: Intent;
}

/** The image an instance runs. */
export interface SimImage {
  id: string;
  name: string;
  type: string;
  kind: AppKind;
  /** GB the image takes on the system disk */
  sizeGb: number;
}

/** One instance's full internal record (secrets included: the simulator IS the cloud). */
export interface SimInstance {
  id: string;
  name: string;
  status: SimStatus;
  gpuModel: GpuModel;
  gpuCount: number;
  /** GPUs held right now (taken from the pool). */
  gpuUsed: number;
  image: SimImage;
  systemDiskGb: number;
  /** bytes used on the system disk: the image plus what the instance wrote (`retain_size`; billed when released) */
  diskUsedBytes: number;
  dataDiskGb: number;
  createdAt: number;
  /** start of the current billed run (ms), 0 before the first: reaching `running` after a deploy (unbilled), the boot request after a shutdown (booting is billed) */
  startAt: number;
  /** last time it finished shutting down (ms), 0 if never */
  stopAt: number;
  everRunning: boolean;
  pending: Pending | null;
  /** work is running (of kind `workKind`) */
  busy: boolean;
  workKind: WorkKind;
  /** GPU utilisation (percent) the busy work shows */
  gpuUtil: number;
  /** end of the last stretch the apps showed busy (`app` work), or the time it reached running (ms) */
  lastActivityAt: number;
  /** start of the current stretch the apps show busy (ms) */
  busySince: number;
  /** CPU load and network counters (see machine.ts) */
  meters: MachineMeters;
  /** interactive logins (ttys) */
  logins: Login[];
  /** generation of the SSH host key; `POST /sim/instances/:id/host-key` bumps it */
  hostKeyGen: number;
  /** ids of account SSH keys authorized on this instance (deploy's `ssh_key`) */
  accountKeyIds: string[];
  /** yuan accrued up to `segStart` */
  billed: number;
  segStart: number;
  autoDestroyed: boolean;
  destroyedAt: number | null;
  gone: boolean;
  password: string;
  jupyterToken: string;
  xgcosToken: string;
  /** the instance's own key pair, OpenSSH private key text (the API's `ssh_key`) */
  sshKey: string;
  /** public half of `sshKey` in wire format */
  sshKeyBlob: Buffer;
  /** port of the instance's SSH server (set when the server binds; a seeded placeholder before) */
  sshPort: string;
  kernelId: string;
  sessionId: string;
  storageMountPath: string;
  /** the platform's own auto-shutdown: 0 = off, 1 = on (shown only; the simulator does not act on it) */
  autoShutdown: number;
  /** what that auto-shutdown does: see `AUTO_SHUTDOWN_ACTIONS` (0 = none) */
  autoShutdownAction: number;
}

/**
 * `auto_shutdown_action` codes. The live API sends an integer (a public Go client decodes it as `int`) but no source
 * gives the meaning: this encoding is a plausible guess following the three documented stop operations.
 */
export const AUTO_SHUTDOWN_ACTIONS: Readonly<Record<number, string>> = {
  0: 'none',
  1: 'shutdown',
  2: 'shutdown_release_gpu',
  3: 'shutdown_destroy',
};

/** Options of a world; durations in seconds, money in yuan, times in epoch ms. */
export interface WorldOptions {
  start: number;
  seed?: number;
  balance?: number;
  durations?: Partial<SimDurations>;
  debit?: 'hourly' | 'continuous';
  gpuPool?: number;
  /** When given, every public method first advances the world to `clock.now()`. */
  clock?: Clock;
  /** Base URL the instance app links (jupyter_url, web_url) point at. */
  baseUrl?: string;
}

/** Deploy parameters, as the Open API body carries them (already decoded). */
export interface DeployParams {
  gpuModel: string;
  gpuCount: number;
  dataCenterId?: number;
  image: string;
  imageType?: string;
  name?: string;
  systemDiskExpandSize?: number;
  /** id of an account SSH key to authorize on the instance */
  sshKey?: string;
  /** `storage: true` mounts the account's cloud storage at `storageMountPath` (default `/root/cloud`) */
  storage?: boolean;
  storageMountPath?: string;
}

/** Where cloud storage is mounted when a deploy does not say (and what instances without storage report). */
export const DEFAULT_STORAGE_MOUNT_PATH = '/root/cloud';

/** Control-API parameters for adding an instance instantly. */
export interface AddInstanceParams {
  name: string;
  gpuModel?: string;
  gpuCount?: number;
  image?: AppKind;
  status?: 'running' | 'shutdown';
  /** for `status: "shutdown"`: keep the GPU (billed at full price); default false = GPU released */
  gpuKept?: boolean;
  busy?: boolean;
  gpuUtil?: number;
  /** kind of the busy work; `busy: false` with a `gpuUtil` > 0 and no kind means `background` */
  kind?: string;
  /** id of an account SSH key to authorize (see `addAccountKey`) */
  sshKey?: string;
}

/** An SSH public key registered on the account (the console's key list); deploy's `ssh_key` names one by id. */
export interface AccountKey {
  id: string;
  publicKey: string;
  blob: Buffer;
  fingerprint: string;
}

const HOUR = 3_600_000;
/** Largest `system_disk_expand_size` a deploy takes: 1 TiB in bytes (the docs give the type, int, not a limit). */
export const MAX_DISK_EXPAND_BYTES = 1024 ** 4;
/** Longest instance name a deploy takes (characters; not documented, a sane bound). */
export const MAX_NAME_CHARS = 64;
/** Largest id number (data_center_id) a request may carry: a 32-bit int. */
const MAX_ID = 2 ** 31 - 1;
const GPU_MODEL_NAMES = GPU_MODELS.map((m) => m.short).join(', ');

/** Decode a workload request: busy with a kind, or idle; `busy: false` with GPU utilisation > 0 is background work. */
export function resolveWork(busy: unknown, gpuUtil: unknown, kind: unknown): { busy: boolean; kind: WorkKind; util: number } {
  if (typeof busy !== 'boolean') throw new SimError('busy must be true or false');
  if (kind !== undefined && !isWorkKind(kind)) throw new SimError(`kind must be one of ${WORK_KINDS.join(', ')}`);
  if (gpuUtil !== undefined && (typeof gpuUtil !== 'number' || !(gpuUtil >= 0 && gpuUtil <= 100))) {
    throw new SimError('gpu_util must be a number in 0..100');
  }
  if (!busy && kind === undefined && typeof gpuUtil === 'number' && gpuUtil > 0) return { busy: true, kind: 'background', util: gpuUtil };
  const k: WorkKind = kind ?? 'app';
  if (!busy) return { busy: false, kind: k, util: 0 };
  return { busy: true, kind: k, util: typeof gpuUtil === 'number' ? gpuUtil : DEFAULT_GPU_UTIL[k] };
}

function isInt(n: unknown, lo: number, hi: number): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= lo && n <= hi;
}

/** Money the account was charged for something other than an instance. */
export interface OutsideCharge {
  at: number;
  yuan: number;
  note: string;
}

/** The simulated account and its instances. */
export class SimWorld {
  private t: number;
  private readonly rng: Rng;
  private readonly insts = new Map<string, SimInstance>();
  private readonly durations: SimDurations;
  private readonly debitMode: 'hourly' | 'continuous';
  private readonly clock?: Clock;
  private balanceBase: number;
  private debited = 0;
  private recharged = 0;
  private readonly outside: OutsideCharge[] = [];
  private lastHour: number;
  private seq = 0;
  private readonly pool: GpuPool;
  private readonly accountKeys = new Map<string, AccountKey>();
  /** Total GPUs of the pool. */
  readonly gpuPool: number;
  /** Seed of the world (host keys derive from it). */
  readonly seed: number;
  /** Base URL app links point at (set by the server once it listens). */
  baseUrl: string;
  /** Host the instances' SSH servers listen on (the API's `ssh_domain`); '' = no SSH server, the platform's domain is shown. */
  sshHost = '';
  /** Fault settings the HTTP server applies to `/open`. */
  faults: SimFaults = { ...NO_FAULTS, endpoints: [] };

  constructor(opts: WorldOptions) {
    this.t = opts.start;
    this.seed = opts.seed ?? 42;
    this.rng = new Rng(this.seed);
    this.durations = { ...DEFAULT_DURATIONS, ...opts.durations };
    this.debitMode = opts.debit ?? 'hourly';
    this.clock = opts.clock;
    this.balanceBase = opts.balance ?? 200;
    this.lastHour = Math.floor(opts.start / HOUR) * HOUR;
    this.gpuPool = opts.gpuPool ?? 10_000;
    this.pool = new GpuPool(this.gpuPool);
    this.baseUrl = opts.baseUrl ?? 'http://127.0.0.1';
  }

  // ---------------------------------------------------------------- time

  /** World time in epoch ms. */
  get now(): number {
    return this.t;
  }

  /** Advance to the injected clock's time (no-op without a clock). */
  sync(): void {
    if (this.clock) this.advanceTo(this.clock.now());
  }

  /** Process every scheduled transition, hourly debit and negative-balance check up to `t` (never backwards). */
  advanceTo(t: number): void {
    if (t < this.t) return;
    for (;;) {
      const ev = this.nextEvent();
      if (!ev || ev.at > t) break;
      this.t = Math.max(this.t, ev.at);
      if (ev.inst) {
        const p = ev.inst.pending!;
        ev.inst.pending = null;
        this.complete(ev.inst, p.intent);
      } else if (ev.hour) {
        this.lastHour = ev.at;
        this.debit();
      }
      if (this.debitMode === 'continuous') this.debit();
      this.checkNegative();
    }
    this.t = t;
    if (this.debitMode === 'continuous') {
      this.debit();
      this.checkNegative();
    }
  }

  private nextEvent(): { at: number; inst?: SimInstance; hour?: boolean } | undefined {
    let best: { at: number; seq: number; inst?: SimInstance; hour?: boolean } | undefined;
    const consider = (c: { at: number; seq: number; inst?: SimInstance; hour?: boolean }) => {
      if (!best || c.at < best.at || (c.at === best.at && c.seq < best.seq)) best = c;
    };
    for (const inst of this.insts.values()) {
      if (inst.pending) consider({ at: inst.pending.at, seq: inst.pending.seq, inst });
    }
    if (this.debitMode === 'hourly') {
      consider({ at: this.lastHour + HOUR, seq: Number.MAX_SAFE_INTEGER - 1, hour: true });
    } else {
      const rate = this.totalRate();
      const bal = this.balance;
      if (rate > 0 && bal >= 0) {
        consider({ at: this.t + Math.floor((bal / rate) * HOUR) + 1, seq: Number.MAX_SAFE_INTEGER });
      }
    }
    return best;
  }

  // ---------------------------------------------------------------- money

  /** Yuan per hour this instance costs in its current state. */
  rateOf(inst: SimInstance): number {
    if (inst.gone || inst.status === 'deploying' || inst.status === 'destroying' || inst.status === 'destroyed') {
      return 0;
    }
    if (inst.gpuUsed > 0) return this.priceOf(inst);
    const cpuOnly = inst.gpuCount === 0 && ['running', 'booting', 'shutting_down', 'saving_image', 'replacing_image'].includes(inst.status);
    return cpuOnly ? this.priceOf(inst) : this.retainOf(inst);
  }

  /** `price_per_hour`: per-GPU price x gpu count; a CPU-only instance (0 GPUs) costs its disk plus `CPU_ONLY_PRICE`. */
  priceOf(inst: SimInstance): number {
    if (inst.gpuCount === 0) return roundMoney(CPU_ONLY_PRICE + this.retainOf(inst));
    return pricePerHour(inst.gpuModel, inst.gpuCount);
  }

  /** `retain_price`: USED system disk GB x ¥0.00003 (the docs bill 系统磁盘已使用空间). */
  retainOf(inst: SimInstance): number {
    return retainPrice(inst.diskUsedBytes / GB);
  }

  /** Yuan accrued by an instance up to now. */
  billedOf(inst: SimInstance): number {
    return inst.billed + (this.rateOf(inst) * (this.t - inst.segStart)) / HOUR;
  }

  private settle(inst: SimInstance): void {
    inst.billed = this.billedOf(inst);
    inst.segStart = this.t;
  }

  private totalRate(): number {
    let r = 0;
    for (const inst of this.insts.values()) r += this.rateOf(inst);
    return r;
  }

  private debit(): void {
    let total = 0;
    for (const inst of this.insts.values()) {
      this.settle(inst);
      total += inst.billed;
    }
    this.debited = total;
  }

  /** Account balance in yuan (accrued charges are subtracted at each debit). */
  get balance(): number {
    return this.balanceBase - this.debited;
  }

  /** Yuan accrued since the last debit: what the next hourly debit takes on top of the hour still to run. */
  get undebited(): number {
    this.sync();
    let total = 0;
    for (const inst of this.insts.values()) total += this.billedOf(inst);
    return total - this.debited;
  }

  /** Yuan subtracted from the balance so far. */
  get debitedTotal(): number {
    return this.debited;
  }

  /** Yuan added by recharges so far. */
  get rechargedTotal(): number {
    return this.recharged;
  }

  /** Charges booked outside instances (storage, another product), oldest first. */
  get outsideCharges(): readonly OutsideCharge[] {
    return this.outside;
  }

  /**
   * Take `yuan` (0 < yuan <= 1,000,000) from the balance now for something that is not an instance, and book it in
   * the ledger as a charge of its own kind.
   */
  chargeOutside(yuan: number, note: string): void {
    this.sync();
    if (!(Number.isFinite(yuan) && yuan > 0 && yuan <= 1_000_000)) throw new SimError('yuan must be a number > 0 and <= 1000000');
    if (note.length > 200) throw new SimError('note must be at most 200 characters');
    this.outside.push({ at: this.t, yuan, note });
    this.balanceBase -= yuan;
    this.checkNegative();
  }

  /** Set the balance; a higher value counts as a recharge. */
  setBalance(balance: number): void {
    this.sync();
    if (!Number.isFinite(balance)) throw new SimError(SIM_MSG.badParam);
    const delta = balance - this.balance;
    if (delta > 0) this.recharged += delta;
    this.balanceBase = balance + this.debited;
    this.checkNegative();
  }

  private checkNegative(): void {
    if (this.balance >= 0) return;
    for (const inst of this.insts.values()) {
      if (inst.gone || inst.status === 'destroying' || inst.status === 'destroyed') continue;
      this.settle(inst);
      this.leaveRunning(inst);
      if (inst.status === 'running') inst.stopAt = this.t;
      inst.status = 'destroying';
      inst.autoDestroyed = true;
      this.schedule(inst, 'destroy', this.durations.destroy);
    }
  }

  // ---------------------------------------------------------------- lifecycle

  private schedule(inst: SimInstance, intent: Intent, seconds: number): void {
    inst.pending = { from: this.t, at: this.t + Math.round(seconds * 1000), seq: ++this.seq, intent };
  }

  private takeGpus(model: GpuModel, n: number): void {
    if (!this.pool.canTake(model, n)) throw new SimError(SIM_MSG.noGpu);
    this.pool.take(model, n);
  }

  private giveGpus(inst: SimInstance): void {
    this.pool.give(inst.gpuModel, inst.gpuUsed);
    inst.gpuUsed = 0;
  }

  private leaveRunning(inst: SimInstance): void {
    settleMeters(inst, this.t);
    if (inst.busy && inst.workKind === 'app') inst.lastActivityAt = this.t;
    inst.busy = false;
    inst.gpuUtil = 0;
    inst.logins = [];
  }

  private reachRunning(inst: SimInstance): void {
    inst.status = 'running';
    inst.everRunning = true;
    inst.startAt = this.t;
    inst.lastActivityAt = this.t;
    inst.busy = false;
    inst.workKind = 'app';
    inst.gpuUtil = 0;
    inst.meters = freshMeters(this.t);
    inst.logins = [];
  }

  private complete(inst: SimInstance, intent: Intent): void {
    this.settle(inst);
    switch (intent) {
      case 'deploy':
      case 'replace_image':
        this.reachRunning(inst);
        break;
      case 'boot': {
        const bootedAt = inst.startAt; // the boot request: the GPU has been billed since then
        this.reachRunning(inst);
        inst.startAt = bootedAt;
        break;
      }
      case 'shutdown':
      case 'save_image':
        inst.status = 'shutdown';
        inst.stopAt = this.t;
        break;
      case 'release':
        inst.status = 'shutdown';
        inst.stopAt = this.t;
        this.giveGpus(inst);
        break;
      case 'freeze':
        inst.status = 'freeze';
        this.giveGpus(inst);
        break;
      case 'shutdown_destroy':
        inst.status = 'destroying';
        inst.stopAt = this.t;
        this.schedule(inst, 'destroy', this.durations.destroy);
        break;
      case 'destroy':
        inst.status = 'destroyed';
        inst.destroyedAt = this.t;
        this.giveGpus(inst);
        this.schedule(inst, 'gone', this.durations.gone);
        break;
      case 'gone':
        inst.gone = true;
        break;
    }
  }

  /** A live (not gone) instance, or the platform's not-found error. */
  private live(id: unknown): SimInstance {
    if (typeof id !== 'string' || id === '') throw new SimError(SIM_MSG.badParam);
    const inst = this.insts.get(id);
    if (!inst || inst.gone) throw new SimError(SIM_MSG.notFound);
    return inst;
  }

  private newInstance(p: {
    name: string;
    model: GpuModel;
    count: number;
    image: SimImage;
    systemDiskGb: number;
    createdAt: number;
  }): SimInstance {
    let id = this.rng.instanceId();
    while (this.insts.has(id)) id = this.rng.instanceId();
    const password = this.rng.secret(12);
    const jupyterToken = this.rng.hex(48);
    const xgcosToken = this.rng.secret(32);
    const keyPair = ed25519FromSeed(keySeed(`instance|${this.rng.secret(40)}`), `root@${id}`);
    const inst: SimInstance = {
      id,
      name: p.name,
      status: 'deploying',
      gpuModel: p.model,
      gpuCount: p.count,
      gpuUsed: 0,
      image: p.image,
      systemDiskGb: p.systemDiskGb,
      diskUsedBytes: Math.min(p.systemDiskGb, p.image.sizeGb) * GB,
      dataDiskGb: 50,
      createdAt: p.createdAt,
      startAt: 0,
      stopAt: 0,
      everRunning: false,
      pending: null,
      busy: false,
      workKind: 'app',
      gpuUtil: 0,
      lastActivityAt: this.t,
      busySince: this.t,
      meters: freshMeters(this.t),
      logins: [],
      hostKeyGen: 0,
      accountKeyIds: [],
      billed: 0,
      segStart: this.t,
      autoDestroyed: false,
      destroyedAt: null,
      gone: false,
      password,
      jupyterToken,
      xgcosToken,
      sshKey: keyPair.privateKey,
      sshKeyBlob: keyPair.blob,
      sshPort: String(this.rng.int(20000, 60000)),
      kernelId: this.rng.uuid(),
      sessionId: this.rng.uuid(),
      storageMountPath: DEFAULT_STORAGE_MOUNT_PATH,
      autoShutdown: 0,
      autoShutdownAction: 0,
    };
    if (p.name === '') inst.name = id.slice(0, 8);
    this.insts.set(id, inst);
    return inst;
  }

  /** `POST /open/instance/deploy`: takes GPUs now, `deploying` (unbilled) until `running`. Returns the id. */
  deploy(p: DeployParams): string {
    this.sync();
    // a missing or unknown model is a malformed request, not a shortage (GPU型号暂时不可用 would send clients
    // into their out-of-stock retry loops); a known model with no free GPU answers 可用GPU不足 below
    const model = typeof p.gpuModel === 'string' ? findGpuModel(p.gpuModel) : undefined;
    if (!model) throw paramError('gpu_model');
    if (!isInt(p.gpuCount, 0, 8)) throw paramError('gpu_count');
    if (p.dataCenterId !== undefined && !isInt(p.dataCenterId, 1, MAX_ID)) throw paramError('data_center_id');
    if (!DATA_CENTERS[p.dataCenterId ?? 1]) throw new SimError(SIM_MSG.noDataCenter);
    if (p.systemDiskExpandSize !== undefined && !isInt(p.systemDiskExpandSize, 0, MAX_DISK_EXPAND_BYTES)) {
      throw paramError('system_disk_expand_size');
    }
    if (p.name !== undefined && (typeof p.name !== 'string' || [...p.name].length > MAX_NAME_CHARS)) throw paramError('name');
    const imageType = p.imageType ?? 'public';
    if (imageType !== 'public' && imageType !== 'community' && imageType !== 'private') throw paramError('image_type');
    // every image id has the documented form (a UUID); a public id newer than the docs' table is served (the
    // platform adds images), one the simulator lists as removed is 镜像不存在
    const imageId = typeof p.image === 'string' ? p.image.trim() : '';
    if (!IMAGE_ID_RE.test(imageId)) throw paramError('image');
    let image: SimImage;
    if (imageType === 'public') {
      if (REMOVED_PUBLIC_IMAGES.has(imageId.toLowerCase())) throw new SimError(SIM_MSG.noImage);
      const pub = findPublicImage(imageId);
      image = pub
        ? { id: pub.id, name: pub.name, type: 'public', kind: pub.kind, sizeGb: pub.sizeGb }
        : { id: imageId, name: '', type: 'public', kind: 'Jupyter', sizeGb: DEFAULT_IMAGE_GB };
    } else {
      image = { id: imageId, name: '', type: imageType, kind: 'Jupyter', sizeGb: DEFAULT_IMAGE_GB };
    }
    if (p.sshKey !== undefined && !this.accountKeys.has(p.sshKey)) throw new SimError(SIM_MSG.badParam);
    let storagePath = DEFAULT_STORAGE_MOUNT_PATH;
    if (p.storage && p.storageMountPath !== undefined) {
      if (!/^\/[^\0]{0,254}$/.test(p.storageMountPath)) throw new SimError(`${SIM_MSG.badParam}: storage_mount_path`);
      storagePath = p.storageMountPath;
    }
    if (this.balance <= 0) throw new SimError(SIM_MSG.lowBalance);
    this.takeGpus(model, p.gpuCount);
    const expandGb = p.systemDiskExpandSize ? Math.ceil(p.systemDiskExpandSize / GB) : 0;
    const inst = this.newInstance({
      name: p.name ?? '',
      model,
      count: p.gpuCount,
      image,
      systemDiskGb: SYSTEM_DISK_GB + expandGb,
      createdAt: this.t,
    });
    inst.gpuUsed = p.gpuCount;
    inst.storageMountPath = storagePath;
    if (p.sshKey !== undefined) inst.accountKeyIds.push(p.sshKey);
    this.schedule(inst, 'deploy', this.durations.deploy);
    this.advanceTo(this.t); // zero durations complete at once
    return inst.id;
  }

  /** `POST /open/instance/boot`: from `shutdown`; a released instance takes GPUs again (model/count may change). */
  boot(id: unknown, opts: { gpuModel?: string; gpuCount?: number } = {}): void {
    this.sync();
    const inst = this.live(id);
    if (inst.status !== 'shutdown') throw new SimError(SIM_MSG.wrongState);
    if (this.balance <= 0) throw new SimError(SIM_MSG.lowBalance);
    this.settle(inst);
    if (inst.gpuUsed === 0) {
      const model = opts.gpuModel ? findGpuModel(opts.gpuModel) : inst.gpuModel;
      if (!model) throw paramError('gpu_model');
      const count = opts.gpuCount ?? inst.gpuCount;
      if (!isInt(count, 0, 8)) throw paramError('gpu_count');
      this.takeGpus(model, count);
      inst.gpuModel = model;
      inst.gpuCount = count;
      inst.gpuUsed = count;
    }
    inst.status = 'booting';
    inst.startAt = this.t; // start_timestamp: billing resumes with the boot, not when it is running
    this.schedule(inst, 'boot', this.durations.boot);
    this.advanceTo(this.t);
  }

  /** `POST /open/instance/shutdown`: from `running`; keeps the GPU (and its billing). */
  shutdown(id: unknown): void {
    this.sync();
    const inst = this.live(id);
    if (inst.status !== 'running') throw new SimError(SIM_MSG.wrongState);
    this.settle(inst);
    this.leaveRunning(inst);
    inst.status = 'shutting_down';
    this.schedule(inst, 'shutdown', this.durations.shutdown);
    this.advanceTo(this.t);
  }

  /** `POST /open/instance/shutdown_release_gpu`: from `running` or a GPU-keeping `shutdown`; ends at `shutdown` with gpu_used 0. */
  releaseGpu(id: unknown): void {
    this.sync();
    const inst = this.live(id);
    const keptShutdown = inst.status === 'shutdown' && inst.gpuUsed > 0;
    if (inst.status !== 'running' && !keptShutdown) throw new SimError(SIM_MSG.wrongState);
    this.settle(inst);
    this.leaveRunning(inst);
    inst.status = 'shutting_down';
    this.schedule(inst, 'release', this.durations.release);
    this.advanceTo(this.t);
  }

  /** `POST /open/instance/shutdown_destroy`: running -> shutting_down -> destroying -> destroyed; from shutdown/freeze straight to destroying. */
  shutdownDestroy(id: unknown): void {
    this.sync();
    const inst = this.live(id);
    this.settle(inst);
    if (inst.status === 'running') {
      this.leaveRunning(inst);
      inst.status = 'shutting_down';
      this.schedule(inst, 'shutdown_destroy', this.durations.shutdown);
    } else if (inst.status === 'shutdown' || inst.status === 'freeze') {
      inst.status = 'destroying';
      this.schedule(inst, 'destroy', this.durations.destroy);
    } else {
      throw new SimError(SIM_MSG.wrongState);
    }
    this.advanceTo(this.t);
  }

  /** `POST /open/instance/destroy`: from running, shutdown or freeze -> destroying -> destroyed, then gone from the list. */
  destroy(id: unknown): void {
    this.sync();
    const inst = this.live(id);
    if (inst.status !== 'running' && inst.status !== 'shutdown' && inst.status !== 'freeze') {
      throw new SimError(SIM_MSG.wrongState);
    }
    this.settle(inst);
    if (inst.status === 'running') inst.stopAt = this.t;
    this.leaveRunning(inst);
    inst.status = 'destroying';
    this.schedule(inst, 'destroy', this.durations.destroy);
    this.advanceTo(this.t);
  }

  /**
   * Operator override for statuses the Open API cannot reach (saving_image, freezing, freeze,
   * replacing_image, ...): set at once; transient ones finish on their own (saving_image -> shutdown,
   * replacing_image -> running, freezing -> freeze). Ignores the GPU pool.
   */
  forceStatus(id: unknown, status: SimStatus): void {
    this.sync();
    const inst = this.live(id);
    if (!SIM_STATUSES.includes(status)) throw new SimError(SIM_MSG.badParam);
    this.settle(inst);
    inst.pending = null;
    if (status !== 'running') this.leaveRunning(inst);
    const holdsGpu = ['deploying', 'running', 'booting', 'shutting_down', 'replacing_image'].includes(status);
    if (holdsGpu && inst.gpuUsed === 0) {
      this.pool.take(inst.gpuModel, inst.gpuCount);
      inst.gpuUsed = inst.gpuCount;
    }
    if (status === 'running') this.reachRunning(inst);
    else inst.status = status;
    if (status === 'booting') inst.startAt = this.t; // as a boot request would
    const d = this.durations;
    const next: Partial<Record<SimStatus, [Intent, number]>> = {
      deploying: ['deploy', d.deploy],
      booting: ['boot', d.boot],
      shutting_down: ['shutdown', d.shutdown],
      destroying: ['destroy', d.destroy],
      destroyed: ['gone', d.gone],
      saving_image: ['save_image', d.shutdown],
      replacing_image: ['replace_image', d.boot],
      freezing: ['freeze', d.shutdown],
    };
    if (status === 'freeze' || status === 'destroyed') this.giveGpus(inst);
    if (status === 'destroyed') inst.destroyedAt = this.t;
    const step = next[status];
    if (step) this.schedule(inst, step[0], step[1]);
    this.advanceTo(this.t);
  }

  // ---------------------------------------------------------------- control API

  /** Add an instance instantly in `running` (billed from now) or `shutdown` (GPU released unless gpuKept). */
  addInstance(p: AddInstanceParams, createdAt?: number): { id: string } {
    this.sync();
    const model = findGpuModel(p.gpuModel ?? 'RTX 4090 D');
    if (!model) throw new SimError(`gpu_model: unknown GPU model (known: ${GPU_MODEL_NAMES})`);
    const count = p.gpuCount ?? 1;
    if (!isInt(count, 0, 8)) throw new SimError('gpu_count must be an integer in 0..8');
    if ([...p.name].length > MAX_NAME_CHARS) throw new SimError(`name must be at most ${MAX_NAME_CHARS} characters`);
    const kind = p.image ?? 'Jupyter';
    if (kind !== 'ComfyUI' && kind !== 'WebUI' && kind !== 'Jupyter') throw new SimError(SIM_MSG.noImage);
    const status = p.status ?? 'running';
    if (status !== 'running' && status !== 'shutdown') throw new SimError(SIM_MSG.badParam);
    if (p.sshKey !== undefined && !this.accountKeys.has(p.sshKey)) throw new SimError(`ssh_key: no account key with id "${p.sshKey}"`);
    const work = resolveWork(p.busy ?? false, p.gpuUtil, p.kind);
    const holds = status === 'running' || !!p.gpuKept;
    if (holds) this.takeGpus(model, count);
    const pub = defaultImage(kind);
    const inst = this.newInstance({
      name: p.name,
      model,
      count,
      image: { id: pub.id, name: pub.name, type: 'public', kind, sizeGb: pub.sizeGb },
      systemDiskGb: SYSTEM_DISK_GB,
      createdAt: createdAt ?? this.t,
    });
    inst.gpuUsed = holds ? count : 0;
    if (p.sshKey !== undefined) inst.accountKeyIds.push(p.sshKey);
    this.reachRunning(inst);
    if (status === 'shutdown') {
      inst.status = 'shutdown';
      inst.stopAt = this.t;
    } else if (work.busy) {
      this.applyActivity(inst, work);
    }
    return { id: inst.id };
  }

  /**
   * Set an instance's workload: busy (work of `kind`, default `app`) or idle, with a GPU utilisation in percent
   * (default by kind: 95 for app/background, 0 for cpu/interactive). `busy: false` with a `gpuUtil` above 0 and no
   * kind is background work (a busy GPU nobody's app shows).
   */
  setActivity(id: string, busy: boolean, gpuUtil?: number, kind?: string): void {
    this.sync();
    const inst = this.live(id);
    this.applyActivity(inst, resolveWork(busy, gpuUtil, kind));
  }

  private applyActivity(inst: SimInstance, w: { busy: boolean; kind: WorkKind; util: number }): void {
    if (inst.status !== 'running') return; // work needs a running instance; a stopped one stays idle
    settleMeters(inst, this.t);
    const wasApp = inst.busy && inst.workKind === 'app';
    const isApp = w.busy && w.kind === 'app';
    if (isApp && !wasApp) inst.busySince = this.t;
    if (!isApp && wasApp) inst.lastActivityAt = this.t;
    inst.busy = w.busy;
    inst.workKind = w.kind;
    inst.gpuUtil = w.util;
    syncSimLogin(inst, this.t, 1_000 + (idHash(inst.id) % 30_000));
  }

  /**
   * Operator settings of one instance (`POST /sim/instances/:id`): the used system disk (bytes, 0..system disk size),
   * billed from now on while the GPU is released.
   */
  configure(id: string, c: { diskUsedBytes?: unknown; autoShutdown?: unknown; autoShutdownAction?: unknown }): SimInstance {
    this.sync();
    const inst = this.live(id);
    const cap = inst.systemDiskGb * GB;
    if (c.diskUsedBytes !== undefined && !isInt(c.diskUsedBytes, 0, cap)) {
      throw new SimError(`disk_used_bytes must be an integer in 0..${cap} (the system disk)`);
    }
    if (c.autoShutdown !== undefined && !isInt(c.autoShutdown, 0, 1)) throw new SimError('auto_shutdown must be the integer 0 (off) or 1 (on)');
    const actions = Object.keys(AUTO_SHUTDOWN_ACTIONS).length - 1;
    if (c.autoShutdownAction !== undefined && !isInt(c.autoShutdownAction, 0, actions)) {
      const codes = Object.entries(AUTO_SHUTDOWN_ACTIONS).map(([k, v]) => `${k} = ${v}`).join(', ');
      throw new SimError(`auto_shutdown_action must be an integer in 0..${actions} (${codes})`);
    }
    this.settle(inst);
    if (c.diskUsedBytes !== undefined) inst.diskUsedBytes = c.diskUsedBytes as number;
    if (c.autoShutdown !== undefined) inst.autoShutdown = c.autoShutdown as number;
    if (c.autoShutdownAction !== undefined) inst.autoShutdownAction = c.autoShutdownAction as number;
    return inst;
  }

  /** Replace the fault settings (validated; rates 0..1). */
  setFaults(f: Partial<SimFaults>): SimFaults {
    const next: SimFaults = { ...NO_FAULTS, endpoints: [] };
    const rates = ['error_rate', 'http_500_rate', 'timeout_rate', 'malformed_rate', 'token_error_rate', 'ssh_refuse_rate', 'ssh_hang_rate'] as const;
    for (const k of rates) {
      const v = f[k] ?? 0;
      if (typeof v !== 'number' || !(v >= 0 && v <= 1)) throw new SimError(`${k} must be a number in 0..1`);
      next[k] = v;
    }
    const lat = f.latency_ms ?? 0;
    if (typeof lat !== 'number' || !(lat >= 0 && lat <= 60_000)) throw new SimError('latency_ms must be a number in 0..60000');
    next.latency_ms = lat;
    const eps = f.endpoints ?? [];
    if (!Array.isArray(eps) || eps.some((e) => typeof e !== 'string')) throw new SimError('endpoints must be strings');
    next.endpoints = [...eps];
    const unknown = Object.keys(f).find((k) => !(k in next));
    if (unknown !== undefined) throw new SimError(`${unknown}: unknown fault setting (known: ${Object.keys(next).join(', ')})`);
    this.faults = next;
    return next;
  }

  /** Rotate an instance's SSH host key (new connections see the new key). Returns the new generation. */
  rotateHostKey(id: string): number {
    this.sync();
    const inst = this.live(id);
    inst.hostKeyGen += 1;
    return inst.hostKeyGen;
  }

  /** Register an SSH public key on the account; deploy (or `addInstance`) with `sshKey: id` authorizes it on an instance. */
  addAccountKey(publicKey: unknown): AccountKey {
    const parsed = parsePublicKey(publicKey);
    if ('error' in parsed) throw new SimError(parsed.error);
    const id = `key-${parsed.fingerprint.slice(7, 19).replace(/[^A-Za-z0-9]/g, 'x').toLowerCase()}`;
    const key: AccountKey = { id, publicKey: (publicKey as string).trim(), blob: parsed.blob, fingerprint: parsed.fingerprint };
    this.accountKeys.set(id, key);
    return key;
  }

  /** Account SSH keys authorized on `inst`. */
  authorizedKeysOf(inst: SimInstance): AccountKey[] {
    return inst.accountKeyIds.map((k) => this.accountKeys.get(k)).filter((k): k is AccountKey => k !== undefined);
  }

  /** Every account SSH key. */
  get accountKeyList(): AccountKey[] {
    return [...this.accountKeys.values()];
  }

  /**
   * Set free GPUs per model (`{"RTX 4090 D": 0, "RTX 4090": 3}`; full or short names; null = only the overall cap).
   * Validates every entry before changing anything.
   */
  setGpuPool(free: Record<string, unknown>): Record<string, number> {
    this.sync();
    const updates: Array<[GpuModel, number | null]> = [];
    for (const [name, v] of Object.entries(free)) {
      const model = findGpuModel(name);
      if (!model) throw new SimError(`${name}: unknown GPU model (known: ${GPU_MODEL_NAMES})`);
      if (v !== null && !isInt(v, 0, 1_000_000)) throw new SimError(`${name}: free GPUs must be an integer in 0..1000000 (or null)`);
      updates.push([model, v as number | null]);
    }
    for (const [model, v] of updates) this.pool.setFree(model, v);
    return this.pool.view();
  }

  /** Free GPUs per model. */
  gpuPoolView(): Record<string, number> {
    this.sync();
    return this.pool.view();
  }

  /** Add `n` instances in a realistic mix (busy WebUI, idle ComfyUI, released Jupyter trainer, ...). */
  seedInstances(n: number): string[] {
    const templates: Array<AddInstanceParams & { ageH: number; upH: number }> = [
      { name: 'sd-webui', gpuModel: 'RTX 4090 D', image: 'WebUI', status: 'running', busy: true, ageH: 30, upH: 2 },
      { name: 'comfy-flux', gpuModel: 'RTX 4090', image: 'ComfyUI', status: 'running', ageH: 50, upH: 5 },
      { name: 'train-lora', gpuModel: 'RTX 4090 D', gpuCount: 2, image: 'Jupyter', status: 'shutdown', ageH: 96, upH: 0 },
      { name: 'sdxl-48g', gpuModel: 'RTX 4090 D 48G', image: 'ComfyUI', status: 'shutdown', gpuKept: true, ageH: 20, upH: 0 },
      { name: 'notebook', gpuModel: 'RTX 4090', image: 'Jupyter', status: 'running', ageH: 8, upH: 1 },
    ];
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const tpl = templates[i % templates.length];
      const round = Math.floor(i / templates.length);
      const name = round === 0 ? tpl.name : `${tpl.name}-${round + 1}`;
      const { id } = this.addInstance({ ...tpl, name }, this.t - Math.round(tpl.ageH * HOUR));
      const inst = this.insts.get(id)!;
      if (tpl.status === 'running') {
        inst.startAt = this.t - Math.round(tpl.upH * HOUR) - this.rng.int(0, 600) * 1000;
        if (!tpl.busy) inst.lastActivityAt = inst.startAt + this.rng.int(5, 40) * 60_000;
      } else {
        inst.startAt = inst.createdAt + HOUR;
        inst.stopAt = this.t - this.rng.int(1, 10) * HOUR;
      }
      ids.push(id);
    }
    return ids;
  }

  // ---------------------------------------------------------------- reading

  /** An instance by id (gone ones included), or undefined. */
  instance(id: string): SimInstance | undefined {
    this.sync();
    return this.insts.get(id);
  }

  /** An instance by id as of the last sync, without advancing time (for hot loops that synced once). */
  peek(id: string): SimInstance | undefined {
    return this.insts.get(id);
  }

  /** Instances still listed by the Open API (not gone), in creation order. */
  listed(): SimInstance[] {
    this.sync();
    return [...this.insts.values()].filter((i) => !i.gone);
  }

  /** Every instance ever created, gone ones included. */
  all(): SimInstance[] {
    return [...this.insts.values()];
  }

  /** The Open API's view of one instance (not found/gone -> SimError). */
  get(id: unknown): SimInstance {
    this.sync();
    return this.live(id);
  }

  /** GPUs free in the pool. */
  get gpuFree(): number {
    return this.pool.free;
  }

  /**
   * Progress 0..100 of the running transition, 100 when stable. `destroyed` is stable too: the simulator's timer
   * that drops it from the list is not an operation the platform reports, so its progress stays 100.
   */
  progressOf(inst: SimInstance): number {
    const p = inst.pending;
    if (!p || p.at <= p.from || p.intent === 'gone') return 100;
    return Math.max(0, Math.min(99, Math.floor(((this.t - p.from) / (p.at - p.from)) * 100)));
  }

  /** Step durations in effect (seconds). */
  get stepDurations(): Readonly<SimDurations> {
    return this.durations;
  }

  /** 'hourly' or 'continuous'. */
  get debitPolicy(): 'hourly' | 'continuous' {
    return this.debitMode;
  }
}
