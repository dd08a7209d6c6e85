/** `GET /api/v1/events`: recent notification events (alerts, warnings, actions) from the outbox, newest first. */
import { z } from 'zod';
import { recentEvents } from '../db/events.js';
import { isoInTz } from '../money.js';
import { eventInstance, readEvent, render } from '../notify/index.js';
import type { App, AppDeps } from './types.js';
import { errorResponses } from './schemas.js';

const eventItem = z.object({ id: z.number().int(), at: z.string(), type: z.string(), reason: z.string(), summary: z.string(), instance: z.string().nullable() });

/** Registers GET /api/v1/events. */
export default async function eventsRoutes(app: App, opts: { deps: AppDeps }) {
  const { gdb, config } = opts.deps;
  const tz = config.timezone;
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
      const rows = recentEvents(gdb.db, req.query);
      return {
        events: rows.map((e) => {
          const ev = readEvent(e.payload, e);
          const inst = eventInstance(ev);
          return { id: e.id, at: isoInTz(e.createdAt, tz), type: e.type, reason: e.reason, summary: render(ev, { locale: config.locale, timezone: tz }).subject, instance: inst?.name ?? null };
        }),
      };
    },
  );
}
