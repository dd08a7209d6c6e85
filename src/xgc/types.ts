/**
 * Public types of the XianGong client. `Instance` carries no secret; `InstanceAccess` carries the
 * per-instance credentials probes need and lives in memory only (never stored, logged or served).
 */

/** Statuses documented by the Open API. Anything else is kept as-is and flagged `statusKnown: false`. */
export const KNOWN_STATUSES = [
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
export type KnownStatus = (typeof KNOWN_STATUSES)[number];

/** One instance as the guard sees it: no secrets. Times are epoch ms (the API sends seconds). */
export interface Instance {
  id: string;
  name: string;
  status: string;
  statusKnown: boolean;
  gpuModel: string;
  /** GPUs held right now (`gpu_used`); 0 after the GPU was released. */
  gpuUsed: number;
  pricePerHour: number;
  /** GPU part of the price (`base_price`), when given. */
  basePrice: number | null;
  /** Disk price per hour while the GPU is released (`retain_price`). */
  retainPrice: number;
  /** Whether the disk is retained while shut down (`retain` > 0). */
  retain: boolean;
  image: string;
  imageId: string;
  dataCenter: string;
  webUrl: string;
  jupyterUrl: string;
  sshDomain: string;
  sshPort: number | null;
  createdAt: number | null;
  startedAt: number | null;
  stoppedAt: number | null;
  progress: number | null;
  /**
   * The platform's own auto-shutdown (after about 4 h without GPU compute): `auto_shutdown` as a number, 0 = off
   * (the live API sends integers; `true`/`false` are read as 1/0). Null when the API did not say or said something
   * unreadable: these fields are informative and never fail a list.
   */
  autoShutdown: number | null;
  /** `auto_shutdown_action` as a number (what the platform does then), null when absent or unreadable. */
  autoShutdownAction: number | null;
}

/** Credentials and endpoints for probing one instance. Memory only. */
export interface InstanceAccess {
  id: string;
  image: string;
  webUrl: string;
  jupyterUrl: string;
  jupyterToken: string;
  sshHost: string;
  sshPort: number | null;
  sshUser: string;
  password: string;
}

/** An instance together with its access (what list/get return). */
export interface InstanceWithAccess {
  instance: Instance;
  access: InstanceAccess;
}
