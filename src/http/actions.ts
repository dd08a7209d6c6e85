/**
 * `GET /api/v1/actions`: the action journal, newest first, filtered, with an opaque cursor for the next page;
 * `POST /api/v1/actions`: act now on one instance, through the same executor and rails as the policies.
 */
import { z } from 'zod';
import { journalPage } from '../db/journal.js';
import { parseReasonCode } from '../notify/reasons.js';
import type { Db } from '../db/open.js';
import { actions } from '../db/schema.js';
import { savedByAction } from '../db/savings.js';
import { BadRequest } from '../errors.js';
import { isoInTz } from '../money.js';
import type { App, AppDeps } from './types.js';
import { instanceIdSchema, whoFrom } from './params.js';
import { ACTION_STATES, actionItemSchema, errorResponses, errorSchema, type ActionItem } from './schemas.js';
import { Unavailable } from './unavailable.js';

type ActionRow = typeof actions.$inferSelect;

/** A journal row in the API's shape (`saved` from the savings module). */
export function actionToJson(a: ActionRow, saved: number, tz: string): ActionItem {
  return {
    id: a.id,
    at: isoInTz(a.decidedAt, tz),
    instance_id: a.instanceId,
    instance_name: a.instanceName,
    policy: a.policy,
    action: a.action,
    mode: a.mode === 'enforce' ? 'enforce' : 'dry_run',
    state: (ACTION_STATES as readonly string[]).includes(a.state) ? (a.state as ActionItem['state']) : 'failed',
    reason: a.reason,
    reason_code: parseReasonCode(a.reasonCode) ?? null,
    saved,
    who: a.who,
    detail: a.detail,
  };
}

/** Journal rows in the API's shape, with what each saved as of `now`. */
export function actionsToJson(db: Db, rows: ActionRow[], now: number, tz: string): ActionItem[] {
  const saved = savedByAction(db, rows.map((r) => r.id), now);
  return rows.map((r) => actionToJson(r, saved.get(r.id) ?? 0, tz));
}

/** Encode a page position (decided_at, id) as an opaque cursor. */
export function encodeCursor(at: number, id: number): string {
  return Buffer.from(`${at}.${id}`, 'utf8').toString('base64url');
}

/** Decode a cursor; throws BadRequest on anything that is not one. */
export function decodeCursor(c: string): { at: number; id: number } {
  const m = /^(-?\d{1,16})\.(\d{1,16})$/.exec(Buffer.from(c, 'base64url').toString('utf8'));
  if (!m) throw new BadRequest('query.cursor', 'not a cursor from next_cursor');
  return { at: Number(m[1]), id: Number(m[2]) };
}

const query = z.strictObject({
  instance: instanceIdSchema.optional().describe('only this instance'),
  policy: z.string().min(1).max(64).optional().describe('only this policy'),
  result: z.enum(ACTION_STATES).optional().describe('only this state'),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().max(64).regex(/^[A-Za-z0-9_-]+$/, 'not a cursor from next_cursor').optional().describe('next_cursor of the previous page'),
});

const actNowBody = z.strictObject({
  instance_id: instanceIdSchema,
  action: z.enum(['release_gpu', 'shutdown']).default('release_gpu'),
  reason: z.string().max(500).optional(),
});

/** Registers GET and POST /api/v1/actions. */
export default async function actionsRoutes(app: App, opts: { deps: AppDeps }) {
  const { gdb, clock, config, guard } = opts.deps;
  app.get(
    '/api/v1/actions',
    {
      schema: {
        tags: ['actions'],
        summary: 'The action journal, newest first',
        querystring: query,
        response: { 200: z.object({ actions: z.array(actionItemSchema), next_cursor: z.string().nullable() }), ...errorResponses },
      },
    },
    async (req) => {
      const q = req.query;
      const rows = journalPage(gdb.db, { instanceId: q.instance, policy: q.policy, state: q.result, after: q.cursor ? decodeCursor(q.cursor) : undefined }, q.limit + 1);
      const page = rows.slice(0, q.limit);
      const lastRow = page[page.length - 1];
      return {
        actions: actionsToJson(gdb.db, page, clock.now(), config.timezone),
        next_cursor: rows.length > q.limit && lastRow ? encodeCursor(lastRow.decidedAt, lastRow.id) : null,
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
        response: { 200: z.object({ action_id: z.number(), state: z.string(), reason: z.string() }), 404: errorSchema, 409: errorSchema, 503: errorSchema, ...errorResponses },
      },
    },
    async (req) => {
      if (!guard) throw new Unavailable();
      const who = `api:${whoFrom(req.headers['x-guard-who'])}`;
      return guard.actNow({ instanceId: req.body.instance_id, action: req.body.action, who, reason: req.body.reason });
    },
  );
}
