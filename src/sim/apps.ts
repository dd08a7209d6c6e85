/**
 * The apps inside simulated instances, served at `/c/{id}-{port}/...` so probes can talk to them:
 * a Jupyter Server REST subset (port 8888, every image), ComfyUI `/queue` + `/system_stats` (8188)
 * and SD WebUI `/sdapi/v1/progress` (7860). They answer only while the instance is `running` (502 otherwise)
 * and show busy only for `app` work (background, cpu and interactive work leave every app idle).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { APP_PORTS, GB, type AppKind } from './catalog.js';
import { appBusy } from './machine.js';
import type { SimInstance, SimWorld } from './world.js';

const iso = (ms: number): string => new Date(ms).toISOString();

/** Seconds one simulated generation job takes (drives ComfyUI/WebUI progress numbers). */
const JOB_SECONDS = 30;

type Resolved = { inst: SimInstance; port: number };

function resolve(world: SimWorld, req: FastifyRequest, reply: FastifyReply, app: AppKind): Resolved | undefined {
  const target = (req.params as { target: string }).target;
  const m = /^([a-z0-9]+)-(\d+)$/.exec(target);
  const inst = m ? world.instance(m[1]) : undefined;
  const port = m ? Number(m[2]) : 0;
  const served = inst ? [APP_PORTS.Jupyter, APP_PORTS[inst.image.kind]] : [];
  if (!inst || inst.gone || inst.status !== 'running' || !served.includes(port)) {
    void reply.code(502).type('text/html').send('<html><body><h1>502 Bad Gateway</h1></body></html>');
    return undefined;
  }
  const wantPort = APP_PORTS[app];
  if (port !== wantPort || (app !== 'Jupyter' && inst.image.kind !== app)) {
    void reply.code(404).type('text/plain').send('404: Not Found');
    return undefined;
  }
  return { inst, port };
}

function jupyterAuthorized(req: FastifyRequest, inst: SimInstance): boolean {
  const q = (req.query as { token?: string }).token;
  if (q !== undefined) return q === inst.jupyterToken;
  const h = req.headers.authorization ?? '';
  const m = /^token\s+(.+)$/i.exec(h.trim());
  return !!m && m[1] === inst.jupyterToken;
}

function kernelOf(world: SimWorld, inst: SimInstance): Record<string, unknown> {
  return {
    id: inst.kernelId,
    name: 'python3',
    last_activity: iso(appBusy(inst) ? world.now : inst.lastActivityAt),
    execution_state: appBusy(inst) ? 'busy' : 'idle',
    connections: appBusy(inst) ? 1 : 0,
  };
}

function jobProgress(world: SimWorld, inst: SimInstance): { fraction: number; jobNo: number } {
  const elapsed = Math.max(0, world.now - inst.busySince) / 1000;
  return { fraction: (elapsed % JOB_SECONDS) / JOB_SECONDS, jobNo: Math.floor(elapsed / JOB_SECONDS) };
}

function stamp(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

/** Register the per-instance app endpoints on the simulator's fastify app. */
export function registerApps(app: FastifyInstance, world: SimWorld): void {
  const jupyter = (path: string, body: (inst: SimInstance) => unknown) => {
    app.get(`/c/:target${path}`, async (req, reply) => {
      const r = resolve(world, req, reply, 'Jupyter');
      if (!r) return reply;
      if (!jupyterAuthorized(req, r.inst)) {
        return reply.code(403).send({ message: 'Forbidden', reason: null });
      }
      return body(r.inst);
    });
  };

  jupyter('/api', () => ({ version: '2.14.2' }));
  jupyter('/api/status', (inst) => ({
    started: iso(inst.startAt),
    last_activity: iso(appBusy(inst) ? world.now : inst.lastActivityAt),
    connections: appBusy(inst) ? 1 : 0,
    kernels: 1,
  }));
  jupyter('/api/kernels', (inst) => [kernelOf(world, inst)]);
  jupyter('/api/sessions', (inst) => [
    {
      id: inst.sessionId,
      path: 'work.ipynb',
      name: 'work.ipynb',
      type: 'notebook',
      kernel: kernelOf(world, inst),
      notebook: { path: 'work.ipynb', name: 'work.ipynb' },
    },
  ]);
  jupyter('/api/terminals', () => []);

  app.get('/c/:target/queue', async (req, reply) => {
    const r = resolve(world, req, reply, 'ComfyUI');
    if (!r) return reply;
    const inst = r.inst;
    if (!appBusy(inst)) return { queue_running: [], queue_pending: [] };
    const { jobNo } = jobProgress(world, inst);
    const promptId = `${inst.sessionId.slice(0, 24)}${(inst.busySince + jobNo).toString(16).padStart(12, '0').slice(-12)}`;
    const prompt = {
      '3': { class_type: 'KSampler', inputs: { seed: 42 + jobNo, steps: 20, cfg: 7, sampler_name: 'euler', model: ['4', 0] } },
      '4': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: 'flux1-dev-fp8.safetensors' } },
      '9': { class_type: 'SaveImage', inputs: { filename_prefix: 'ComfyUI', images: ['3', 0] } },
    };
    return {
      queue_running: [[jobNo, promptId, prompt, { client_id: inst.kernelId.replace(/-/g, '') }, ['9']]],
      queue_pending: [],
    };
  });

  app.get('/c/:target/system_stats', async (req, reply) => {
    const r = resolve(world, req, reply, 'ComfyUI');
    if (!r) return reply;
    const inst = r.inst;
    const vramTotal = inst.gpuModel.vramGiB * GB;
    const used = appBusy(inst) ? Math.round(vramTotal * 0.85) : Math.round(vramTotal * 0.1);
    return {
      system: {
        os: 'posix',
        ram_total: 60 * inst.gpuCount * GB,
        ram_free: 40 * inst.gpuCount * GB,
        comfyui_version: '0.3.10',
        python_version: '3.10.14 (main, May  6 2024, 19:42:50) [GCC 11.2.0]',
        pytorch_version: '2.3.1+cu121',
        embedded_python: false,
        argv: ['main.py', '--listen', '0.0.0.0', '--port', '8188'],
      },
      devices: [
        {
          name: `cuda:0 ${inst.gpuModel.full} : cudaMallocAsync`,
          type: 'cuda',
          index: 0,
          vram_total: vramTotal,
          vram_free: vramTotal - used,
          torch_vram_total: used,
          torch_vram_free: Math.round(used * 0.05),
        },
      ],
    };
  });

  app.get('/c/:target/sdapi/v1/progress', async (req, reply) => {
    const r = resolve(world, req, reply, 'WebUI');
    if (!r) return reply;
    const inst = r.inst;
    if (!appBusy(inst)) {
      return {
        progress: 0,
        eta_relative: 0,
        state: {
          skipped: false,
          interrupted: false,
          job: '',
          job_count: 0,
          job_timestamp: inst.busySince > inst.startAt ? stamp(inst.busySince) : '0',
          job_no: 0,
          sampling_step: 0,
          sampling_steps: 0,
        },
        current_image: null,
        textinfo: null,
      };
    }
    const { fraction, jobNo } = jobProgress(world, inst);
    const steps = 30;
    return {
      progress: Math.round(fraction * 1000) / 1000,
      eta_relative: Math.round((1 - fraction) * JOB_SECONDS * 100) / 100,
      state: {
        skipped: false,
        interrupted: false,
        job: `task(${inst.sessionId.replace(/-/g, '').slice(0, 15)})`,
        job_count: 1,
        job_timestamp: stamp(inst.busySince),
        job_no: jobNo,
        sampling_step: Math.floor(fraction * steps),
        sampling_steps: steps,
      },
      current_image: null,
      textinfo: null,
    };
  });
}
