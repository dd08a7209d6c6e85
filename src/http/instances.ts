/**
 * The guard core over HTTP: `GET /api/v1/instances` (state, cost today, idle verdicts, overrides, next planned
 * action), `GET /api/v1/policies`, `POST /api/v1/actions` ("act now", through the executor and its rails) and
 * `GET /api/v1/events` (recent alerts and notices from the outbox).
 */
import { desc, lt, and, eq } from 'drizzle-orm';
import { z } from 'zod';
import { formatDuration } from '../config/duration.js';
import { outboxEvents } from '../db/schema.js';
import { currentInstances, openRates, todayEstimated } from '../db/instance-list.js';
import { GuardError } from '../errors.js';
import { isoInTz, round4 } from '../money.js';
import type { App, AppDeps } from './app.js';
import type { IdleInfo, NextAction } from './service.js';
import { render, type GuardEvent } from '../notify/index.js';
import { activeOverrides, overrideMatches, overrideToJson } from './overrides-store.js';
import { instanceIdSchema, whoFrom } from './params.js';
import { errorResponses, errorSchema, overrideSchema } from './schemas.js';

const verdict = z.enum(['busy', 'idle', 'unknown']);
const instanceItem = z.object({
  id: z.string(),
  name: z.string(),
  status: z.string(),
  gpu_model: z.string(),
  gpu_count: z.number().int(),
  price_per_hour: z.number(),
  billed_rate: z.number().describe('yuan per hour billed right now'),
  today_estimated: z.number().describe('estimated cost since local midnight'),
  idle: z.object({
    verdict,
    since: z.string().nullable(),
    probes: z.record(z.string(), z.object({ verdict, since: z.string().nullable(), detail: z.string() })),
  }),
  overrides: z.array(overrideSchema),
  next_action: z
    .object({ policy: z.string(), action: z.string(), at: z.string().nullable(), in: z.string().nullable(), reason: z.string() })
    .nullable(),
});

const policyItem = z.object({
  name: z.string(),
  type: z.string(),
  action: z.string(),
  mode: z.enum(['enforce', 'dry_run']),
  next_fire_at: z.string().nullable(),
  config: z.record(z.string(), z.unknown()),
  last_result: z.object({ at: z.string(), decisions: z.number(), summary: z.string() }).nullable(),
});

const actNowBody = z.strictObject({
  instance_id: instanceIdSchema,
  action: z.enum(['release_gpu', 'shutdown']).default('release_gpu'),
  reason: z.string().max(500).optional(),
});

const eventItem = z.object({ id: z.number().int(), at: z.string(), type: z.string(), reason: z.string(), summary: z.string(), instance: z.string().nullable() });

class Unavailable extends GuardError {
  constructor() {
    super('the policy engine is not running in this process', 'unavailable', 503);
  }
}

/** Registers the instances, policies, act-now and events routes. */
export default async function instanceRoutes(app: App, opts: { deps: AppDeps }) {
  const { gdb, clock, config, guard } = opts.deps;
  const tz = config.timezone;
  const iso = (t: number | null) => (t === null ? null : isoInTz(t, tz));

  app.get(
    '/api/v1/instances',
    { schema: { tags: ['instances'], summary: 'Current instances: cost today, idle verdicts, overrides, next planned action', response: { 200: z.object({ instances: z.array(instanceItem) }), ...errorResponses } } },
    async () => {
      const now = clock.now();
      const db = gdb.db;
      const rows = currentInstances(db);
      const rates = openRates(db);
      const today = todayEstimated(db, now, tz);
      const ovs = activeOverrides(db, now);
      const idle: Map<string, IdleInfo> = guard?.idleInfo(now) ?? new Map();
      const next: Map<string, NextAction | null> = guard?.nextActions(now) ?? new Map();
      return {
        instances: rows.map((r) => {
          const i = idle.get(r.id);
          const n = next.get(r.id) ?? null;
          return {
            id: r.id,
            name: r.name,
            status: r.status,
            gpu_model: r.gpuModel,
            gpu_count: r.gpuCount,
            price_per_hour: r.pricePerHour,
            billed_rate: round4(rates.get(r.id) ?? 0),
            today_estimated: round4(today.get(r.id) ?? 0),
            idle: i
              ? { verdict: i.verdict, since: iso(i.since), probes: Object.fromEntries(Object.entries(i.probes).map(([k, p]) => [k, { verdict: p.verdict, since: iso(p.since), detail: p.detail }])) }
              : { verdict: 'unknown' as const, since: null, probes: {} },
            overrides: ovs.filter((o) => overrideMatches(o, r, o.policies?.[0] ?? '*')).map((o) => overrideToJson(o, now, tz)),
            next_action: n ? { policy: n.policy, action: n.action, at: iso(n.at), in: n.at === null ? null : formatDuration(Math.max(0, n.at - now)), reason: n.reason } : null,
          };
        }),
      };
    },
  );

  app.get(
    '/api/v1/policies',
    { schema: { tags: ['policies'], summary: 'Loaded policies: mode, next fire time, last results', response: { 200: z.object({ policies: z.array(policyItem) }), ...errorResponses } } },
    async () => {
      if (!guard) throw new Unavailable();
      const now = clock.now();
      return {
        policies: guard.policies(now).map((p) => ({
          ...p,
          next_fire_at: iso(p.next_fire_at),
          last_result: p.last_result ? { ...p.last_result, at: isoInTz(p.last_result.at, tz) } : null,
        })),
      };
    },
  );

  app.post(
    '/api/v1/actions',
    {
      schema: {
        tags: ['actions'],
        summary: 'Act now on one instance (release GPU or shutdown), through the same executor and rails',
        body: actNowBody,
        response: { 200: z.object({ action_id: z.number(), state: z.string(), reason: z.string() }), 404: errorSchema, 503: errorSchema, ...errorResponses },
      },
    },
    async (req) => {
      if (!guard) throw new Unavailable();
      const who = `api:${whoFrom(req.headers['x-guard-who'])}`;
      return guard.actNow({ instanceId: req.body.instance_id, action: req.body.action, who, reason: req.body.reason });
    },
  );

  app.get(
    '/api/v1/events',
    {
      schema: {
        tags: ['events'],
        summary: 'Recent notification events (alerts, warnings, actions) from the outbox, newest first',
        querystring: z.strictObject({ limit: z.coerce.number().int().min(1).max(200).default(50), type: z.string().max(40).optional(), before: z.coerce.number().int().positive().optional() }),
        response: { 200: z.object({ events: z.array(eventItem) }), ...errorResponses },
      },
    },
    async (req) => {
      const { limit, type, before } = req.query;
      const rows = gdb.db
        .select()
        .from(outboxEvents)
        .where(and(type ? eq(outboxEvents.type, type) : undefined, before ? lt(outboxEvents.id, before) : undefined))
        .orderBy(desc(outboxEvents.id))
        .limit(limit)
        .all();
      return {
        events: rows.map((e) => {
          const ev = JSON.parse(e.payload) as GuardEvent;
          const inst = (ev.data as { instance?: { name?: string } }).instance;
          return { id: e.id, at: isoInTz(e.createdAt, tz), type: e.type, reason: e.reason, summary: render(ev, { locale: config.locale, timezone: tz }).subject, instance: inst?.name ?? null };
        }),
      };
    },
  );
}
