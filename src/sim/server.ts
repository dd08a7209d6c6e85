/**
 * The simulator's HTTP surface (fastify): the Open API under `/open` (token, envelope, faults),
 * the control API under `/sim` (ground truth, activity, balance, faults, clock) and the per-instance
 * apps under `/c/{id}-{port}`. Every request first advances the world to the clock's time.
 */
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Clock } from '../clock.js';
import { registerApps } from './apps.js';
import { Rng, roundMoney } from './catalog.js';
import { openInstance } from './views.js';
import { SIM_MSG, SIM_STATUSES, SimError, type SimFaults, type SimStatus, type SimWorld } from './world.js';

/** A clock the control API can steer: `advance` for manual jumps, `setSpeed` for the speed factor. */
export type SimClock = Clock & { advance?(ms: number): unknown; setSpeed?(k: number): void; readonly rate?: number };

/** What the simulator app is built from. */
export interface SimAppOptions {
  world: SimWorld;
  token: string;
  clock: SimClock;
  /** seed of the fault dice (kept apart from the world's generator) */
  seed?: number;
}

type Body = Record<string, unknown>;

const ok = (data: unknown) => ({ code: 200, msg: 'success', success: true, data });
const fail = (msg: string) => ({ code: 1000, msg, success: false, data: null });

function bodyOf(req: FastifyRequest): Body {
  const b = req.body;
  return b && typeof b === 'object' && !Array.isArray(b) ? (b as Body) : {};
}

/** An optional integer that may arrive as a string ("2"); '' and null count as absent. */
function intField(v: unknown): number | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  const n = typeof v === 'string' ? Number(v.trim()) : v;
  if (typeof n !== 'number' || !Number.isInteger(n)) throw new SimError(SIM_MSG.badParam);
  return n;
}

function strField(v: unknown): string | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') throw new SimError(SIM_MSG.badParam);
  return v;
}

/** Build the simulator's fastify app (does not listen); closing it releases requests held by timeout faults. */
export function buildSimApp(o: SimAppOptions): FastifyInstance {
  const { world, clock, token } = o;
  const dice = new Rng((o.seed ?? 42) ^ 0x5eed);
  const hangs = new Set<() => void>();
  const app = Fastify({ logger: false, forceCloseConnections: true });

  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });

  app.addHook('onRequest', async () => {
    world.advanceTo(clock.now());
  });
  app.addHook('preClose', async () => {
    for (const release of [...hangs]) release();
  });

  app.setErrorHandler((err: Error & { statusCode?: number }, req, reply) => {
    const open = req.url.startsWith('/open');
    if (err instanceof SimError) {
      return open ? reply.code(200).send(fail(err.msg)) : reply.code(400).send({ error: { code: 'sim_error', message: err.msg } });
    }
    const status = err.statusCode ?? 500;
    if (status < 500) {
      return open
        ? reply.code(200).send(fail(SIM_MSG.badParam))
        : reply.code(status).send({ error: { code: 'bad_request', message: err.message } });
    }
    return reply.code(500).send(open ? fail('系统错误') : { error: { code: 'internal', message: err.message } });
  });

  // ------------------------------------------------------------------ Open API
  void app.register(
    async (open) => {
      open.addHook('onRequest', async (req, reply) => {
        if (await injectFault(req, reply)) return reply;
        const raw = (req.headers.authorization ?? '').trim();
        const presented = raw.replace(/^Bearer(\s+|$)/i, '').trim();
        if (!presented) return reply.send(fail(SIM_MSG.tokenEmpty));
        if (presented !== token) return reply.send(fail(SIM_MSG.tokenUnknown));
        return undefined;
      });

      open.get('/instances', async () => {
        const list = world.listed().map((i) => openInstance(world, i));
        return ok({ list, total: list.length });
      });
      open.get('/instance/:id', async (req) => ok(openInstance(world, world.get((req.params as { id: string }).id))));
      open.get('/balance', async () => ok({ balance: roundMoney(world.balance) }));
      open.get('/whoami', async () =>
        ok({
          id: 'u7x2k9m4q1w8e5r3',
          nickname: '仙宫用户9527',
          phone: '138****6621',
          email: '',
          avatar: '',
          real_name_verified: true,
          create_timestamp: 1_700_000_000,
        }),
      );
      open.post('/instance/deploy', async (req) => {
        const b = bodyOf(req);
        const id = world.deploy({
          gpuModel: strField(b.gpu_model) ?? '',
          gpuCount: intField(b.gpu_count) ?? 1,
          dataCenterId: intField(b.data_center_id),
          image: strField(b.image) ?? '',
          imageType: strField(b.image_type),
          name: strField(b.name),
          systemDiskExpandSize: b.system_disk_expand === true || b.system_disk_expand === 'true' ? intField(b.system_disk_expand_size) : undefined,
        });
        return ok({ id });
      });
      const action = (path: string, run: (id: unknown, b: Body) => void) =>
        open.post(path, async (req) => {
          const b = bodyOf(req);
          run(b.id, b);
          return ok(null);
        });
      action('/instance/destroy', (id) => world.destroy(id));
      action('/instance/shutdown', (id) => world.shutdown(id));
      action('/instance/shutdown_release_gpu', (id) => world.releaseGpu(id));
      action('/instance/shutdown_destroy', (id) => world.shutdownDestroy(id));
      action('/instance/boot', (id, b) =>
        world.boot(id, { gpuModel: strField(b.gpu_model), gpuCount: intField(b.gpu_count) }),
      );
    },
    { prefix: '/open' },
  );

  /** Roll the fault dice for one `/open` request; true when the request was answered (or hung) by a fault. */
  async function injectFault(req: FastifyRequest, reply: FastifyReply): Promise<boolean> {
    const f: SimFaults = world.faults;
    const path = req.url.split('?')[0];
    if (f.endpoints.length > 0 && !f.endpoints.some((p) => path.startsWith(p))) return false;
    if (f.latency_ms > 0) await new Promise((r) => setTimeout(r, f.latency_ms));
    const u = dice.next();
    let edge = 0;
    if (u < (edge += f.timeout_rate)) {
      reply.hijack();
      await new Promise<void>((resolve) => {
        const release = () => {
          clearTimeout(timer);
          hangs.delete(release);
          resolve();
        };
        const timer = setTimeout(release, 120_000);
        hangs.add(release);
      });
      reply.raw.destroy();
      return true;
    }
    if (u < (edge += f.error_rate)) {
      void reply.send(fail(SIM_MSG.busy));
      return true;
    }
    if (u < (edge += f.http_500_rate)) {
      void reply.code(500).type('text/html').send('<html><head><title>500 Internal Server Error</title></head><body><center><h1>500 Internal Server Error</h1></center><hr><center>nginx</center></body></html>');
      return true;
    }
    if (u < (edge += f.malformed_rate)) {
      void reply.code(200).type('application/json').send('{"code":200,"msg":"success","success":true,"data":{"list":[{"id":');
      return true;
    }
    if (u < (edge += f.token_error_rate)) {
      void reply.send(fail(SIM_MSG.tokenUnknown));
      return true;
    }
    return false;
  }

  // ------------------------------------------------------------------ control API
  const speedOf = () => (typeof clock.rate === 'number' ? clock.rate : null);
  const clockView = () => ({ now: new Date(world.now).toISOString(), now_ms: world.now, speed: speedOf() });

  app.get('/sim/state', async () => ({ ...world.state(), speed: speedOf() }));
  app.post('/sim/instances', async (req, reply) => {
    const b = bodyOf(req);
    const res = world.addInstance({
      name: typeof b.name === 'string' ? b.name : '',
      gpuModel: strField(b.gpu_model),
      gpuCount: intField(b.gpu_count),
      image: strField(b.image) as 'ComfyUI' | 'WebUI' | 'Jupyter' | undefined,
      status: strField(b.status) as 'running' | 'shutdown' | undefined,
      gpuKept: b.gpu_kept === true,
      busy: b.busy === true,
      gpuUtil: typeof b.gpu_util === 'number' ? b.gpu_util : undefined,
    });
    return reply.code(201).send(res);
  });
  app.post('/sim/instances/:id/activity', async (req) => {
    const b = bodyOf(req);
    const id = (req.params as { id: string }).id;
    world.setActivity(id, b.busy as boolean, b.gpu_util === undefined ? undefined : (b.gpu_util as number));
    const inst = world.instance(id)!;
    return { id, busy: inst.busy, gpu_util: inst.gpuUtil };
  });
  app.post('/sim/instances/:id/status', async (req) => {
    const status = bodyOf(req).status as SimStatus;
    if (!SIM_STATUSES.includes(status)) throw new SimError(`status must be one of ${SIM_STATUSES.join(', ')}`);
    const id = (req.params as { id: string }).id;
    world.forceStatus(id, status);
    return { id, status: world.instance(id)!.status };
  });
  app.post('/sim/balance', async (req) => {
    const balance = bodyOf(req).balance;
    if (typeof balance !== 'number') throw new SimError('balance must be a number');
    world.setBalance(balance);
    return { balance: world.balance, recharged_total: world.rechargedTotal };
  });
  app.get('/sim/faults', async () => world.faults);
  app.post('/sim/faults', async (req) => world.setFaults(bodyOf(req) as Partial<SimFaults>));
  app.get('/sim/clock', async () => clockView());
  app.post('/sim/clock', async (req) => {
    const speed = bodyOf(req).speed;
    if (typeof speed !== 'number' || !(speed >= 0)) throw new SimError('speed must be a number >= 0');
    if (!clock.setSpeed) throw new SimError('this clock cannot change speed');
    world.advanceTo(clock.now());
    clock.setSpeed(speed);
    return clockView();
  });
  app.post('/sim/clock/advance', async (req) => {
    const seconds = bodyOf(req).seconds;
    if (typeof seconds !== 'number' || !(seconds >= 0)) throw new SimError('seconds must be a number >= 0');
    if (!clock.advance) throw new SimError('this clock cannot be advanced');
    clock.advance(Math.round(seconds * 1000));
    world.advanceTo(clock.now());
    return clockView();
  });

  registerApps(app, world);
  return app;
}
