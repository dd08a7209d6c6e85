/**
 * Guard events as a discriminated union keyed by `type`, each with its own typed `data`. One zod schema per
 * event type gives the TypeScript type raisers build and the parser that reads outbox rows back: a row of an
 * old or unknown shape becomes an `OpaqueEvent` (rendered as a generic message), never a crash.
 * Data holds non-secret facts only: money in yuan, times as epoch ms, durations in ms.
 */
import { z } from 'zod';

/** An optional figure computed by arithmetic (JSON turns Infinity and NaN into null). */
const figure = z.number().nullable();

/** The instance an event is about (facts only, never credentials). */
const instanceRef = z.object({
  id: z.string(),
  name: z.string(),
  gpu_model: z.string().optional(),
  gpu_count: z.number().optional(),
  price_per_hour: z.number().optional(),
});

/** A reason as a code and parameters (rendered through `reasons.ts`); `details` are probe reasons. */
type ReasonCodeShape = { code: string; params: Record<string, string | number>; details?: ReasonCodeShape[] };
const reasonCode: z.ZodType<ReasonCodeShape> = z.lazy(() =>
  z.object({ code: z.string(), params: z.record(z.string(), z.union([z.string(), z.number()])), details: z.array(reasonCode).optional() }),
);

/** The reason text (English) and, when the raiser has one, its code for rendering in the message's locale. */
const reasoned = { reason: z.string().optional(), reason_code: reasonCode.optional() };

/** When the alert that a resolved notice clears started firing (added by `resolve`). */
const clears = { firing_since: z.number().optional() };

const actionBase = z.object({
  instance: instanceRef,
  policy: z.string(),
  /** an action kind (`release_gpu`, `shutdown`, `destroy`, `notify`, `boot`) */
  action: z.string(),
  ...reasoned,
  /** ¥/h the action stops billing (absent when it saves nothing, e.g. `shutdown` keeps the GPU billed) */
  saving_per_hour: z.number().optional(),
  /** who asked: `policy`, `api`, a user name */
  who: z.string().optional(),
});

const actionDone = actionBase.extend({ mode: z.enum(['enforce', 'dry_run']), at: z.number() });

/** The balance model (src/money.ts `balanceFigures`): `balance` as observed at `observed_at`, and ≈ now `estimate`. */
const balanceModel = { balance: figure, observed_at: figure.optional(), estimate: figure.optional() };

const runwayBase = z.object({
  policy: z.string().optional(),
  ...balanceModel,
  burn_per_hour: figure.optional(),
  hours_left: figure.optional(),
  empty_at: figure.optional(),
  ...reasoned,
  ...clears,
});

const digestData = z.object({
  day: z.string(),
  estimated: z.number(),
  observed: z.number(),
  saved: z.number(),
  recharged: z.number().optional(),
  balance: figure,
  runway_hours: figure,
  top_instances: z.array(z.object({ id: z.string(), name: z.string(), gpu_model: z.string().optional(), estimated: z.number(), hours: z.number().optional() })),
  actions: z.number().optional(),
});

/** The data schema of every event type (the single source of `EventType`). */
export const EVENT_DATA = {
  /** a warning: `action` will run at `planned_at` unless snoozed */
  action_planned: actionBase.extend({ planned_at: z.number() }),
  /** an action was sent (or, in dry run, would have been) */
  action_taken: actionDone,
  /** the cloud refused or failed the action (`error`); the instance may still bill */
  action_failed: actionDone.extend({ error: z.string() }),
  /** a rail stopped the action right before acting (`error` says which) */
  action_aborted: actionDone.extend({ error: z.string() }),
  /** the balance is below `threshold` */
  balance_low: z.object({
    policy: z.string().optional(),
    ...balanceModel,
    threshold: z.number(),
    burn_per_hour: figure.optional(),
    hours_left: figure.optional(),
    /** yuan to top up so the balance lasts `top_up_hours` at the current burn */
    top_up: figure.optional(),
    top_up_hours: z.number().optional(),
    ...reasoned,
    ...clears,
  }),
  /** runway under `warn_hours` */
  runway_warn: runwayBase,
  /** runway under `act_hours`: the guard releases `instance` */
  runway_act: runwayBase.extend({ instance: instanceRef.optional() }),
  /** runway short and what still burns is protected: the platform will destroy `instances` at ¥0 */
  runway_critical: runwayBase.extend({
    instances: z.array(instanceRef.extend({ status: z.string().optional() })),
    /** yuan to top up (to last `top_up_hours` at the current burn) */
    top_up: figure,
    top_up_hours: z.number().optional(),
    /** when the guard releases the protected instances (null: `last_resort: off`) */
    last_resort_at: figure.optional(),
  }),
  /** instances vanished or turned destroyed while the balance was at or below ¥0 */
  instances_destroyed: z.object({
    balance: figure,
    instances: z.array(instanceRef.extend({ last_status: z.string(), last_seen_at: z.number().optional() })),
    ...clears,
  }),
  /** estimated spend over a day's or month's limit */
  budget_exceeded: z.object({ policy: z.string().optional(), period: z.enum(['day', 'month']), spent: z.number(), limit: z.number(), ...reasoned }),
  /** the cloud API failed `ticks` times in a row */
  guard_blind: z.object({ ticks: z.number(), since: z.number().optional(), error: z.string().optional(), reason: z.string().optional(), ...clears }),
  /** the cloud API answers again */
  guard_recovered: z.object({ ticks: z.number().optional(), since: z.number().optional(), error: z.string().optional(), ...clears }),
  /** a woken instance runs (`gpu_count: 0`: data-only boot); `web_url` carries no token */
  wake_done: z.object({
    instance: instanceRef,
    gpu_model: z.string().optional(),
    gpu_count: z.number(),
    waited_ms: z.number(),
    tries: z.number(),
    web_url: z.string().optional(),
    policy: z.string().optional(),
    who: z.string().optional(),
  }),
  /** a wake gave up after `waited_ms` (`error` says why) */
  wake_failed: z.object({
    instance: instanceRef,
    gpu_models: z.array(z.string()),
    gpu_count: z.number(),
    waited_ms: z.number(),
    tries: z.number(),
    error: z.string(),
    policy: z.string().optional(),
    who: z.string().optional(),
  }),
  /** yesterday's spend, savings, balance and top instances */
  daily_digest: digestData,
} as const;

/** Every kind of notification the guard sends. */
export type EventType = keyof typeof EVENT_DATA;

/** All event types, in a stable order (for validation and docs). */
export const EVENT_TYPES = Object.keys(EVENT_DATA) as readonly EventType[];

/** The data of one event type. */
export type EventData<T extends EventType> = z.infer<(typeof EVENT_DATA)[T]>;

/** A reason code as events carry it (see `reasons.ts`). */
export type EventReasonCode = ReasonCodeShape;

/** Routing and dedup fields every event has. */
export interface EventEnvelope {
  /** Identity of the alert across ticks, e.g. `balance_low:low-balance`. */
  dedupKey: string;
  /** What makes two firings "the same" (e.g. the threshold crossed, the planned time); differs -> `changed`. */
  fingerprint?: string;
  status?: 'firing' | 'resolved';
  /** Channel names to route to; default all configured channels. */
  channels?: string[];
}

/** One notification as raised by a policy, the executor or a job: a union keyed by `type`. */
export type GuardEvent = { [T in EventType]: EventEnvelope & { type: T; data: EventData<T> } }[EventType];

/** The event of one type. */
export type EventOf<T extends EventType> = Extract<GuardEvent, { type: T }>;

/** What `resolve` may merge into the last firing event's data. */
export type ResolveData = { [T in EventType]: Partial<EventData<T>> }[EventType];

/** The facts of the daily digest (computed by the digest job). */
export type DigestData = EventData<'daily_digest'>;

/** A stored event whose payload fits no current shape (an older version's, or corrupt): shown generically. */
export interface OpaqueEvent extends EventEnvelope {
  opaque: true;
  type: string;
  data: Record<string, unknown>;
}

/** How loud an event is: critical ones can cost disks, warnings cost money, info is a report. */
export type Severity = 'info' | 'warning' | 'critical';

/** The severity of each event type. */
export const EVENT_SEVERITY: Record<EventType, Severity> = {
  action_planned: 'warning',
  action_taken: 'info',
  action_failed: 'warning',
  action_aborted: 'info',
  balance_low: 'warning',
  runway_warn: 'warning',
  runway_act: 'warning',
  runway_critical: 'critical',
  instances_destroyed: 'critical',
  budget_exceeded: 'warning',
  guard_blind: 'warning',
  guard_recovered: 'info',
  wake_done: 'info',
  wake_failed: 'warning',
  daily_digest: 'info',
};

/** Whether `e` is a stored event of an unreadable shape. */
export function isOpaque(e: GuardEvent | OpaqueEvent): e is OpaqueEvent {
  return 'opaque' in e && e.opaque === true;
}

function isEventType(t: unknown): t is EventType {
  return typeof t === 'string' && Object.hasOwn(EVENT_DATA, t);
}

const envelopeSchema = z.object({
  dedupKey: z.string().optional(),
  fingerprint: z.string().optional(),
  status: z.enum(['firing', 'resolved']).optional(),
  channels: z.array(z.string()).optional(),
});

/**
 * Read an outbox payload (JSON text) back into a typed event. `row` gives the type and dedup key stored in
 * their own columns. Anything that does not parse (bad JSON, an unknown type, data of another shape) comes
 * back as an `OpaqueEvent` with whatever could be read.
 */
export function readEvent(payload: string, row: { type: string; dedupKey: string }): GuardEvent | OpaqueEvent {
  let raw: unknown;
  try {
    raw = JSON.parse(payload);
  } catch {
    raw = undefined;
  }
  const obj = raw && typeof raw === 'object' && !Array.isArray(raw) ? (raw as Record<string, unknown>) : {};
  const env = envelopeSchema.safeParse(obj);
  const envelope: EventEnvelope = env.success
    ? { dedupKey: env.data.dedupKey ?? row.dedupKey, fingerprint: env.data.fingerprint, status: env.data.status, channels: env.data.channels }
    : { dedupKey: row.dedupKey };
  const type = row.type;
  const rawData = obj.data && typeof obj.data === 'object' && !Array.isArray(obj.data) ? (obj.data as Record<string, unknown>) : {};
  if (isEventType(type)) {
    const data = EVENT_DATA[type].safeParse(rawData);
    if (data.success) return { ...envelope, type, data: data.data } as GuardEvent;
  }
  return { ...envelope, opaque: true, type, data: rawData };
}

/** The instance an event is about, if it has one. */
export function eventInstance(e: GuardEvent | OpaqueEvent): { id: string; name: string } | undefined {
  if (isOpaque(e)) return undefined;
  return 'instance' in e.data && e.data.instance ? e.data.instance : undefined;
}

/** The reason text an event carries, if its type has one (for logs and the `plan` command). */
export function eventReason(e: GuardEvent | OpaqueEvent): string | undefined {
  if (isOpaque(e)) return undefined;
  return 'reason' in e.data && typeof e.data.reason === 'string' ? e.data.reason : undefined;
}
