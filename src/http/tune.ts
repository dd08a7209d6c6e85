/** `GET /api/v1/tune`: the recorded history replayed under other idle windows (the same answer as `xgc-guard tune --json`). */
import { z } from 'zod';
import { isoInTz } from '../money.js';
import { DEFAULT_TUNE_WINDOWS, parseWindows, tunePolicy, tuneReport } from '../tune.js';
import type { App, AppDeps } from './types.js';
import { rangeQueryFields, resolveRange } from './params.js';
import { errorResponses } from './schemas.js';

/** The default range of a tune answer: the last 30 days. */
const TUNE_RANGE_MS = 30 * 86_400_000;

const tuneResponse = z.object({
  from: z.string(),
  to: z.string(),
  policy: z.string().describe('the idle policy replayed'),
  history_days: z.number().describe('days of recorded probe history within the range'),
  rows: z.array(
    z.object({
      idle_for: z.string(),
      idle_for_s: z.number(),
      saved_yuan: z.number().describe("what the guard's savings report would show with this window: each release counted until the user's next boot (capped at 7 days)"),
      more_than_current_yuan: z
        .number()
        .describe('against the recording: this window saves this much more (negative: less) than the configured one, a release counted only while the GPU was still held'),
      interruptions: z.number().describe('idle stretches longer than the window that ended with the user coming back'),
      median_return_s: z.number().nullable().describe('median time from the release to the return, over the interruptions'),
      current: z.boolean().describe("the policy's configured window"),
    }),
  ),
  recommendation: z.object({
    keep: z.boolean(),
    idle_for: z.string().nullable(),
    idle_for_s: z.number().nullable(),
    saved_more_yuan: z.number().nullable().describe("the recommended window's more_than_current_yuan"),
    interruptions: z.number().nullable(),
  }),
  note: z.string(),
});

/** Registers GET /api/v1/tune. */
export default async function tuneRoutes(app: App, opts: { deps: AppDeps }) {
  const { gdb, clock, config } = opts.deps;
  app.get(
    '/api/v1/tune',
    {
      schema: {
        tags: ['spend'],
        summary: 'What other idle windows would have done: savings and interruptions replayed from the recorded history',
        querystring: z.strictObject({
          ...rangeQueryFields,
          idle_for: z.string().max(500).optional().describe(`comma list of windows; default ${DEFAULT_TUNE_WINDOWS} (the configured one is always added)`),
          policy: z.string().max(200).optional().describe('the idle policy to replay; default: the first idle policy'),
        }),
        response: { 200: tuneResponse, ...errorResponses },
      },
    },
    async (req) => {
      const now = clock.now();
      const tz = config.timezone;
      const { from, to } = resolveRange(req.query, now, tz, TUNE_RANGE_MS);
      const windows = parseWindows(req.query.idle_for ?? DEFAULT_TUNE_WINDOWS, 'query.idle_for');
      const policy = tunePolicy(config, req.query.policy, 'query.policy');
      const r = tuneReport(gdb.db, config, { from, to, now, windows, policy });
      return { ...r, from: isoInTz(r.from, tz), to: isoInTz(r.to, tz) };
    },
  );
}
