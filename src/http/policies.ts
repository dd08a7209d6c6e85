/** `GET /api/v1/policies`: the loaded policies with their mode, next fire time and last results. */
import { z } from 'zod';
import { isoInTz } from '../money.js';
import type { App, AppDeps } from './types.js';
import { errorResponses } from './schemas.js';
import { Unavailable } from './unavailable.js';

const policyItem = z.object({
  name: z.string(),
  type: z.string(),
  action: z.string(),
  mode: z.enum(['enforce', 'dry_run']),
  next_fire_at: z.string().nullable(),
  config: z.record(z.string(), z.unknown()),
  last_result: z.object({ at: z.string(), decisions: z.number(), summary: z.string() }).nullable(),
});

/** Registers GET /api/v1/policies. */
export default async function policiesRoutes(app: App, opts: { deps: AppDeps }) {
  const { clock, config, guard } = opts.deps;
  const tz = config.timezone;
  app.get(
    '/api/v1/policies',
    { schema: { tags: ['policies'], summary: 'Loaded policies: mode, next fire time, last results', response: { 200: z.object({ policies: z.array(policyItem) }), ...errorResponses } } },
    async () => {
      if (!guard) throw new Unavailable();
      const now = clock.now();
      return {
        policies: guard.policies(now).map((p) => ({
          ...p,
          next_fire_at: p.next_fire_at === null ? null : isoInTz(p.next_fire_at, tz),
          last_result: p.last_result ? { ...p.last_result, at: isoInTz(p.last_result.at, tz) } : null,
        })),
      };
    },
  );
}
