/**
 * Builds the Fastify app from its dependencies; never listens (src/main.ts owns the process).
 * Routes: health, API v1 resources, metrics, docs, dashboard.
 */
import Fastify, { LogController } from 'fastify';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import actionsRoutes from './actions.js';
import alertsRoutes from './alerts.js';
import { installAuth } from './auth.js';
import balanceRoutes from './balance.js';
import { installDocs } from './docs.js';
import { errorBody, installErrorHandlers } from './errors.js';
import healthRoutes from './health.js';
import eventsRoutes from './events.js';
import instanceRoutes from './instances.js';
import policiesRoutes from './policies.js';
import dashboardRoutes from '../dashboard/plugin.js';
import heartbeatRoutes from './heartbeat.js';
import { createMetrics } from './metrics.js';
import metricsRoutes from './metrics-route.js';
import overridesRoutes from './overrides.js';
import sessionRoutes from './session.js';
import snoozeRoutes from './snooze.js';
import spendRoutes from './spend.js';
import timelineRoutes from './timeline.js';
import tuneRoutes from './tune.js';
import wakeRoutes from './wake.js';
import type { App, AppDeps } from './types.js';

export type { App, AppDeps, RuntimeStatus } from './types.js';

/** Build the app (register plugins and routes). Call `await app.ready()` before inject. */
export async function buildApp(deps: AppDeps): Promise<App> {
  const app = Fastify({
    loggerInstance: deps.log.child({ mod: 'http' }),
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 64 * 1024,
    trustProxy: false,
    // `/api/v1/balance/` serves `/api/v1/balance` (auth is decided on the normalized path, so this opens nothing);
    // duplicate slashes are not folded: `//api/...` is a 404 after the auth hook has answered 401.
    routerOptions: { ignoreTrailingSlash: true, ignoreDuplicateSlashes: false, maxParamLength: 128 },
    // Router-level refusals (over-long params, bad percent-encoding) get the API's one error shape too.
    frameworkErrors: (err, _req, reply) => {
      const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 400;
      void (reply as unknown as { code(n: number): { send(b: unknown): void } }).code(status).send(errorBody(status === 414 ? 'uri_too_long' : 'bad_request', status === 414 ? 'request path parameter too long' : 'malformed request URL'));
    },
  }).withTypeProvider<ZodTypeProvider>() as unknown as App;
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  installErrorHandlers(app);
  await installAuth(app, { http: deps.config.http });
  await installDocs(app, { publicUrl: deps.config.http.public_url });
  const metrics = deps.metrics ?? createMetrics();
  await app.register(healthRoutes, { deps });
  await app.register(metricsRoutes, { deps, metrics });
  await app.register(snoozeRoutes, { db: deps.gdb.db, clock: deps.clock, locale: deps.config.locale, timezone: deps.config.timezone });
  // /api/v1 resources, one plugin per resource (file = URL).
  await app.register(sessionRoutes, { deps });
  await app.register(balanceRoutes, { deps });
  await app.register(timelineRoutes, { deps });
  await app.register(actionsRoutes, { deps });
  await app.register(overridesRoutes, { deps });
  await app.register(heartbeatRoutes, { deps });
  await app.register(spendRoutes, { deps });
  await app.register(tuneRoutes, { deps });
  await app.register(instanceRoutes, { deps });
  await app.register(wakeRoutes, { deps });
  await app.register(policiesRoutes, { deps });
  await app.register(eventsRoutes, { deps });
  await app.register(alertsRoutes, { deps });
  await app.register(dashboardRoutes, { locale: deps.config.locale });
  return app;
}
