/** `POST /api/v1/heartbeat`: the push probe (agent inside an instance reports GPU use / busy). */
import { z } from 'zod';
import { recordHeartbeat } from '../probes/heartbeat.js';
import type { App, AppDeps } from './types.js';
import { instanceIdSchema, withFieldPrefix } from './params.js';
import { errorResponses } from './schemas.js';

const body = z.strictObject({
  instance_id: instanceIdSchema,
  gpu_util: z.number().min(0).max(100).nullable().optional().describe('highest GPU utilisation in percent'),
  busy: z.boolean().nullable().optional().describe("the agent's own opinion"),
});

/** Registers POST /api/v1/heartbeat (the heartbeat token may call it). */
export default async function heartbeatRoutes(app: App, opts: { deps: AppDeps }) {
  const { gdb, clock } = opts.deps;
  app.post(
    '/api/v1/heartbeat',
    {
      schema: {
        tags: ['probes'],
        summary: 'Heartbeat from the in-instance agent',
        body,
        response: { 202: z.object({ ok: z.literal(true) }), ...errorResponses },
      },
    },
    async (req, reply) => {
      const b = req.body;
      withFieldPrefix('body', () => recordHeartbeat(gdb.db, { instanceId: b.instance_id, gpuUtil: b.gpu_util, busy: b.busy }, clock.now()));
      return reply.code(202).send({ ok: true as const });
    },
  );
}
