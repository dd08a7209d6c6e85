/**
 * The guard's SQLite schema (drizzle). All times are epoch milliseconds (UTC); money is yuan (REAL).
 * No column ever holds an instance secret (password, ssh_key, jupyter_token, xgcos_token) or an API token.
 * Committed migrations in `migrations/` are generated from this file by `npm run db:generate`.
 */
import { sqliteTable, text, integer, real, index, uniqueIndex, primaryKey } from 'drizzle-orm/sqlite-core';

/** Latest non-secret facts per instance, upserted by each successful tick. */
export const instances = sqliteTable(
  'instances',
  {
    id: text('id').primaryKey(),
    name: text('name').notNull().default(''),
    status: text('status').notNull(),
    statusKnown: integer('status_known', { mode: 'boolean' }).notNull().default(true),
    gpuModel: text('gpu_model').notNull().default(''),
    gpuCount: integer('gpu_count').notNull().default(0),
    pricePerHour: real('price_per_hour').notNull().default(0),
    retainPrice: real('retain_price').notNull().default(0),
    image: text('image').notNull().default(''),
    dataCenter: text('data_center').notNull().default(''),
    webUrl: text('web_url').notNull().default(''),
    createdTs: integer('created_ts'),
    startTs: integer('start_ts'),
    stopTs: integer('stop_ts'),
    firstSeen: integer('first_seen').notNull(),
    lastSeen: integer('last_seen').notNull(),
    goneAt: integer('gone_at'),
    /** start of the current continuous GPU-holding (billed) stretch, null when no GPU is held */
    billedSince: integer('billed_since'),
    /** start of the current `running` stretch, null when not running */
    runningSince: integer('running_since'),
    /** the platform's own auto-shutdown setting (`auto_shutdown`, 0 = off), null when the API does not say */
    autoShutdown: integer('auto_shutdown'),
    /** `auto_shutdown_action` as the API gives it, null when it does not say */
    autoShutdownAction: integer('auto_shutdown_action'),
  },
  // instances alive at an instant (spend queries find the interval each one was in, without scanning history)
  (t) => [index('instances_gone').on(t.goneAt)],
);

/**
 * Status intervals: one row per stretch of constant billable state. Open rows have `to` = null.
 * Estimated spend over [a,b) = sum(rate/3600000 * overlap(a,b,from,to)).
 */
export const intervals = sqliteTable(
  'intervals',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    instanceId: text('instance_id').notNull(),
    status: text('status').notNull(),
    gpuKept: integer('gpu_kept', { mode: 'boolean' }).notNull(),
    gpuCount: integer('gpu_count').notNull().default(0),
    rate: real('rate').notNull(),
    from: integer('from_ts').notNull(),
    to: integer('to_ts'),
  },
  (t) => [
    index('intervals_instance_from').on(t.instanceId, t.from),
    index('intervals_from_to').on(t.from, t.to),
    // open intervals (to_ts is null) and ranges bounded from below (to_ts > from) without scanning history
    index('intervals_to').on(t.to, t.instanceId),
  ],
);

/** Balance points, stored only when the balance changed (plus the first one). */
export const balancePoints = sqliteTable(
  'balance_points',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    at: integer('at').notNull(),
    balance: real('balance').notNull(),
  },
  (t) => [index('balance_points_at').on(t.at)],
);

/** One row per tick attempt (pruned after db.retain_raw). */
export const ticks = sqliteTable(
  'ticks',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    at: integer('at').notNull(),
    durationMs: integer('duration_ms').notNull().default(0),
    apiCalls: integer('api_calls').notNull().default(0),
    outcome: text('outcome').notNull(), // ok | blind | skipped
    errorClass: text('error_class'),
    instanceCount: integer('instance_count'),
    decisions: integer('decisions').notNull().default(0),
  },
  (t) => [index('ticks_at').on(t.at)],
);

/** The action journal: every decision, the request sent and its result. */
export const actions = sqliteTable(
  'actions',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    decisionKey: text('decision_key').notNull(),
    decidedAt: integer('decided_at').notNull(),
    instanceId: text('instance_id').notNull(),
    instanceName: text('instance_name').notNull().default(''),
    policy: text('policy').notNull(),
    action: text('action').notNull(), // release_gpu | shutdown | destroy | notify
    mode: text('mode').notNull(), // enforce | dry_run
    state: text('state').notNull(), // decided | sent | confirmed | failed | aborted | deferred
    who: text('who').notNull().default('policy'),
    reason: text('reason').notNull().default(''),
    /** the reason as a code with parameters (JSON), rendered in each reader's locale */
    reasonCode: text('reason_code'),
    statusAtDecision: text('status_at_decision'),
    expectedStatus: text('expected_status'),
    rate: real('rate').notNull().default(0),
    retainRate: real('retain_rate').notNull().default(0),
    sentAt: integer('sent_at'),
    responseCode: integer('response_code'),
    responseMsg: text('response_msg'),
    finishedAt: integer('finished_at'),
    detail: text('detail'),
    /** when the GPU stopped billing after this release/destroy (the API's stop_timestamp or the tick that saw it); savings start here */
    stoppedAt: integer('stopped_at'),
    /** when the GPU was billed again after this release (the boot's start_timestamp or the tick that saw it); savings end here */
    rebootedAt: integer('rebooted_at'),
  },
  (t) => [
    uniqueIndex('actions_decision_key').on(t.decisionKey),
    index('actions_instance').on(t.instanceId, t.decidedAt),
    index('actions_decided').on(t.decidedAt),
    // follow-ups each tick (sent rows), the per-hour limit, savings and cooldowns, without scanning history
    index('actions_state_sent').on(t.state, t.sentAt),
    index('actions_sent').on(t.sentAt),
    index('actions_rebooted').on(t.rebootedAt),
  ],
);

/** Exemptions and snoozes. Revoked rows are kept. */
export const overrides = sqliteTable(
  'overrides',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    instanceId: text('instance_id'),
    nameGlob: text('name_glob'),
    kind: text('kind').notNull(), // exempt | snooze
    policies: text('policies'), // JSON array of policy names, null = all
    until: integer('until'),
    forever: integer('forever', { mode: 'boolean' }).notNull().default(false),
    who: text('who').notNull().default('api'),
    reason: text('reason').notNull().default(''),
    createdAt: integer('created_at').notNull(),
    revokedAt: integer('revoked_at'),
  },
  (t) => [index('overrides_active').on(t.revokedAt, t.until)],
);

/** Last answer of each probe per instance (never secrets). */
export const probeState = sqliteTable(
  'probe_state',
  {
    instanceId: text('instance_id').notNull(),
    probe: text('probe').notNull(),
    verdict: text('verdict').notNull(), // busy | idle | unknown
    since: integer('since').notNull(),
    detail: text('detail').notNull().default(''),
    /** the detail as a code with parameters (JSON), rendered in each reader's locale */
    detailCode: text('detail_code'),
    metrics: text('metrics'), // JSON
    checkedAt: integer('checked_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.instanceId, t.probe] })],
);

/**
 * A probe's history: a row when its verdict changed, and when an idle answer's own start (`since`) moved while it
 * stayed idle (the idle stretch restarted). `since` is what probe_state held from `at` on (null in rows recorded
 * before it was kept); `xgc-guard tune` replays the idle stretches from it.
 */
export const probeChanges = sqliteTable(
  'probe_changes',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    instanceId: text('instance_id').notNull(),
    probe: text('probe').notNull(),
    verdict: text('verdict').notNull(),
    at: integer('at').notNull(),
    detail: text('detail').notNull().default(''),
    detailCode: text('detail_code'),
    since: integer('since'),
  },
  (t) => [index('probe_changes_instance').on(t.instanceId, t.at), index('probe_changes_at').on(t.at)],
);

/** Pushed heartbeats (the heartbeat probe reads the latest per instance). */
export const heartbeats = sqliteTable('heartbeats', {
  instanceId: text('instance_id').primaryKey(),
  at: integer('at').notNull(),
  gpuUtil: real('gpu_util'),
  busy: integer('busy', { mode: 'boolean' }),
});

/** Small per-policy state (last schedule occurrence fired, balance thresholds armed, ...). */
export const policyState = sqliteTable(
  'policy_state',
  {
    policy: text('policy').notNull(),
    key: text('key').notNull(),
    value: text('value').notNull(), // JSON
    updatedAt: integer('updated_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.policy, t.key] })],
);

/** Notification events, written in the same transaction as what raised them. */
export const outboxEvents = sqliteTable(
  'outbox_events',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    type: text('type').notNull(),
    dedupKey: text('dedup_key').notNull(),
    reason: text('reason').notNull(), // first | changed | repeat | resolved
    payload: text('payload').notNull(), // JSON, no secrets
    createdAt: integer('created_at').notNull(),
  },
  (t) => [index('outbox_events_created').on(t.createdAt)],
);

/** One delivery per event per channel; `sentAt` is the sent marker. */
export const outboxDeliveries = sqliteTable(
  'outbox_deliveries',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    eventId: integer('event_id')
      .notNull()
      .references(() => outboxEvents.id, { onDelete: 'cascade' }),
    channel: text('channel').notNull(),
    state: text('state').notNull(), // pending | sent | dead
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: integer('next_attempt_at').notNull(),
    sentAt: integer('sent_at'),
    lastError: text('last_error'),
  },
  (t) => [uniqueIndex('outbox_deliveries_event_channel').on(t.eventId, t.channel), index('outbox_deliveries_due').on(t.state, t.nextAttemptAt)],
);

/** Dedup state per alert key: what was last notified and when. */
export const alertState = sqliteTable('alert_state', {
  dedupKey: text('dedup_key').primaryKey(),
  type: text('type').notNull(),
  status: text('status').notNull(), // firing | resolved
  fingerprint: text('fingerprint').notNull().default(''),
  firstAt: integer('first_at').notNull(),
  lastSentAt: integer('last_sent_at').notNull(),
  /** the latest firing observation of the condition (event payload JSON, secrets scrubbed): the figure now */
  latest: text('latest'),
});

/** Single-writer lease: only the holder ticks and acts. */
export const leases = sqliteTable('leases', {
  name: text('name').primaryKey(),
  holder: text('holder').notNull(),
  host: text('host').notNull(),
  pid: integer('pid').notNull(),
  expiresAt: integer('expires_at').notNull(),
});

/** SSH host keys trusted on first use, keyed by "host:port". */
export const sshHostKeys = sqliteTable('ssh_host_keys', {
  hostPort: text('host_port').primaryKey(),
  fingerprint: text('fingerprint').notNull(),
  firstSeen: integer('first_seen').notNull(),
});

/** Snooze-link tokens already used (by their id), so a link works once. */
export const usedLinks = sqliteTable('used_links', {
  linkId: text('link_id').primaryKey(),
  usedAt: integer('used_at').notNull(),
});

/** Process-wide key/value settings (e.g. the generated link-signing secret). */
export const meta = sqliteTable('meta', {
  key: text('key').primaryKey(),
  value: text('value').notNull(),
});

/**
 * Spend rollup, kept by the rollup job (src/jobs/rollup.ts), never by a query: whole days (in a time zone) that
 * ended before the last successful tick can no longer change (history is written at tick times, and API times are
 * only accepted after the previous observation), so their sums are stored once. A `spend_days` row marks its day
 * as rolled up and holds the day's totals (estimated, saved, observed balance decreases, recharges).
 */
export const spendDays = sqliteTable(
  'spend_days',
  {
    tz: text('tz').notNull(),
    dayStart: integer('day_start').notNull(),
    estimated: real('estimated').notNull(),
    saved: real('saved').notNull(),
    observed: real('observed').notNull(),
    recharged: real('recharged').notNull(),
  },
  (t) => [primaryKey({ columns: [t.tz, t.dayStart] })],
);

/** Estimated and saved yuan per instance of each rolled-up day (only non-zero cells). */
export const spendDayCells = sqliteTable(
  'spend_day_cells',
  {
    tz: text('tz').notNull(),
    dayStart: integer('day_start').notNull(),
    instanceId: text('instance_id').notNull(),
    estimated: real('estimated').notNull(),
    saved: real('saved').notNull(),
  },
  (t) => [primaryKey({ columns: [t.tz, t.dayStart, t.instanceId] })],
);

/** Months whose cells sum the rolled-up days [month_start, through) (the current month too, up to its last closed day). */
export const spendMonths = sqliteTable(
  'spend_months',
  {
    tz: text('tz').notNull(),
    monthStart: integer('month_start').notNull(),
    through: integer('through').notNull(),
  },
  (t) => [primaryKey({ columns: [t.tz, t.monthStart] })],
);

/** Estimated and saved yuan per instance over a month's rolled-up days (for long by-instance reports). */
export const spendMonthCells = sqliteTable(
  'spend_month_cells',
  {
    tz: text('tz').notNull(),
    monthStart: integer('month_start').notNull(),
    instanceId: text('instance_id').notNull(),
    estimated: real('estimated').notNull(),
    saved: real('saved').notNull(),
  },
  (t) => [primaryKey({ columns: [t.tz, t.monthStart, t.instanceId] })],
);

/**
 * Per instance, the sum of all its rolled-up day cells and the first and last such day: a long by-instance report
 * reads one row per instance whose days all fall in its range, instead of a row per instance and month.
 */
export const spendLives = sqliteTable(
  'spend_lives',
  {
    tz: text('tz').notNull(),
    instanceId: text('instance_id').notNull(),
    firstDay: integer('first_day').notNull(),
    lastDay: integer('last_day').notNull(),
    estimated: real('estimated').notNull(),
    saved: real('saved').notNull(),
  },
  (t) => [primaryKey({ columns: [t.tz, t.instanceId] })],
);

/**
 * Wakes (src/wake/): one row per wake request, keyed by its journal row in `actions` (action `boot`), holding the
 * retry state. Every boot request it sends is a row of `wake_tries`, written before the request goes out.
 */
export const wakes = sqliteTable(
  'wakes',
  {
    actionId: integer('action_id').primaryKey(),
    instanceId: text('instance_id').notNull(),
    instanceName: text('instance_name').notNull().default(''),
    policy: text('policy').notNull(),
    who: text('who').notNull(),
    mode: text('mode').notNull(), // enforce | dry_run
    /** JSON array of full model names to try in order ([]: boot as before, GPU kept) */
    gpuModels: text('gpu_models').notNull(),
    gpuCount: integer('gpu_count').notNull(),
    requestedAt: integer('requested_at').notNull(),
    giveUpAt: integer('give_up_at').notNull(),
    state: text('state').notNull(), // waiting | booting | done | gave_up | refused
    tries: integer('tries').notNull().default(0),
    /** completed retry rounds (every model short): the backoff doubles with each */
    rounds: integer('rounds').notNull().default(0),
    nextTryAt: integer('next_try_at'),
    /** index into gpu_models of the next try */
    nextModel: integer('next_model').notNull().default(0),
    bootedModel: text('booted_model'),
    bootedAt: integer('booted_at'),
    finishedAt: integer('finished_at'),
    detail: text('detail'),
  },
  (t) => [index('wakes_instance').on(t.instanceId, t.requestedAt), index('wakes_state').on(t.state)],
);

/** Every boot request a wake sent (or was about to send: `sending` until its answer is journaled). */
export const wakeTries = sqliteTable(
  'wake_tries',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    actionId: integer('action_id').notNull(),
    n: integer('n').notNull(),
    at: integer('at').notNull(),
    gpuModel: text('gpu_model'),
    gpuCount: integer('gpu_count'),
    outcome: text('outcome').notNull(), // sending | sent | shortage | failed | interrupted
    detail: text('detail'),
  },
  (t) => [index('wake_tries_action').on(t.actionId, t.n)],
);
