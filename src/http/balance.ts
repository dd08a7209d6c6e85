/** `GET /api/v1/balance`: the last balance, the burn rate (sum of open interval rates), runway, and history. */
import { z } from 'zod';
import { balanceHistory, lastBalance } from '../db/balance.js';
import { isoInTz, round4 } from '../money.js';
import type { App, AppDeps } from './types.js';
import { burnRate } from '../db/spend.js';
import { rangeQueryFields, resolveRange } from './params.js';
import { errorResponses } from './schemas.js';

const HISTORY_LIMIT = 20_000;

const balanceResponse = z.object({
  balance: z.number().nullable().describe('last observed balance (yuan); null before the first observation'),
  at: z.string().nullable().describe('when it was observed'),
  currency: z.literal('CNY'),
  burn_rate: z.number().describe('yuan per hour billed right now (sum over instances)'),
  runway_hours: z.number().nullable().describe('balance / burn_rate; 0 at or below ¥0; null when nothing burns or the balance is unknown'),
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
      const last = lastBalance(db);
      const burn = burnRate(db);
      const { before, points } = balanceHistory(db, from, to, HISTORY_LIMIT);
      const history = points.map((p) => ({ at: isoInTz(p.at, tz), balance: p.balance }));
      if (before && (points.length === 0 || points[0].at > from)) history.unshift({ at: isoInTz(from, tz), balance: before.balance });
      return {
        balance: last ? last.balance : null,
        at: last ? isoInTz(last.at, tz) : null,
        currency: 'CNY' as const,
        burn_rate: round4(burn),
        // At or below ¥0 nothing is left, whatever burns (the platform destroys containers): 0, never "infinite".
        runway_hours: last && last.balance <= 0 ? 0 : last && burn > 0 ? round4(last.balance / burn) : null,
        history,
      };
    },
  );
}
