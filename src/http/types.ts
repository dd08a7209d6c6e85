/** Types every route plugin is written against; kept apart from app.ts so routes and the app never import each other. */
import type { FastifyBaseLogger, FastifyInstance, RawServerDefault } from 'fastify';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { Config } from '../config/schema.js';
import type { GuardDb } from '../db/open.js';
import type { Metrics } from './metrics.js';
import type { GuardService } from '../service.js';

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
  /** the process's metrics (the tick job updates them); buildApp creates a fresh set when absent */
  metrics?: Metrics;
}

/** The app type routes are written against (zod type provider). */
export type App = FastifyInstance<RawServerDefault, IncomingMessage, ServerResponse, FastifyBaseLogger, ZodTypeProvider>;
