/**
 * The simulator's control API under `/sim` (no token; tests, the demo and outside checks drive it): ground truth,
 * instances and their work, host keys, account SSH keys, balance, faults, the GPU pool and the clock.
 * Errors are HTTP 400 `{error: {code, message}}` with a message naming the field.
 */
import type { FastifyInstance } from 'fastify';
import type { Clock } from '../clock.js';
import { bodyOf, intField, strField } from './fields.js';
import type { SimSsh } from './ssh-server.js';
import { hostKeyOf } from './ssh-keys.js';
import { simState } from './views.js';
import { GB } from './catalog.js';
import { SIM_STATUSES, SimError, type SimFaults, type SimInstance, type SimStatus, type SimWorld } from './world.js';

/** A clock the control API can steer: `advance` for manual jumps, `setSpeed` for the speed factor. */
export type SimClock = Clock & { advance?(ms: number): unknown; setSpeed?(k: number): void; readonly rate?: number };

/** What the control routes work on. */
export interface ControlDeps {
  world: SimWorld;
  clock: SimClock;
  ssh?: SimSsh;
}

/** What `POST /sim/instances/:id` can set, as it stands now. */
function instanceSettings(inst: SimInstance): Record<string, unknown> {
  return {
    id: inst.id,
    disk_used_bytes: inst.diskUsedBytes,
    disk_used_gb: inst.diskUsedBytes / GB,
    auto_shutdown: inst.autoShutdown,
    auto_shutdown_action: inst.autoShutdownAction,
  };
}

/**
 * Bounds of the control API's numbers: a clock step of at most 30 days (processed event by event, it answers in
 * milliseconds at the default instance count), a balance within ±1e9 yuan, a clock speed up to 1e6x.
 */
export const LIMITS = { advanceSeconds: 30 * 86_400, balance: 1e9, speed: 1e6 } as const;

const optional = (v: unknown) => (v === undefined || v === null ? undefined : v);

/** Register the `/sim` routes on the simulator's app. */
export function registerControl(app: FastifyInstance, { world, clock, ssh }: ControlDeps): void {
  const speedOf = () => (typeof clock.rate === 'number' ? clock.rate : null);
  const clockView = () => ({ now: new Date(world.now).toISOString(), now_ms: world.now, speed: speedOf() });
  const idOf = (req: { params: unknown }) => (req.params as { id: string }).id;

  app.get('/sim/state', async () => {
    const state = simState(world) as { instances: Array<{ id: string; machine: { ssh: Record<string, unknown> } }> };
    const conns = ssh?.connectionCounts() ?? {};
    for (const i of state.instances) i.machine.ssh.connections = conns[i.id] ?? 0;
    return { ...state, ssh_streams: ssh?.streamCount ?? 0, speed: speedOf() };
  });

  app.post('/sim/instances', async (req, reply) => {
    const b = bodyOf(req);
    if (b.busy !== undefined && typeof b.busy !== 'boolean') throw new SimError('busy must be true or false');
    const res = world.addInstance({
      name: typeof b.name === 'string' ? b.name : '',
      gpuModel: strField(b.gpu_model, 'gpu_model'),
      gpuCount: intField(b.gpu_count, 'gpu_count'),
      image: strField(b.image, 'image') as 'ComfyUI' | 'WebUI' | 'Jupyter' | undefined,
      status: strField(b.status, 'status') as 'running' | 'shutdown' | undefined,
      gpuKept: b.gpu_kept === true,
      busy: b.busy === true,
      gpuUtil: optional(b.gpu_util) as number | undefined,
      kind: optional(b.kind) as string | undefined,
      sshKey: strField(b.ssh_key, 'ssh_key'),
    });
    return reply.code(201).send(res);
  });

  app.post('/sim/instances/:id', async (req) => {
    const b = bodyOf(req);
    const id = idOf(req);
    const known = ['disk_used_gb', 'disk_used_bytes', 'auto_shutdown', 'auto_shutdown_action'];
    const unknown = Object.keys(b).find((k) => !known.includes(k));
    if (unknown !== undefined) throw new SimError(`${unknown}: unknown instance setting (known: ${known.join(', ')})`);
    const inst = world.get(id);
    let diskUsedBytes: number | undefined;
    if (b.disk_used_gb !== undefined && b.disk_used_bytes !== undefined) throw new SimError('give disk_used_gb or disk_used_bytes, not both');
    if (b.disk_used_gb !== undefined) {
      const gb = b.disk_used_gb;
      if (typeof gb !== 'number' || !(gb >= 0 && gb <= inst.systemDiskGb)) {
        throw new SimError(`disk_used_gb must be a number in 0..${inst.systemDiskGb} (the system disk in GB)`);
      }
      diskUsedBytes = Math.round(gb * GB);
    }
    if (b.disk_used_bytes !== undefined) diskUsedBytes = b.disk_used_bytes as number; // validated by the world
    world.configure(id, { diskUsedBytes, autoShutdown: b.auto_shutdown, autoShutdownAction: b.auto_shutdown_action });
    return instanceSettings(inst);
  });

  app.post('/sim/instances/:id/activity', async (req) => {
    const b = bodyOf(req);
    const id = idOf(req);
    world.setActivity(id, b.busy as boolean, optional(b.gpu_util) as number | undefined, optional(b.kind) as string | undefined);
    const inst = world.instance(id)!;
    return { id, busy: inst.busy, kind: inst.busy ? inst.workKind : null, gpu_util: inst.gpuUtil };
  });

  app.post('/sim/instances/:id/status', async (req) => {
    const status = bodyOf(req).status as SimStatus;
    if (!SIM_STATUSES.includes(status)) throw new SimError(`status must be one of ${SIM_STATUSES.join(', ')}`);
    const id = idOf(req);
    world.forceStatus(id, status);
    return { id, status: world.instance(id)!.status };
  });

  app.post('/sim/instances/:id/host-key', async (req) => {
    const id = idOf(req);
    const generation = world.rotateHostKey(id);
    return { id, generation, fingerprint: hostKeyOf(world.seed, id, generation).fingerprint };
  });

  app.get('/sim/ssh-keys', async () => ({
    keys: world.accountKeyList.map((k) => ({ id: k.id, fingerprint: k.fingerprint, public_key: k.publicKey })),
  }));
  app.post('/sim/ssh-keys', async (req, reply) => {
    const k = world.addAccountKey(bodyOf(req).public_key);
    return reply.code(201).send({ id: k.id, fingerprint: k.fingerprint });
  });

  app.post('/sim/balance', async (req) => {
    const balance = bodyOf(req).balance;
    if (typeof balance !== 'number' || !(Math.abs(balance) <= LIMITS.balance)) {
      throw new SimError(`balance must be a number in -${LIMITS.balance}..${LIMITS.balance}`);
    }
    world.setBalance(balance);
    return { balance: world.balance, recharged_total: world.rechargedTotal };
  });

  app.post('/sim/charges', async (req, reply) => {
    const b = bodyOf(req);
    if (typeof b.yuan !== 'number') throw new SimError('yuan must be a number');
    world.chargeOutside(b.yuan, strField(b.note, 'note') ?? '');
    return reply.code(201).send({ balance: world.balance, charged_outside_total: world.outsideCharges.reduce((s, c) => s + c.yuan, 0) });
  });

  app.get('/sim/faults', async () => world.faults);
  app.post('/sim/faults', async (req) => world.setFaults(bodyOf(req) as Partial<SimFaults>));

  app.get('/sim/gpu-pool', async () => world.gpuPoolView());
  app.post('/sim/gpu-pool', async (req) => world.setGpuPool(bodyOf(req)));

  app.get('/sim/clock', async () => clockView());
  app.post('/sim/clock', async (req) => {
    const speed = bodyOf(req).speed;
    if (typeof speed !== 'number' || !(speed >= 0 && speed <= LIMITS.speed)) throw new SimError(`speed must be a number in 0..${LIMITS.speed}`);
    if (!clock.setSpeed) throw new SimError('this clock cannot change speed');
    world.advanceTo(clock.now());
    clock.setSpeed(speed);
    return clockView();
  });
  app.post('/sim/clock/advance', async (req) => {
    const seconds = bodyOf(req).seconds;
    if (typeof seconds !== 'number' || !(seconds >= 0 && seconds <= LIMITS.advanceSeconds)) {
      throw new SimError(`seconds must be a number in 0..${LIMITS.advanceSeconds} (30 days)`);
    }
    if (!clock.advance) throw new SimError('this clock cannot be advanced');
    clock.advance(Math.round(seconds * 1000));
    world.advanceTo(clock.now());
    return clockView();
  });
}
