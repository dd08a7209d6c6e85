/**
 * JSON views of the world: the Open API's instance object (every documented field, timestamps in
 * seconds) and the control API's ground truth (`GET /sim/state`).
 */
import { APP_PORTS, DATA_CENTERS, GB } from './catalog.js';
import { appBusy, coresOf, gpuReadings, levelOf, loginsAt, metersAt } from './machine.js';
import { hostKeyOf } from './ssh-keys.js';
import type { SimInstance, SimWorld } from './world.js';

const sec = (ms: number): number => (ms > 0 ? Math.floor(ms / 1000) : 0);
const iso = (ms: number): string => new Date(ms).toISOString();

/** The base URL of one app port of an instance: `{base}/c/{id}-{port}`. */
export function appUrl(world: SimWorld, id: string, port: number): string {
  return `${world.baseUrl}/c/${id}-${port}`;
}

/** The Open API instance object. Access details (password, ssh, jupyter, web) are empty before the first `running`. */
export function openInstance(world: SimWorld, inst: SimInstance): Record<string, unknown> {
  const ran = inst.everRunning;
  const perGpuMemGiB = 60;
  const count = inst.gpuCount;
  const price = world.priceOf(inst);
  const released = inst.status === 'shutdown' && inst.gpuUsed === 0;
  const webPort = APP_PORTS[inst.image.kind];
  return {
    id: inst.id,
    create_timestamp: sec(inst.createdAt),
    data_center_name: DATA_CENTERS[1],
    name: inst.name,
    public_image: inst.image.name,
    gpu_model: inst.gpuModel.short,
    gpu_used: inst.gpuUsed,
    cpu_model: 'Intel(R) Xeon(R) Platinum 8352V CPU @ 2.10GHz',
    cpu_core_count: coresOf(count),
    memory_size: (count > 0 ? perGpuMemGiB * count : 16) * GB,
    system_disk_size: inst.systemDiskGb * GB,
    data_disk_size: inst.dataDiskGb * GB,
    expandable_data_disk_size: 500 * GB,
    data_disk_mount_path: '/root/xgc-data',
    storage_mount_path: inst.storageMountPath,
    price_per_hour: price,
    ssh_key: ran ? inst.sshKey : '',
    ssh_port: ran ? inst.sshPort : '',
    ssh_user: ran ? 'root' : '',
    password: ran ? inst.password : '',
    jupyter_token: ran ? inst.jupyterToken : '',
    jupyter_url: ran ? appUrl(world, inst.id, APP_PORTS.Jupyter) : '',
    xgcos_token: ran ? inst.xgcosToken : '',
    xgcos_url: ran ? `https://${inst.id}-xgcos.container.x-gpu.com` : '',
    start_timestamp: sec(inst.startAt),
    stop_timestamp: sec(inst.stopAt),
    status: inst.status,
    ssh_domain: ran ? world.sshHost || `${inst.id}.ssh.x-gpu.com` : '',
    web_url: ran ? appUrl(world, inst.id, webPort) : '',
    progress: world.progressOf(inst),
    image_id: inst.image.id,
    image_type: inst.image.type,
    image_price: 0,
    image_save: false,
    base_price: price,
    retain: released ? 1 : 0,
    retain_price: world.retainOf(inst),
    retain_size: inst.diskUsedBytes,
    auto_shutdown: inst.autoShutdown,
    auto_shutdown_action: inst.autoShutdownAction,
  };
}

/**
 * The Open API's instance list as bytes, each instance encoded once per change: its JSON is kept with the values it
 * was made from and reused while they are all equal. Stringifying and encoding 1,000 instances afresh took ~20 ms of
 * every list request (Node 20), time a guard under test spent waiting for its first byte.
 */
export class InstanceListEncoder {
  private readonly cache = new Map<string, { values: unknown[]; bytes: Buffer }>();

  /** `envelope(list, total)` must put `list` (an array) into the answer; the instances are spliced in as bytes. */
  encode(world: SimWorld, list: SimInstance[], envelope: (list: unknown[], total: number) => unknown): Buffer {
    const marker = '\u0000instances\u0000';
    const [head, tail] = JSON.stringify(envelope([marker], list.length)).split(JSON.stringify(marker));
    const parts: Buffer[] = [Buffer.from(head)];
    const listed = new Set<string>();
    list.forEach((inst, k) => {
      const obj = openInstance(world, inst);
      const values = Object.values(obj);
      let hit = this.cache.get(inst.id);
      if (!hit || hit.values.length !== values.length || hit.values.some((v, j) => v !== values[j])) {
        hit = { values, bytes: Buffer.from(JSON.stringify(obj)) };
        this.cache.set(inst.id, hit);
      }
      if (k > 0) parts.push(COMMA);
      parts.push(hit.bytes);
      listed.add(inst.id);
    });
    for (const id of this.cache.keys()) if (!listed.has(id)) this.cache.delete(id);
    parts.push(Buffer.from(tail));
    return Buffer.concat(parts);
  }
}
const COMMA = Buffer.from(',');

/** One instance in the ground truth (`GET /sim/state`), secrets and ledger included. */
export function truthInstance(world: SimWorld, inst: SimInstance): Record<string, unknown> {
  return {
    id: inst.id,
    name: inst.name,
    status: inst.status,
    gone: inst.gone,
    gpu_used: inst.gpuUsed,
    gpu_count: inst.gpuCount,
    gpu_model: inst.gpuModel.short,
    price_per_hour: world.priceOf(inst),
    retain_price: world.retainOf(inst),
    disk_used_bytes: inst.diskUsedBytes,
    rate: world.rateOf(inst),
    busy: inst.busy,
    kind: inst.busy ? inst.workKind : null,
    app_busy: appBusy(inst),
    gpu_util: inst.gpuUtil,
    last_activity: iso(inst.lastActivityAt),
    machine: machineTruth(world, inst),
    billed: world.billedOf(inst),
    password: inst.password,
    jupyter_token: inst.jupyterToken,
    xgcos_token: inst.xgcosToken,
    ssh_key: inst.sshKey,
    image: inst.image.kind,
    public_image: inst.image.name,
    auto_destroyed: inst.autoDestroyed,
    created_at: iso(inst.createdAt),
    started_at: inst.startAt ? iso(inst.startAt) : null,
    stopped_at: inst.stopAt ? iso(inst.stopAt) : null,
    destroyed_at: inst.destroyedAt !== null ? iso(inst.destroyedAt) : null,
    pending: inst.pending ? { until: iso(inst.pending.at), until_ms: inst.pending.at } : null,
  };
}

/** What the instance's machine shows right now: GPUs, load, network counters and rates, logins, SSH endpoint. */
export function machineTruth(world: SimWorld, inst: SimInstance): Record<string, unknown> {
  const m = metersAt(inst, world.now);
  const lv = levelOf(inst);
  return {
    gpus: gpuReadings(inst).map((g) => ({ index: g.index, util: g.util, memory_used_mib: g.memUsedMiB, memory_total_mib: g.memTotalMiB })),
    load: m.load.map((l) => Math.round(l * 100) / 100),
    net: { rx_bytes: Math.floor(m.rxBytes), tx_bytes: Math.floor(m.txBytes), rx_bytes_per_s: lv.rx, tx_bytes_per_s: lv.tx },
    logins: loginsAt(inst, world.now).map((l) => ({ tty: l.tty, from: l.from, since: iso(l.since), idle_s: l.idleS, source: l.source })),
    ssh: {
      host: world.sshHost || null,
      port: inst.everRunning && world.sshHost ? Number(inst.sshPort) : null,
      host_key_fingerprint: hostKeyOf(world.seed, inst.id, inst.hostKeyGen).fingerprint,
      authorized_keys: world.authorizedKeysOf(inst).map((k) => k.id),
    },
  };
}

/** The ground truth of the whole world. */
export function simState(world: SimWorld): Record<string, unknown> {
  const instances = world.all().map((i) => truthInstance(world, i));
  return {
    now: iso(world.now),
    now_ms: world.now,
    balance: world.balance,
    debited_total: world.debitedTotal,
    recharged_total: world.rechargedTotal,
    accrued_total: instances.reduce((s, i) => s + (i.billed as number), 0),
    // the ledger's charges that no instance accrued (kind: outside_instances)
    charges: world.outsideCharges.map((c) => ({ kind: 'outside_instances', at: iso(c.at), yuan: c.yuan, note: c.note })),
    charged_outside_total: world.outsideCharges.reduce((s, c) => s + c.yuan, 0),
    debit: world.debitPolicy,
    gpu_pool: world.gpuPool,
    gpu_free: world.gpuFree,
    gpu_free_by_model: world.gpuPoolView(),
    faults: world.faults,
    instances,
  };
}
