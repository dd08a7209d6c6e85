/**
 * Builds the Fastify app from its dependencies; never listens (src/main.ts owns the process).
 * Routes: health, API v1 resources, metrics, docs, dashboard.
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type RawServerDefault } from 'fastify';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { Config } from '../config/schema.js';
import type { GuardDb } from '../db/open.js';
import { installErrorHandlers } from './errors.js';
import healthRoutes from './health.js';
import type { GuardService } from './service.js';

/** Live process facts the HTTP layer reports (readiness, leadership). */
export interface RuntimeStatus {
  /** true once migrations ran and the DB is open */
  dbOpen: boolean;
  /** whether this process holds the single-writer lease */
  leader: boolean;
  /** why not leader, when not */
  standbyReason?: string;
  /** whether jobs are running */
  jobsRunning: boolean;
  /** true in demo mode (auth off on loopback) */
  demo: boolean;
}

/** Everything routes may use. */
export interface AppDeps {
  gdb: GuardDb;
  config: Config;
  clock: Clock;
  log: Logger;
  runtime: RuntimeStatus;
  /** the policy engine + executor (absent in tools that only read history) */
  guard?: GuardService;
}

/** The app type routes are written against (zod type provider). */
export type App = FastifyInstance<RawServerDefault, IncomingMessage, ServerResponse, FastifyBaseLogger, ZodTypeProvider>;

/** Build the app (register plugins and routes). Call `await app.ready()` before inject. */
export async function buildApp(deps: AppDeps): Promise<App> {
  const app = Fastify({
    loggerInstance: deps.log.child({ mod: 'http' }),
    disableRequestLogging: true,
    bodyLimit: 64 * 1024,
    trustProxy: false,
  }).withTypeProvider<ZodTypeProvider>() as unknown as App;
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  installErrorHandlers(app);
  await app.register(healthRoutes, { deps });
  return app;
}
