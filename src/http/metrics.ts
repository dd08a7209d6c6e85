/**
 * Prometheus metrics on a per-app Registry (never the global one): instruments the tick updates
 * (duration, cloud API calls and errors), and facts read from SQLite on each scrape with a few cheap
 * aggregates (balance, burn rate, runway, instances by status, estimated spend per instance, journal counts,
 * blind, outbox depth), plus the default process metrics.
 */
import { desc, isNull, sql } from 'drizzle-orm';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Db } from '../db/open.js';
import { actions, balancePoints, instances, intervals, ticks } from '../db/schema.js';
import { outboxDepth } from '../notify/index.js';
import type { App, AppDeps } from './types.js';
import { burnRate } from '../db/spend.js';

/** The metrics of one app. The tick job updates tickDuration/apiRequests/apiErrors; the rest come from the DB. */
export interface Metrics {
  registry: Registry;
  /** seconds per tick (observe in the tick job) */
  tickDuration: Histogram<'outcome'>;
  /** cloud API calls by endpoint and result (ok | error class) */
  apiRequests: Counter<'endpoint' | 'result'>;
  /** cloud API errors by class */
  apiErrors: Counter<'class'>;
  /** journal rows by policy, action and state (set from the DB on scrape) */
  actionsTotal: Counter<'policy' | 'action' | 'state'>;
  /** 1 when the last tick was blind (set from the DB on scrape) */
  blind: Gauge;
  balance: Gauge;
  burnRate: Gauge;
  runway: Gauge;
  instances: Gauge<'status'>;
  estimatedSpend: Counter<'instance'>;
  outboxDepth: Gauge<'state'>;
}

/** Create a fresh registry with every xgc-guard metric and the default process metrics. */
export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const r = [registry];
  return {
    registry,
    tickDuration: new Histogram({
      name: 'xgc_guard_tick_duration_seconds',
      help: 'Duration of one observe/record/probe/decide/act tick.',
      labelNames: ['outcome'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: r,
    }),
    apiRequests: new Counter({
      name: 'xgc_guard_cloud_api_requests_total',
      help: 'Requests to the XianGong Open API by endpoint and result.',
      labelNames: ['endpoint', 'result'],
      registers: r,
    }),
    apiErrors: new Counter({ name: 'xgc_guard_cloud_api_errors_total', help: 'Failed XianGong Open API requests by error class.', labelNames: ['class'], registers: r }),
    actionsTotal: new Counter({
      name: 'xgc_guard_actions_total',
      help: 'Action journal rows by policy, action and current state.',
      labelNames: ['policy', 'action', 'state'],
      registers: r,
    }),
    blind: new Gauge({ name: 'xgc_guard_blind', help: '1 when the last tick could not observe the account (blind), else 0.', registers: r }),
    balance: new Gauge({ name: 'xgc_guard_balance_yuan', help: 'Last observed account balance in yuan (NaN before the first one).', registers: r }),
    burnRate: new Gauge({ name: 'xgc_guard_burn_rate_yuan_per_hour', help: 'Sum of the billed rates of all instances now (yuan per hour).', registers: r }),
    runway: new Gauge({ name: 'xgc_guard_runway_hours', help: 'Hours until the balance reaches zero at the current burn rate (+Inf when nothing burns, NaN before the first balance).', registers: r }),
    instances: new Gauge({ name: 'xgc_guard_instances', help: 'Known instances by status.', labelNames: ['status'], registers: r }),
    estimatedSpend: new Counter({
      name: 'xgc_guard_estimated_spend_yuan_total',
      help: 'Estimated spend per instance since first seen (status intervals x rates), in yuan.',
      labelNames: ['instance'],
      registers: r,
    }),
    outboxDepth: new Gauge({ name: 'xgc_guard_outbox_depth', help: 'Notification deliveries waiting (pending) or given up (dead).', labelNames: ['state'], registers: r }),
  };
}

/** Set the DB-derived metrics as of `now` (a handful of aggregate queries). */
export function refreshFromDb(m: Metrics, db: Db, now: number): void {
  const last = db.select({ balance: balancePoints.balance }).from(balancePoints).orderBy(desc(balancePoints.at), desc(balancePoints.id)).limit(1).get();
  const burn = burnRate(db);
  m.burnRate.set(burn);
  // Unknown balance: NaN; nothing burning: +Inf hours of runway (never a misleading 0).
  m.balance.set(last ? last.balance : NaN);
  m.runway.set(!last ? NaN : burn > 0 ? Math.max(0, last.balance / burn) : Infinity);

  m.instances.reset();
  for (const row of db
    .select({ status: instances.status, n: sql<number>`count(*)` })
    .from(instances)
    .where(isNull(instances.goneAt))
    .groupBy(instances.status)
    .all())
    m.instances.set({ status: row.status }, row.n);

  m.estimatedSpend.reset();
  for (const row of db
    .select({
      id: intervals.instanceId,
      yuan: sql<number>`sum(${intervals.rate} * (max(coalesce(${intervals.to}, ${now}), ${intervals.from}) - ${intervals.from})) / 3600000.0`,
    })
    .from(intervals)
    .groupBy(intervals.instanceId)
    .all())
    if (row.yuan > 0) m.estimatedSpend.inc({ instance: row.id }, row.yuan);

  m.actionsTotal.reset();
  for (const row of db
    .select({ policy: actions.policy, action: actions.action, state: actions.state, n: sql<number>`count(*)` })
    .from(actions)
    .groupBy(actions.policy, actions.action, actions.state)
    .all())
    m.actionsTotal.inc({ policy: row.policy, action: row.action, state: row.state }, row.n);

  const tick = db.select({ outcome: ticks.outcome }).from(ticks).orderBy(desc(ticks.id)).limit(1).get();
  m.blind.set(tick?.outcome === 'blind' ? 1 : 0);

  const depth = outboxDepth(db);
  m.outboxDepth.set({ state: 'pending' }, depth.pending);
  m.outboxDepth.set({ state: 'dead' }, depth.dead);
}

/** Registers `GET /metrics` (Prometheus text format; auth is decided by the auth hook). */
export default async function metricsRoutes(app: App, opts: { deps: AppDeps; metrics: Metrics }) {
  const { deps, metrics } = opts;
  app.get('/metrics', { schema: { hide: true } }, async (_req, reply) => {
    refreshFromDb(metrics, deps.gdb.db, deps.clock.now());
    const body = await metrics.registry.metrics();
    return reply.header('content-type', metrics.registry.contentType).header('cache-control', 'no-store').send(body);
  });
}
