/**
 * `GET /api/v1/balance`: the balance model (the observed balance with its time, and ≈ now, the estimate without
 * what accrued since the platform's last debit), the burn rate (sum of open interval rates), runway, and history.
 */
import { z } from 'zod';
import { balanceHistory, balanceNow } from '../db/balance.js';
import { isoInTz, round4 } from '../money.js';
import type { App, AppDeps } from './types.js';
import { rangeQueryFields, resolveRange } from './params.js';
import { errorResponses } from './schemas.js';

const HISTORY_LIMIT = 20_000;

const balanceResponse = z.object({
  balance: z.number().nullable().describe('last observed balance (yuan); null before the first observation'),
  at: z.string().nullable().describe('when it was observed'),
  estimated_now: z.number().nullable().describe('≈ now, an estimate: the balance less what accrued since the platform last debited (it debits hourly, in arrears)'),
  currency: z.literal('CNY'),
  burn_rate: z.number().describe('yuan per hour billed right now (sum over instances)'),
  runway_hours: z.number().nullable().describe('estimated_now / burn_rate (as the runway policy reckons); 0 at or below ¥0; null when nothing burns or the balance is unknown'),
  history: z
    .array(z.object({ at: z.string(), balance: z.number() }))
    .describe('balance changes in [from, to); the first entry carries the balance known at `from`'),
});

/** Registers GET /api/v1/balance. */
export default async function balanceRoutes(app: App, opts: { deps: AppDeps }) {
  const { gdb, clock, config } = opts.deps;
  const tz = config.timezone;
  app.get(
    '/api/v1/balance',
    {
      schema: {
        tags: ['balance'],
        summary: 'Balance, burn rate, runway and balance history',
        querystring: z.strictObject(rangeQueryFields),
        response: { 200: balanceResponse, ...errorResponses },
      },
    },
    async (req) => {
      const now = clock.now();
      const { from, to } = resolveRange(req.query, now, tz);
      const db = gdb.db;
      const fig = balanceNow(db, now);
      const { before, points } = balanceHistory(db, from, to, HISTORY_LIMIT);
      const history = points.map((p) => ({ at: isoInTz(p.at, tz), balance: p.balance }));
      if (before && (points.length === 0 || points[0].at > from)) history.unshift({ at: isoInTz(from, tz), balance: before.balance });
      return {
        balance: fig ? fig.observed : null,
        at: fig ? isoInTz(fig.observedAt, tz) : null,
        estimated_now: fig ? fig.estimate : null,
        currency: 'CNY' as const,
        burn_rate: round4(fig?.burn ?? 0),
        // At or below ¥0 nothing is left, whatever burns (the platform destroys containers): 0, never "infinite".
        runway_hours: fig && Number.isFinite(fig.runwayHours) ? round4(fig.runwayHours) : null,
        history,
      };
    },
  );
}
