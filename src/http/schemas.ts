/** Response schemas shared by several routes (the error body, a journal row, an override). */
import { z } from 'zod';

/** The API's one error shape. */
export const errorSchema = z
  .object({ error: z.object({ code: z.string(), message: z.string() }) })
  .describe('Error: { error: { code, message } }');

/** Error responses every /api route may answer with. */
export const errorResponses = {
  400: errorSchema,
  401: errorSchema,
  403: errorSchema,
  429: errorSchema,
} as const;

/** A reason as a code with parameters (src/notify/reasons.ts), for clients that render it in their own locale. */
export interface ReasonCodeJson {
  code: string;
  params: Record<string, string | number>;
  details?: ReasonCodeJson[];
}
export const reasonCodeSchema: z.ZodType<ReasonCodeJson> = z
  .object({
    code: z.string(),
    params: z.record(z.string(), z.union([z.string(), z.number()])),
    get details() {
      return z.array(reasonCodeSchema).optional();
    },
  })
  .describe('reason code and parameters; render with the catalog served at /assets/reasons.js');

/** Action journal states. */
export const ACTION_STATES = ['decided', 'sent', 'confirmed', 'failed', 'aborted', 'deferred'] as const;

/** One journal row as the API shows it. */
export const actionItemSchema = z.object({
  id: z.number().int(),
  at: z.string().describe('when it was decided (ISO 8601)'),
  instance_id: z.string(),
  instance_name: z.string(),
  policy: z.string(),
  action: z.string().describe('release_gpu | shutdown | destroy | notify | boot (a wake)'),
  mode: z.enum(['enforce', 'dry_run']),
  state: z.enum(ACTION_STATES),
  reason: z.string(),
  reason_code: reasonCodeSchema.nullable(),
  saved: z.number().describe('yuan saved so far by this action'),
  who: z.string(),
  detail: z.string().nullable(),
});
/** A journal row as the API shows it (type). */
export type ActionItem = z.output<typeof actionItemSchema>;

/** An override as the API shows it. */
export const overrideSchema = z.object({
  id: z.number().int(),
  target: z.union([z.object({ instance_id: z.string() }), z.object({ name: z.string().describe('instance name glob') })]),
  kind: z.enum(['snooze', 'exempt']),
  policies: z.array(z.string()).nullable().describe('policy names; null = all policies'),
  until: z.string().nullable(),
  forever: z.boolean(),
  who: z.string(),
  reason: z.string(),
  created_at: z.string().nullable().describe('null only for an invalid row'),
  revoked_at: z.string().nullable(),
  state: z.enum(['active', 'expired', 'revoked', 'invalid']).describe('invalid: the stored row cannot be used (see problem); never in force'),
  problem: z.string().optional().describe('why the row is invalid'),
});
