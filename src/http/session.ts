/** `GET /api/v1/session`: what the caller may do and how to show things (the dashboard asks this first). */
import { z } from 'zod';
import { VERSION } from '../version.js';
import type { App, AppDeps } from './types.js';
import { requestRole } from './auth.js';
import { errorResponses } from './schemas.js';

const sessionResponse = z.object({
  role: z.enum(['api', 'read', 'open']).describe('api: full access; read: read-only token; open: no api token configured (loopback)'),
  timezone: z.string(),
  locale: z.enum(['zh-CN', 'en']),
  currency: z.literal('CNY'),
  demo: z.boolean(),
  dry_run: z.boolean().describe('global default: decisions are journaled, nothing is sent to the cloud'),
  version: z.string(),
  keep_marker: z.string().describe('an instance whose name contains this is never touched by policies'),
  groups: z.array(z.string()).describe('the configured spend group names, in match order (none: every instance is "other")'),
});

/** Registers GET /api/v1/session. */
export default async function sessionRoutes(app: App, opts: { deps: AppDeps }) {
  const { config, runtime } = opts.deps;
  app.get(
    '/api/v1/session',
    { schema: { tags: ['session'], summary: "The caller's role and display settings", response: { 200: sessionResponse, ...errorResponses } } },
    async (req) => {
      const role = requestRole(req);
      return {
        role: role === 'api' || role === 'read' ? role : ('open' as const),
        timezone: config.timezone,
        locale: config.locale,
        currency: 'CNY' as const,
        demo: runtime.demo,
        dry_run: config.dry_run,
        version: VERSION,
        keep_marker: config.keep_marker,
        groups: config.groups.map((g) => g.name),
      };
    },
  );
}
