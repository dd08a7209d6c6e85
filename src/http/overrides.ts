/** `GET|POST /api/v1/overrides`, `DELETE /api/v1/overrides/:id`: snoozes and exemptions (logic in overrides-store.ts). */
import { z } from 'zod';
import { parseDuration } from '../config/duration.js';
import { BadRequest } from '../errors.js';
import type { App, AppDeps } from './types.js';
import { createOverride, listOverrides, overrideToJson, revokeOverride } from '../db/overrides.js';
import { instanceIdSchema, isTimeForm, parseTimeParam, whoFrom, withFieldPrefix } from './params.js';
import { errorResponses, errorSchema, overrideSchema } from './schemas.js';

const createBody = z
  .strictObject({
    target: z.union([z.strictObject({ instance_id: instanceIdSchema }), z.strictObject({ name: z.string().min(1).max(128).describe('instance name glob (* and ?)') })], {
      error: 'expected { instance_id } or { name }',
    }),
    kind: z.enum(['snooze', 'exempt']),
    policies: z
      .array(z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'expected a policy name'))
      .max(50)
      .optional()
      .describe('policy names; absent = all policies'),
    until: z
      .string()
      .refine(isTimeForm, 'expected an ISO 8601 time such as 2026-11-26T08:00:00+08:00')
      .optional()
      .describe('ISO 8601 end time (in the future)'),
    for: z
      .string()
      .refine((s) => (parseDuration(s) ?? 0) > 0, 'expected a duration such as 30m, 2h or 1d')
      .optional()
      .describe('duration from now, e.g. 2h'),
    forever: z.literal(true).optional().describe('never expires (exempt only)'),
    reason: z.string().min(1).max(500),
  })
  .superRefine((b, ctx) => {
    const ends = (['until', 'for', 'forever'] as const).filter((k) => b[k] !== undefined);
    if (ends.length !== 1)
      ctx.addIssue({ code: 'custom', path: [ends[1] ?? 'until'], message: 'give exactly one of until, for or forever' });
    else if (b.kind === 'snooze' && b.forever) ctx.addIssue({ code: 'custom', path: ['forever'], message: 'a snooze needs until or for; use kind exempt for forever' });
  })
  .describe('exactly one of until / for / forever; a snooze needs until or for');

const idParam = z.strictObject({ id: z.string().regex(/^[1-9]\d{0,11}$/, 'expected an override id (a positive integer)') });

/** Registers the override routes. */
export default async function overridesRoutes(app: App, opts: { deps: AppDeps }) {
  const { gdb, clock, config } = opts.deps;
  const tz = config.timezone;
  const policyNames = new Set(config.policies.map((p) => p.name));

  app.get(
    '/api/v1/overrides',
    {
      schema: {
        tags: ['overrides'],
        summary: 'Overrides in force (all=1: also revoked and expired ones)',
        querystring: z.strictObject({ all: z.enum(['0', '1', 'true', 'false']).optional() }),
        response: { 200: z.object({ overrides: z.array(overrideSchema) }), ...errorResponses },
      },
    },
    async (req) => {
      const now = clock.now();
      const all = req.query.all === '1' || req.query.all === 'true';
      const list = listOverrides(gdb.db, { all }, now);
      for (const o of list) if (o.problem !== null) req.log.warn({ override: o.id, problem: o.problem }, 'override row is invalid: listed as invalid, not in force');
      return { overrides: list.map((o) => overrideToJson(o, now, tz)) };
    },
  );

  app.post(
    '/api/v1/overrides',
    {
      schema: {
        tags: ['overrides'],
        summary: 'Snooze or exempt an instance (or a name glob) from some or all policies',
        body: createBody,
        response: { 201: z.object({ override: overrideSchema }), ...errorResponses },
      },
    },
    async (req, reply) => {
      const b = req.body;
      const now = clock.now();
      b.policies?.forEach((p, i) => {
        if (!policyNames.has(p)) throw new BadRequest(`body.policies[${i}]`, `unknown policy "${p}": expected one of ${[...policyNames].join(', ')}`);
      });
      const o = withFieldPrefix('body', () =>
        createOverride(
          gdb.db,
          {
            target: b.target,
            kind: b.kind,
            policies: b.policies,
            until: b.until !== undefined ? (parseTimeParam(b.until, now, tz) ?? NaN) : undefined,
            for: b.for !== undefined ? (parseDuration(b.for) ?? NaN) : undefined,
            forever: b.forever,
            reason: b.reason,
            who: whoFrom(req.headers['x-guard-who']),
          },
          now,
        ),
      );
      req.log.info({ override: o.id, kind: o.kind, who: o.who }, 'override created');
      return reply.code(201).send({ override: overrideToJson(o, now, tz) });
    },
  );

  app.delete(
    '/api/v1/overrides/:id',
    {
      schema: {
        tags: ['overrides'],
        summary: 'Revoke an override (the row is kept)',
        params: idParam,
        response: { 200: z.object({ override: overrideSchema }), ...errorResponses, 404: errorSchema, 409: errorSchema },
      },
    },
    async (req) => {
      const now = clock.now();
      const o = revokeOverride(gdb.db, Number(req.params.id), now);
      req.log.info({ override: o.id, who: whoFrom(req.headers['x-guard-who']) }, 'override revoked');
      return { override: overrideToJson(o, now, tz) };
    },
  );
}
