/** `GET /api/v1/spend` (estimated / observed / saved by hour, day or instance; JSON or CSV) and `GET /api/v1/savings`. */
import { z } from 'zod';
import { savingsReport } from '../db/savings.js';
import { CSV_CONTENT_TYPE } from '../csv.js';
import { instanceNames, instanceSelectables } from '../db/known-instances.js';
import { spendReport } from '../db/spend.js';
import { spendCsv } from '../db/spend-csv.js';
import { spendByGroup, splitByGroup } from '../groups.js';
import { BadRequest } from '../errors.js';
import { isoInTz } from '../money.js';
import type { App, AppDeps } from './types.js';
import { rangeQueryFields, resolveRange, tzParam } from './params.js';
import { errorResponses } from './schemas.js';

/** Most time buckets one report may have (hour buckets: about 200 days). */
export const MAX_BUCKETS = 5_000;

const spendResponse = z.object({
  from: z.string(),
  to: z.string(),
  by: z.enum(['hour', 'day', 'instance', 'group']),
  tz: z.string(),
  currency: z.literal('CNY'),
  total: z.object({
    estimated: z.number().describe('status intervals x rates'),
    observed: z.number().describe('sum of balance decreases'),
    recharged: z.number().describe('sum of balance increases'),
    saved: z.number().describe("GPU time the guard's releases avoided"),
    difference: z.number().optional().describe('observed - estimated'),
  }),
  rows: z.array(
    z.object({
      key: z.string().describe('bucket start (ISO 8601), instance id or group name'),
      estimated: z.number(),
      observed: z.number().nullable().describe('null per instance (the balance is per account)'),
      saved: z.number(),
      instances: z.record(z.string(), z.number()).optional().describe('estimated per instance id, or per group name with split=group (time buckets)'),
    }),
  ),
});

const savingsResponse = z.object({
  from: z.string(),
  to: z.string(),
  tz: z.string(),
  currency: z.literal('CNY'),
  cap_days: z.number(),
  total: z.number(),
  by_policy: z.array(z.object({ policy: z.string(), saved: z.number(), actions: z.number() })),
  by_instance: z.array(z.object({ instance_id: z.string(), instance_name: z.string(), saved: z.number(), actions: z.number() })),
  by_day: z.array(z.object({ key: z.string(), saved: z.number() })),
  actions: z.array(
    z.object({
      action_id: z.number(),
      instance_id: z.string(),
      instance_name: z.string(),
      policy: z.string(),
      rate_saved_per_hour: z.number(),
      released_at: z.string(),
      until: z.string(),
      ended_by: z.string().describe('boot | gone | cap | now'),
      saved: z.number(),
    }),
  ),
});

/** Registers GET /api/v1/spend and GET /api/v1/savings. */
export default async function spendRoutes(app: App, opts: { deps: AppDeps }) {
  const { gdb, clock, config } = opts.deps;

  app.get(
    '/api/v1/spend',
    {
      schema: {
        tags: ['spend'],
        summary: 'Where the money went: estimated, observed and saved, by hour, day or instance',
        querystring: z.strictObject({
          ...rangeQueryFields,
          by: z.enum(['hour', 'day', 'instance', 'group']).default('day').describe('group: per-instance spend summed by the config\'s `groups` (unmatched: "other")'),
          tz: tzParam.optional(),
          split: z.enum(['instance', 'group', 'none']).default('none').describe('instance: time-bucket rows also carry `instances` (estimated per instance id); group: the same summed per group name'),
          split_top: z.coerce
            .number()
            .int()
            .min(1)
            .max(10_000)
            .optional()
            .describe('with split=instance: only the N instances with the most estimated spend over the range appear in `instances`; the others stay in `estimated`'),
          format: z
            .enum(['json', 'csv'])
            .default('json')
            .describe(
              'csv: text/csv; charset=utf-8 (UTF-8 with BOM), a header row and one row per report row: day|hour_start,estimated_yuan,observed_yuan,saved_yuan, or by=instance instance_id,instance_name,estimated_yuan,saved_yuan',
            ),
        }),
        response: { 200: spendResponse, ...errorResponses },
      },
    },
    async (req, reply) => {
      const now = clock.now();
      const tz = req.query.tz ?? config.timezone;
      const by = req.query.by;
      const { from, to } = resolveRange(req.query, now, tz);
      const unit = by === 'hour' ? 3_600_000 : 86_400_000;
      if (by !== 'instance' && by !== 'group' && (to - from) / unit > MAX_BUCKETS) throw new BadRequest('query.from', `range too long for by=${by}: at most ${MAX_BUCKETS} buckets`);
      if (req.query.split_top !== undefined && req.query.split !== 'instance') throw new BadRequest('query.split_top', 'split_top needs split=instance');
      const split = req.query.split !== 'none';
      if (req.query.format === 'csv' && split) throw new BadRequest('query.split', 'split is for the JSON answer (format=json)');
      const byInstance = spendReport(gdb.db, { from, to, by: by === 'group' ? 'instance' : by, tz, now, split, splitTop: req.query.split_top });
      const r = by === 'group' ? spendByGroup(byInstance, config.groups, instanceSelectables(gdb.db)) : byInstance;
      if (req.query.split === 'group') splitByGroup(r.rows, config.groups, instanceSelectables(gdb.db));
      if (req.query.format === 'csv') {
        const csv = spendCsv(r, instanceNames(gdb.db));
        // a string with a non-JSON type is sent as is: the JSON schema's serializer is not used
        return reply
          .type(CSV_CONTENT_TYPE)
          .header('content-disposition', `attachment; filename="spend-${by}-${isoInTz(from, tz).slice(0, 10)}.csv"`)
          .header('cache-control', 'no-store')
          .send(csv as never); // the reply is typed by the JSON schema; this string bypasses it
      }
      return {
        ...r,
        from: isoInTz(r.from, tz),
        to: isoInTz(r.to, tz),
        rows: r.rows.map((row) => ({ ...row, key: typeof row.key === 'number' ? isoInTz(row.key, tz) : row.key })),
      };
    },
  );

  app.get(
    '/api/v1/savings',
    {
      schema: {
        tags: ['spend'],
        summary: "What the guard's GPU releases saved, by policy, instance, day and action",
        querystring: z.strictObject({ ...rangeQueryFields, tz: tzParam.optional() }),
        response: { 200: savingsResponse, ...errorResponses },
      },
    },
    async (req) => {
      const now = clock.now();
      const tz = req.query.tz ?? config.timezone;
      const { from, to } = resolveRange(req.query, now, tz);
      if ((to - from) / 86_400_000 > MAX_BUCKETS) throw new BadRequest('query.from', `range too long: at most ${MAX_BUCKETS} days`);
      const r = savingsReport(gdb.db, { from, to, now, tz }, (t) => isoInTz(t, tz));
      return {
        from: isoInTz(r.from, tz),
        to: isoInTz(r.to, tz),
        tz: r.tz,
        currency: r.currency,
        cap_days: r.cap_days,
        total: r.total,
        by_policy: r.by_policy,
        by_instance: r.by_instance,
        by_day: r.by_day.map((d) => ({ key: isoInTz(d.key, tz), saved: d.saved })),
        actions: r.actions,
      };
    },
  );
}
