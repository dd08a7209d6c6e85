/** `GET /api/v1/instances/:id/timeline`: status intervals, journal rows and probe verdict changes of one instance. */
import { z } from 'zod';
import { instanceKnown, instanceTimeline } from '../db/instances.js';
import { NotFound } from '../errors.js';
import { isoInTz } from '../money.js';
import { actionsToJson } from './actions.js';
import type { App, AppDeps } from './types.js';
import { instanceIdSchema, rangeQueryFields, resolveRange } from './params.js';
import { actionItemSchema, errorResponses, errorSchema } from './schemas.js';

const LIMIT = 10_000;

const timelineResponse = z.object({
  instance_id: z.string(),
  from: z.string(),
  to: z.string(),
  intervals: z
    .array(
      z.object({
        status: z.string(),
        gpu_kept: z.boolean(),
        rate: z.number().describe('yuan per hour billed in this interval'),
        from: z.string(),
        to: z.string().nullable().describe('null = still open'),
      }),
    )
    .describe('status intervals overlapping [from, to), oldest first, unclipped'),
  actions: z.array(actionItemSchema).describe('journal rows decided in [from, to), oldest first'),
  probe_changes: z.array(z.object({ probe: z.string(), verdict: z.string(), at: z.string(), detail: z.string() })),
});

/** Registers GET /api/v1/instances/:id/timeline. */
export default async function timelineRoutes(app: App, opts: { deps: AppDeps }) {
  const { gdb, clock, config } = opts.deps;
  const tz = config.timezone;
  app.get(
    '/api/v1/instances/:id/timeline',
    {
      schema: {
        tags: ['instances'],
        summary: "An instance's status intervals, actions and probe changes",
        params: z.strictObject({ id: instanceIdSchema }),
        querystring: z.strictObject(rangeQueryFields),
        response: { 200: timelineResponse, ...errorResponses, 404: errorSchema },
      },
    },
    async (req) => {
      const id = req.params.id;
      const now = clock.now();
      const { from, to } = resolveRange(req.query, now, tz);
      const db = gdb.db;
      if (!instanceKnown(db, id)) throw new NotFound(`no instance ${id}`);
      const { intervals: ivs, actions: acts, probeChanges: changes } = instanceTimeline(db, id, from, to, LIMIT);
      return {
        instance_id: id,
        from: isoInTz(from, tz),
        to: isoInTz(to, tz),
        intervals: ivs.map((r) => ({ status: r.status, gpu_kept: r.gpuKept, rate: r.rate, from: isoInTz(r.from, tz), to: r.to === null ? null : isoInTz(r.to, tz) })),
        actions: actionsToJson(db, acts, now, tz),
        probe_changes: changes.map((c) => ({ probe: c.probe, verdict: c.verdict, at: isoInTz(c.at, tz), detail: c.detail })),
      };
    },
  );
}
