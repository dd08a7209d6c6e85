/**
 * The XianGong Cloud simulator: a fake cloud over real HTTP for tests, the demo and benchmarks.
 * `startSimulator` builds a world (pure state machine), serves it with fastify and returns its URL.
 */
import { type Clock, ScaledClock, systemClock } from '../clock.js';
import { buildSimApp, type SimClock } from './server.js';
import { SimSsh } from './ssh-server.js';
import { type SimDurations, SimWorld } from './world.js';

export { SimWorld, SimError, SIM_MSG, SIM_STATUSES, DEFAULT_DURATIONS, AUTO_SHUTDOWN_ACTIONS } from './world.js';
export type { SimStatus, SimFaults, SimInstance, SimDurations, AddInstanceParams, DeployParams, AccountKey } from './world.js';
export { GPU_MODELS, PUBLIC_IMAGES, APP_PORTS, CPU_ONLY_PRICE, findGpuModel, type AppKind } from './catalog.js';
export { WORK_KINDS, type WorkKind } from './machine.js';
export { simState } from './views.js';
export { buildSimApp, type SimClock } from './server.js';
export { SimSsh } from './ssh-server.js';

/** Options of `startSimulator`. Durations are seconds of simulated time. */
export interface SimOptions {
  token: string;
  seed?: number;
  /** initial instance count, default 3, 0 = empty; a realistic mix */
  instances?: number;
  /** default 200 */
  balance?: number;
  /** default 1; 0 = manual (only /sim/clock/advance moves time) */
  speed?: number;
  /** when given, the sim uses it (the demo shares one clock between sim and daemon) */
  clock?: Clock & { advance?(ms: number): void; setSpeed?(k: number): void };
  durations?: Partial<SimDurations>;
  debit?: 'hourly' | 'continuous';
  gpuPool?: number;
  /** default 127.0.0.1 */
  host?: string;
  /** default 0 (a free port) */
  port?: number;
  /** real SSH servers for the instances (default true) */
  ssh?: boolean;
}

/** A listening simulator. */
export interface RunningSim {
  url: string;
  port: number;
  world: SimWorld;
  /** The clock the world follows (the given one, or the simulator's own scaled clock). */
  clock: SimClock;
  /** the instances' SSH servers (undefined with `ssh: false`) */
  ssh: SimSsh | undefined;
  close(): Promise<void>;
}

/** Start a simulator on `host:port` and return its URL, world and a close function. */
export async function startSimulator(opts: SimOptions): Promise<RunningSim> {
  const clock: SimClock =
    opts.clock ?? new ScaledClock(systemClock, opts.speed ?? 1, Math.floor(systemClock.now() / 1000) * 1000);
  const world = new SimWorld({
    start: clock.now(),
    seed: opts.seed,
    balance: opts.balance,
    durations: opts.durations,
    debit: opts.debit,
    gpuPool: opts.gpuPool,
    clock,
  });
  const host = opts.host ?? '127.0.0.1';
  const ssh = opts.ssh === false ? undefined : new SimSsh({ world, host, seed: opts.seed });
  const app = buildSimApp({ world, token: opts.token, clock, seed: opts.seed, ssh });
  await app.listen({ host, port: opts.port ?? 0 });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : (opts.port ?? 0);
  const reachable = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  const url = `http://${reachable.includes(':') ? `[${reachable}]` : reachable}:${port}`;
  world.baseUrl = url;
  if (ssh) world.sshHost = reachable;
  world.seedInstances(opts.instances ?? 3);
  await ssh?.sync();
  return {
    url,
    port,
    world,
    clock,
    ssh,
    async close() {
      await ssh?.close();
      await app.close();
    },
  };
}
