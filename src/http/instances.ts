/** `GET /api/v1/instances`: current instances with cost today, idle verdicts, overrides and the next planned action. */
import { z } from 'zod';
import { formatDuration } from '../config/duration.js';
import { currentInstances, openRates, todayEstimated } from '../db/instances.js';
import { isoInTz, round4 } from '../money.js';
import type { App, AppDeps } from './types.js';
import type { IdleInfo, NextAction } from '../policies/types.js';
import { activeOverrides, overrideToJson } from '../db/overrides.js';
import { overrideMatches } from '../policies/selector.js';
import { errorResponses, overrideSchema, reasonCodeSchema, type ReasonCodeJson } from './schemas.js';
import type { ReasonCode } from '../notify/reasons.js';
import { latestWakes } from '../wake/view.js';

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
  stopped_gpu_rate: z.number().nullable().describe('shut down but still holding its GPU: yuan per hour still billed (null otherwise)'),
  last_seen: z.string().describe('when the last successful observation listed it'),
  platform_auto_shutdown: z
    .object({ enabled: z.boolean(), action: z.number().nullable().describe('`auto_shutdown_action` as the API gives it') })
    .nullable()
    .describe("XianGong's own auto-shutdown (after about 4 h without GPU compute) as the API reports it; null when it does not say"),
  idle: z.object({
    verdict,
    since: z.string().nullable(),
    probes: z.record(z.string(), z.object({ verdict, since: z.string().nullable(), detail: z.string(), code: reasonCodeSchema.nullable(), checked_at: z.string().nullable() })),
  }),
  overrides: z.array(overrideSchema),
  next_action: z
    .object({
      policy: z.string(),
      action: z.string(),
      at: z.string().nullable(),
      in: z.string().nullable(),
      reason: z.string(),
      reason_code: reasonCodeSchema.nullable(),
      held_by: z
        .object({ kind: z.enum(['snooze', 'exempt', 'cooldown']), until: z.string(), override_id: z.number().int().nullable() })
        .nullable()
        .describe('what holds the action back until `until`; the action follows once it ends'),
    })
    .nullable(),
  wake: z
    .object({
      id: z.number().int().describe('the journal id'),
      state: z.enum(['waiting', 'booting', 'done', 'gave_up', 'refused']),
      tries: z.number().int(),
      waiting_for: z.string().nullable().describe('the GPU model the next try asks for, while waiting'),
      since: z.string().describe('when the wake was requested'),
    })
    .nullable()
    .describe('the latest wake of this instance, in progress or finished within the last hour'),
});

/** A reason code as the schema has it: only its code, parameters and details, whatever else the object carries. */
function reasonJson(rc: ReasonCode): ReasonCodeJson {
  return rc.details === undefined ? { code: rc.code, params: rc.params } : { code: rc.code, params: rc.params, details: rc.details.map(reasonJson) };
}

/** The answer of GET /api/v1/instances (also the OpenAPI document's). */
export const instancesAnswer = z.object({ instances: z.array(instanceItem) });

/** Registers GET /api/v1/instances. */
export default async function instanceRoutes(app: App, opts: { deps: AppDeps }) {
  const { gdb, clock, config, guard } = opts.deps;
  const tz = config.timezone;
  const iso = (t: number | null) => (t === null ? null : isoInTz(t, tz));
  const probesJson = (probes: IdleInfo['probes']): z.infer<typeof instanceItem>['idle']['probes'] =>
    Object.fromEntries(Object.entries(probes).map(([k, p]) => [k, { verdict: p.verdict, since: iso(p.since), detail: p.detail, code: p.code ? reasonJson(p.code) : null, checked_at: iso(p.checkedAt ?? null) }]));

  app.get(
    '/api/v1/instances',
    {
      schema: { tags: ['instances'], summary: 'Current instances: cost today, idle verdicts, overrides, next planned action', response: { 200: instancesAnswer, ...errorResponses } },
    },
    async () => {
      const now = clock.now();
      const db = gdb.db;
      const rates = openRates(db);
      const today = todayEstimated(db, now, tz);
      const ovs = activeOverrides(db, now);
      const { idle, next }: { idle: Map<string, IdleInfo>; next: Map<string, NextAction | null> } = guard?.instanceViews(now) ?? { idle: new Map(), next: new Map() };
      const wakes = latestWakes(db, now, tz);
      const instances = currentInstances(db).map((r) => {
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
          stopped_gpu_rate: r.status === 'shutdown' && r.gpuCount > 0 ? round4(rates.get(r.id) ?? r.pricePerHour) : null,
          last_seen: isoInTz(r.lastSeen, tz),
          platform_auto_shutdown: r.autoShutdown === null ? null : { enabled: r.autoShutdown > 0, action: r.autoShutdownAction },
          idle: { verdict: i?.verdict ?? 'unknown', since: i ? iso(i.since) : null, probes: i ? probesJson(i.probes) : {} },
          overrides: ovs.filter((o) => overrideMatches(o, r, o.policies?.[0] ?? '*')).map((o) => overrideToJson(o, now, tz)),
          next_action: n
            ? {
                policy: n.policy,
                action: n.action,
                at: iso(n.at),
                in: n.at === null ? null : formatDuration(Math.max(0, n.at - now)),
                reason: n.reason,
                reason_code: n.reasonCode ? reasonJson(n.reasonCode) : null,
                held_by: n.heldBy ? { kind: n.heldBy.kind, until: isoInTz(n.heldBy.until, tz), override_id: n.heldBy.overrideId ?? null } : null,
              }
            : null,
          wake: wakes.get(r.id) ?? null,
        };
      });
      return { instances };
    },
  );
}
