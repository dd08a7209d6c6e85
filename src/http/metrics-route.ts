/** `GET /metrics`: the registry of `metrics.ts`, refreshed from the database at each scrape. */
import { refreshFromDb, type Metrics } from './metrics.js';
import type { App, AppDeps } from './types.js';

/** Registers `GET /metrics` (Prometheus text format; auth is decided by the auth hook). */
export default async function metricsRoutes(app: App, opts: { deps: AppDeps; metrics: Metrics }) {
  const { deps, metrics } = opts;
  app.get('/metrics', { schema: { hide: true } }, async (_req, reply) => {
    refreshFromDb(metrics, deps.gdb.db, deps.clock.now());
    const body = await metrics.registry.metrics();
    return reply.header('content-type', metrics.registry.contentType).header('cache-control', 'no-store').send(body);
  });
}
