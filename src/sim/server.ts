/**
 * The simulator's HTTP surface (fastify): the Open API under `/open` (token, envelope, faults),
 * the control API under `/sim` (ground truth, activity, balance, faults, clock) and the per-instance
 * apps under `/c/{id}-{port}`. Every request first advances the world to the clock's time.
 */
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { registerApps } from './apps.js';
import { Rng, roundMoney } from './catalog.js';
import { registerControl, type SimClock } from './control.js';
import { bodyOf, intField, strField, type Body } from './fields.js';
import type { SimSsh } from './ssh-server.js';
import { InstanceListEncoder, openInstance } from './views.js';
import { SIM_MSG, SimError, type SimFaults, type SimWorld } from './world.js';

export type { SimClock } from './control.js';

const ok = (data: unknown) => ({ code: 200, msg: 'success', success: true, data });
const fail = (msg: string) => ({ code: 1000, msg, success: false, data: null });

/** What the simulator app is built from. */
export interface SimAppOptions {
  world: SimWorld;
  token: string;
  clock: SimClock;
  /** seed of the fault dice (kept apart from the world's generator) */
  seed?: number;
  /** the instances' SSH servers, kept in step with the world on every request */
  ssh?: SimSsh;
}

/** Build the simulator's fastify app (does not listen); closing it releases requests held by timeout faults. */
export function buildSimApp(o: SimAppOptions): FastifyInstance {
  const { world, clock, token } = o;
  const dice = new Rng((o.seed ?? 42) ^ 0x5eed);
  const hangs = new Set<() => void>();
  const listEncoder = new InstanceListEncoder();
  const app = Fastify({ logger: false, forceCloseConnections: true });

  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });

  app.addHook('onRequest', async (req) => {
    world.advanceTo(clock.now());
    if (!req.url.startsWith('/c/')) await o.ssh?.sync(); // a listed ssh_port is always bound (app calls skip the scan)
  });
  app.addHook('onResponse', async (req) => {
    if (req.method === 'POST') o.ssh?.reconcile(); // a stop requested by this request closes its SSH connections now
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

      // an unknown path (or method) under /open is a refusal in the envelope like any other, after the token
      // check (the hook above runs for this handler too), not fastify's bare 404
      open.setNotFoundHandler(async (_req, reply) => reply.code(200).send(fail(SIM_MSG.noRoute)));

      open.get('/instances', async (_req, reply) => {
        // Sent as bytes: given a string this large with Chinese in it, fastify's Content-Length pass
        // (Buffer.byteLength) took as long as encoding it for the socket (~20 ms each at 1,000 instances on Node 20).
        return reply.type('application/json; charset=utf-8').send(listEncoder.encode(world, world.listed(), (list, total) => ok({ list, total })));
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
          gpuModel: strField(b.gpu_model, 'gpu_model') ?? '',
          gpuCount: intField(b.gpu_count, 'gpu_count') ?? 1,
          dataCenterId: intField(b.data_center_id, 'data_center_id'),
          image: strField(b.image, 'image') ?? '',
          imageType: strField(b.image_type, 'image_type'),
          name: strField(b.name, 'name'),
          systemDiskExpandSize: b.system_disk_expand === true || b.system_disk_expand === 'true' ? intField(b.system_disk_expand_size, 'system_disk_expand_size') : undefined,
          sshKey: strField(b.ssh_key, 'ssh_key'),
          storage: b.storage === true || b.storage === 'true',
          storageMountPath: strField(b.storage_mount_path, 'storage_mount_path'),
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
        world.boot(id, { gpuModel: strField(b.gpu_model, 'gpu_model'), gpuCount: intField(b.gpu_count, 'gpu_count') }),
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

  registerControl(app, { world, clock, ssh: o.ssh });
  registerApps(app, world);
  return app;
}
