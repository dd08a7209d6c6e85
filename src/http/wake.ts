/**
 * `POST /api/v1/instances/:id/wake`: boot a shut-down instance through the shortage-aware waker (src/wake/).
 * Answers 202 with the journal id at once; `GET /api/v1/instances` shows the wake's progress (`wake`).
 */
import { z } from 'zod';
import { duration, gpuCountSchema, gpuModelsSchema } from '../config/schema.js';
import type { App, AppDeps } from './types.js';
import { instanceIdSchema, whoFrom } from './params.js';
import { errorResponses, errorSchema } from './schemas.js';
import { Unavailable } from './unavailable.js';

const WEEK = 7 * 86_400_000;

const wakeBody = z
  .strictObject({
    gpu_models: gpuModelsSchema.optional().describe('models to try in order, full (NVIDIA GeForce RTX 4090 D) or short (RTX 4090 D) names; default the instance\'s own'),
    gpu_count: gpuCountSchema.optional().describe('GPUs to boot with, 0-8; 0 boots without a GPU (data only); default as before the release'),
    give_up_after: duration
      .refine((ms) => ms > 0 && ms <= WEEK, 'expected a duration from 1s to 7d')
      .optional()
      .describe('stop retrying a GPU shortage after this long (default wake.give_up_after, 2h)'),
  })
  .nullish(); // no body at all arrives as null

/** The wake as the 202 answer shows it. */
export const wakeAcceptedSchema = z.object({
  wake: z.object({
    id: z.number().int().describe('the journal id (GET /api/v1/actions)'),
    instance_id: z.string(),
    state: z.enum(['waiting', 'booting', 'done', 'gave_up', 'refused']),
  }),
});

/** Registers POST /api/v1/instances/:id/wake. */
export default async function wakeRoutes(app: App, opts: { deps: AppDeps }) {
  const { guard } = opts.deps;
  app.post(
    '/api/v1/instances/:id/wake',
    {
      schema: {
        tags: ['instances'],
        summary: 'Wake a shut-down instance: boot it, retrying through a GPU shortage (202 + journal id)',
        params: z.object({ id: instanceIdSchema }),
        body: wakeBody,
        response: { 202: wakeAcceptedSchema, 404: errorSchema, 409: errorSchema, 503: errorSchema, ...errorResponses },
      },
    },
    async (req, reply) => {
      if (!guard) throw new Unavailable();
      const b = req.body ?? {};
      const w = await guard.wake({
        instanceId: req.params.id,
        gpuModels: b.gpu_models,
        gpuCount: b.gpu_count,
        giveUpAfter: b.give_up_after,
        who: `api:${whoFrom(req.headers['x-guard-who'])}`,
      });
      return reply.code(202).send({ wake: { id: w.id, instance_id: w.instance_id, state: w.state as z.infer<typeof wakeAcceptedSchema>['wake']['state'] } });
    },
  );
}
