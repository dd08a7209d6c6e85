/**
 * Static data of the simulated XianGong cloud: GPU models and prices, public images, app ports,
 * plus the seeded random generator every random value of the simulator comes from.
 */

/** One rentable GPU model: the short name lists show and the full name deploy/boot take. */
export interface GpuModel {
  short: string;
  full: string;
  /** yuan per GPU per hour */
  pricePerGpu: number;
  vramGiB: number;
}

/**
 * Prices: RTX 4090 D ¥1.59/h and RTX 4090 ¥1.89/h per GPU are the platform's; the 48G variants are
 * not documented and are set at a plausible +¥0.70/h (¥2.29 and ¥2.59).
 */
export const GPU_MODELS: readonly GpuModel[] = [
  { short: 'RTX 4090 D', full: 'NVIDIA GeForce RTX 4090 D', pricePerGpu: 1.59, vramGiB: 24 },
  { short: 'RTX 4090', full: 'NVIDIA GeForce RTX 4090', pricePerGpu: 1.89, vramGiB: 24 },
  { short: 'RTX 4090 D 48G', full: 'NVIDIA GeForce RTX 4090 D 48G', pricePerGpu: 2.29, vramGiB: 48 },
  { short: 'RTX 4090 48G', full: 'NVIDIA GeForce RTX 4090 48G', pricePerGpu: 2.59, vramGiB: 48 },
];

/** Find a GPU model by its full name (what deploy/boot take) or its short name (lenient). */
export function findGpuModel(name: string): GpuModel | undefined {
  const n = name.trim().replace(/\s+/g, ' ').toLowerCase();
  return GPU_MODELS.find((m) => m.full.toLowerCase() === n || m.short.toLowerCase() === n);
}

/** Disk price while the GPU is released: yuan per GB of USED system disk per hour (the docs: 系统磁盘已使用空间). */
export const RETAIN_PRICE_PER_GB_HOUR = 0.00003;

/**
 * CPU-only rate of an instance booted or deployed with `gpu_count: 0` (yuan per hour, on top of its disk rate).
 * A guess: the platform documents `gpu_count` 0~8 but no price for 0.
 */
export const CPU_ONLY_PRICE = 0.1;

/** Default system disk of an instance, in GB. */
export const SYSTEM_DISK_GB = 30;

/** Bytes in one GB as the simulator counts disk sizes (GiB). */
export const GB = 1024 ** 3;

/** The only data center: id 1. */
export const DATA_CENTERS: Readonly<Record<number, string>> = { 1: '浙江一区' };

/** Which web app an image serves besides Jupyter. */
export type AppKind = 'ComfyUI' | 'WebUI' | 'Jupyter';

/** Port of each app inside the container (Jupyter is on every image). */
export const APP_PORTS: Readonly<Record<AppKind, number>> = { Jupyter: 8888, WebUI: 7860, ComfyUI: 8188 };

/** One public image from the docs' image table. */
export interface PublicImage {
  id: string;
  name: string;
  kind: AppKind;
  /** GB the image takes on the system disk (a plausible guess, see `imageSizeGb`) */
  sizeGb: number;
}

/** GB of system disk an image takes when its size is unknown (newer public, community and private images). */
export const DEFAULT_IMAGE_GB = 15;

/**
 * GB an image takes on the system disk. Not documented: plausible guesses from what each image ships (SD 老白 bundles
 * with models and plugins are the largest, a bare Miniconda/CUDA the smallest).
 */
export function imageSizeGb(name: string): number {
  if (name.startsWith('SD_ComfyUI_老白')) return 20;
  if (/^SD_WebUI_[\d.]+_老白/.test(name)) return 18;
  if (name.includes('ControlNet')) return 15;
  if (name.startsWith('SD_Forge')) return 16;
  if (name.startsWith('SD_WebUI')) return 12;
  if (name.includes('TensorRT')) return 14;
  if (name.startsWith('Miniconda')) return 10;
  if (name.startsWith('blender')) return 11;
  return DEFAULT_IMAGE_GB;
}

const IMAGE_TABLE: ReadonlyArray<[string, string]> = [
  ['SD_WebUI_1.10.1_老白_v1.1/已安装常用插件，适合新手直接使用。', '9c530cfd-b929-4f2d-99d9-97a6d572ac89'],
  ['SD_ComfyUI_老白_v1.9/(PyTorch3.1 CUDA12.2)已安装常用节点。', 'decbfd43-8963-434a-a42d-9df6ee0bae0f'],
  ['Miniconda3_3.10/ubuntu22.04/CUDA 12.2', 'a0607405-d0fd-4efc-b34e-de0872d4a633'],
  ['Miniconda3_3.10/ubuntu22.04/CUDA 12.2 TensorRT', '2f98442f-1e6e-4531-8b92-88a09d5d8a20'],
  ['Miniconda3_3.10/ubuntu22.04/CUDA 12.1', '260cd46a-12aa-44ed-b47a-88f770b49041'],
  ['Miniconda3_3.10/ubuntu22.04/CUDA 11.8', '9115617d-3d2a-494d-af82-597319953e46'],
  ['Miniconda3_3.10/centos7/CUDA 11.4', '8b73bf90-d6a2-4f21-9521-8aed8ea7d2c9'],
  ['Miniconda3_3.8/ubuntu20.04/CUDA 11.8', '438c59fd-886b-4cda-8396-12a9cd4a3b97'],
  ['SD_WebUI_v1.10.1_纯净版', 'a96bac5e-e47c-4abd-9752-ec43871f9d17'],
  ['SD_WebUI_v1.10.0_纯净版', 'af846fff-cd98-4176-9d9b-ae1507886981'],
  ['SD_WebUI_1.9.4_老白_v1.0/已安装常用插件，适合新手直接使用。', '317f5796-556b-42a2-9e6f-da6e677beb97'],
  ['SD_WebUI_v1.9.4_纯净版', 'cc0c9888-25d7-4098-8c89-63166669b56f'],
  ['SD_WebUI_v1.9.3_纯净版', 'c02e3191-743b-40dc-8517-b56ce450d2e4'],
  ['SD_WebUI_v1.9.2_纯净版', 'fb98f8c0-827d-4166-8321-aae3ba5cd93e'],
  ['SD_WebUI_v1.9.1_纯净版', '2afdda15-abc9-4f12-8479-b8d1369dd224'],
  ['SD_WebUI_v1.9.0_纯净版', '68f42e1d-1a1e-4b3d-92ee-4daa79ab2d47'],
  ['SD_WebUI_v1.8.0_纯净版', '8bc14930-01a8-4f48-b84c-756f4c1ff797'],
  ['SD_WebUI_v1.7.0_纯净版', 'd8338a2f-b9e8-40c6-8db6-c34658d239d7'],
  ['SD_WebUI_1.6.0_纯净版', 'eafdbee2-8ce6-4b63-bcdd-3172fc4b3a36'],
  ['SD_WebUI_1.6.0_ControlNet', '500e6434-2acc-4e10-a1b5-7fa27c08ea13'],
  ['SD_WebUI_1.5.2_ControlNet', 'f607f6e9-67f3-44e7-ac93-910ff91181c8'],
  ['SD_WebUI_1.5.1_ControlNet', '06b82605-3d95-4dfe-b2df-73c3f0a5dcf5'],
  ['SD_ComfyUI_老白_v1.8/(PyTorch3.1 CUDA12.2)已安装常用节点。', '423f8d45-1ee5-4c06-8bc6-658dbdc41f83'],
  ['SD_ComfyUI_老白_v1.7/(PyTorch3.1 CUDA12.2)已安装常用节点。', 'c922d7e3-dc82-4e4c-9708-09493cfa106b'],
  ['SD_ComfyUI_老白_v1.6/(PyTorch3.1 CUDA12.2)已安装常用节点。', '7ac1b85f-5217-43e5-9e8d-d3f41b77e450'],
  ['SD_ComfyUI_老白_v1.5/(PyTorch3.1 CUDA12.2)已安装常用节点。', '97f9abcf-6b6f-4ae8-bfa5-a829f4617ae7'],
  ['SD_ComfyUI_老白_v1.4/(PyTorch3.1 CUDA12.2)已安装常用节点。', '9ff40247-267f-4986-a16f-4bf825ca2529'],
  ['SD_ComfyUI_老白_v1.3/(PyTorch2.2.2 CUDA12.2)已安装常用节点。', '75baee08-42da-4c92-8ab7-56b80ab3fb2f'],
  ['SD_ComfyUI_老白_v1.2/(PyTorch2.2.2 CUDA12.2)已安装常用节点。', '363c66af-f10d-4b96-b51e-211f8d98dfc7'],
  ['SD_ComfyUI_老白_v1.1/(PyTorch3.1 CUDA12.2)已安装常用节点。', '94505b31-6966-4801-ba29-82bdd54df662'],
  ['SD_ComfyUI_老白_v1.0/(PyTorch3.1 CUDA12.2)已安装常用节点。', '0ef12cab-e2a9-4737-be27-291afdb3d7ef'],
  ['SD_Forge_Layer', '29e86ee5-9e5e-46fb-8558-adbac87d606f'],
  ['blender 三维设计软件/blender-4.1.1-linux-x64', '1313cad2-5988-4d1f-8a35-bbc0eec2622d'],
  ['Miniconda3_3.8/ubuntu20.04/CUDA 11.1', 'e7a66296-fe56-4fd1-a67d-cff5613b6372'],
];

/** The app an image name implies: SD_WebUI / SD_Forge -> WebUI, SD_ComfyUI -> ComfyUI, else Jupyter only. */
export function appKindOfImage(name: string): AppKind {
  if (/^SD_(WebUI|Forge)/.test(name)) return 'WebUI';
  if (name.startsWith('SD_ComfyUI')) return 'ComfyUI';
  return 'Jupyter';
}

/** The docs' public image table. */
export const PUBLIC_IMAGES: readonly PublicImage[] = IMAGE_TABLE.map(([name, id]) => ({
  id,
  name,
  kind: appKindOfImage(name),
  sizeGb: imageSizeGb(name),
}));

/** Find a public image of the docs' table by id. */
export function findPublicImage(id: string): PublicImage | undefined {
  return PUBLIC_IMAGES.find((i) => i.id === id.trim());
}

/** The documented form of an image id (public, community and private alike): a UUID. */
export const IMAGE_ID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Public image ids the platform no longer serves (deploy answers 镜像不存在). The platform publishes no such list:
 * this one id is the simulator's own, so that clients meet the refusal.
 */
export const REMOVED_PUBLIC_IMAGES: ReadonlySet<string> = new Set(['0b1d7f3e-2c4a-4e59-8f61-7d2a9c3e5b10']);

/** The image the control API picks for `image: "ComfyUI" | "WebUI" | "Jupyter"` (the newest of its kind). */
export function defaultImage(kind: AppKind): PublicImage {
  return PUBLIC_IMAGES.find((i) => i.kind === kind)!;
}

/** Round a money amount to 8 decimals (removes binary noise such as 0.0009000000000000001). */
export function roundMoney(x: number): number {
  return Math.round(x * 1e8) / 1e8;
}

/** Per-GPU price x count, rounded. */
export function pricePerHour(model: GpuModel, count: number): number {
  return roundMoney(model.pricePerGpu * count);
}

/** Disk price per hour while the GPU is released, from the used GB of the system disk. */
export function retainPrice(usedGb: number): number {
  return roundMoney(usedGb * RETAIN_PRICE_PER_GB_HOUR);
}

const LOWER_ALNUM = 'abcdefghijklmnopqrstuvwxyz0123456789';
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const HEX = '0123456789abcdef';

/** Seeded pseudo-random generator (mulberry32): the same seed gives the same world. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 0x9e3779b9;
  }
  /** Uniform in [0, 1). */
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  /** A string of `len` characters from `alphabet`. */
  string(len: number, alphabet: string): string {
    let out = '';
    for (let i = 0; i < len; i++) out += alphabet[Math.floor(this.next() * alphabet.length)];
    return out;
  }
  /** A 16-character lowercase alphanumeric instance id. */
  instanceId(): string {
    return this.string(16, LOWER_ALNUM);
  }
  /** A mixed-case alphanumeric secret. */
  secret(len: number): string {
    return this.string(len, ALNUM);
  }
  /** A lowercase hex string. */
  hex(len: number): string {
    return this.string(len, HEX);
  }
  /** A UUID-shaped string (version 4 layout). */
  uuid(): string {
    const h = this.hex(32);
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20)}`;
  }
}
