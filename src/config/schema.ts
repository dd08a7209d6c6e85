/**
 * The whole config file as one strict zod schema: types are inferred from it, defaults live in it.
 * Durations become milliseconds. Unknown keys are errors naming their path.
 */
import { z } from 'zod';
import { MAX_DURATION_MS, parseDuration } from './duration.js';
import { notifyConfigSchema } from '../notify/config.js';

/** A duration string (`30s 45m 2h 1d`) parsed to ms, at most MAX_DURATION_MS (3650d). */
export const duration = z
  .string({ error: 'expected a duration such as 30s, 45m, 2h or 1d' })
  .transform((s, ctx) => {
    const ms = parseDuration(s);
    if (ms === null) {
      ctx.addIssue({ code: 'custom', message: `bad duration "${s}": expected a duration such as 30s, 45m, 2h or 1d` });
      return z.NEVER;
    }
    if (ms > MAX_DURATION_MS) {
      ctx.addIssue({ code: 'custom', message: `bad duration "${s}": at most 3650d` });
      return z.NEVER;
    }
    return ms;
  });

const oneOrMany = <T extends z.ZodTypeAny>(t: T) => z.union([t, z.array(t)]).transform((v) => (Array.isArray(v) ? v : [v]) as z.output<T>[]);

/** Instance selector: id, name glob, gpu model; each one value or a list. */
export const selectorSchema = z.strictObject({
  id: oneOrMany(z.string()).optional(),
  name: oneOrMany(z.string()).optional(),
  gpu_model: oneOrMany(z.string()).optional(),
});
export type Selector = z.output<typeof selectorSchema>;

/** The spend group of instances no configured group matches (reserved: no group may take the name). */
export const OTHER_GROUP = 'other';

/** A spend group: instances its `match` selects (the first matching group wins; the rest are "other"). */
export const groupSchema = z.strictObject({
  name: z.string().trim().min(1, 'expected a non-empty group name'),
  match: selectorSchema,
});
export type GroupConfig = z.output<typeof groupSchema>;

export const ACTIONS = ['release_gpu', 'shutdown', 'destroy', 'notify', 'boot'] as const;
export type ActionKind = (typeof ACTIONS)[number];
const anyAction = z.enum(ACTIONS, { error: `expected one of ${ACTIONS.join(', ')}` });
/** The action of every policy type but `schedule`: `boot` (a wake) only comes from a schedule. */
const action = anyAction.refine((a) => a !== 'boot', { message: 'boot is only valid for schedule policies (type: schedule, a scheduled wake)' });

const policyCommon = {
  name: z.string().min(1).regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, "-", "_" and "." only'),
  match: selectorSchema.optional(),
  exclude: selectorSchema.optional(),
  dry_run: z.boolean().optional(),
  channels: z.array(z.string()).optional(),
  warn_before: duration.optional(),
  confirm_destroy: z.boolean().default(false),
};

export const idlePolicySchema = z.strictObject({
  ...policyCommon,
  type: z.literal('idle'),
  idle_for: duration,
  min_uptime: duration.default(600_000),
  probes: z.array(z.string()).optional(),
  action: action.default('release_gpu'),
});
/** Full GPU model names as boot wants them (`NVIDIA GeForce RTX 4090 D`); short ones (`RTX 4090 D`) are completed. */
export const gpuModelsSchema = z.array(z.string().trim().min(1).max(64)).min(1).max(8);
/** GPUs to boot with: 0 boots without a GPU (data only), up to 8. */
export const gpuCountSchema = z.number({ error: 'expected an integer 0-8' }).int('expected an integer 0-8').min(0, 'expected an integer 0-8').max(8, 'expected an integer 0-8');

export const schedulePolicySchema = z
  .strictObject({
    ...policyCommon,
    type: z.literal('schedule'),
    cron: z.string().min(1),
    timezone: z.string().optional(),
    catch_up: duration.default(3_600_000),
    action: anyAction.default('release_gpu'),
    /** boot only: models to try in order (default: the instance's own) */
    gpu_models: gpuModelsSchema.optional(),
    /** boot only: GPUs to boot with (default: as before the release) */
    gpu_count: gpuCountSchema.optional(),
    /** boot only: stop retrying a GPU shortage after this long (default `wake.give_up_after`) */
    give_up_after: duration.optional(),
  })
  .superRefine((p, ctx) => {
    if (p.action === 'boot') return;
    for (const k of ['gpu_models', 'gpu_count', 'give_up_after'] as const) {
      if (p[k] !== undefined) ctx.addIssue({ code: 'custom', path: [k], message: `only valid with action: boot` });
    }
  });
export const maxRuntimePolicySchema = z.strictObject({
  ...policyCommon,
  type: z.literal('max_runtime'),
  max: duration,
  action: action.default('release_gpu'),
});
export const stoppedWithGpuPolicySchema = z.strictObject({
  ...policyCommon,
  type: z.literal('stopped_with_gpu'),
  after: duration.default(1_800_000),
  action: action.default('release_gpu'),
});
export const balancePolicySchema = z.strictObject({
  ...policyCommon,
  type: z.literal('balance'),
  below: oneOrMany(z.number().nonnegative()),
  repeat: duration.default(21_600_000),
  action: z.literal('notify', { error: 'balance policies only notify' }).default('notify'),
});
export const runwayPolicySchema = z.strictObject({
  ...policyCommon,
  type: z.literal('runway'),
  warn_hours: z.number().positive(),
  act_hours: z.number().positive(),
  priority: z.array(z.string()).optional(),
  repeat: duration.default(21_600_000),
  /** runway at which protected instances (#keep, overrides, excluded) are released too; `off` never */
  last_resort: z
    .union([z.literal('off'), duration], { error: 'expected a duration such as 30m, or off' })
    .transform((v) => (v === 'off' ? null : v))
    .default(1_800_000),
  /** how often runway_critical repeats, and how often in the last hour before ¥0 */
  critical_repeat: duration.default(1_800_000),
  critical_repeat_last_hour: duration.default(600_000),
  action: action.default('release_gpu'),
});
export const budgetPolicySchema = z.strictObject({
  ...policyCommon,
  type: z.literal('budget'),
  per: z.enum(['day', 'month']),
  limit: z.number().positive(),
  action: action.default('notify'),
});

export const POLICY_TYPES = ['idle', 'schedule', 'max_runtime', 'stopped_with_gpu', 'balance', 'runway', 'budget'] as const;
export const policySchema = z.discriminatedUnion(
  'type',
  [idlePolicySchema, schedulePolicySchema, maxRuntimePolicySchema, stoppedWithGpuPolicySchema, balancePolicySchema, runwayPolicySchema, budgetPolicySchema],
  { error: (iss) => (iss.code === 'invalid_union' ? `unknown policy type: expected one of ${POLICY_TYPES.join(', ')}` : undefined) },
);
export type PolicyConfig = z.output<typeof policySchema>;
export type IdlePolicyConfig = z.output<typeof idlePolicySchema>;
export type SchedulePolicyConfig = z.output<typeof schedulePolicySchema>;
export type MaxRuntimePolicyConfig = z.output<typeof maxRuntimePolicySchema>;
export type StoppedWithGpuPolicyConfig = z.output<typeof stoppedWithGpuPolicySchema>;
export type BalancePolicyConfig = z.output<typeof balancePolicySchema>;
export type RunwayPolicyConfig = z.output<typeof runwayPolicySchema>;
export type BudgetPolicyConfig = z.output<typeof budgetPolicySchema>;


const probeBase = { enabled: z.boolean().default(true), timeout: duration.default(5_000) };

/** The documented default policies (DESIGN.md), used when the file has no `policies` key. */
export const DEFAULT_POLICIES = [
  { name: 'idle-release', type: 'idle', idle_for: '45m', min_uptime: '10m', action: 'release_gpu' },
  { name: 'nightly', type: 'schedule', cron: '0 2 * * *', warn_before: '30m', action: 'release_gpu', match: { name: 'sd-*' } },
  { name: 'runaway', type: 'max_runtime', max: '12h', action: 'release_gpu' },
  { name: 'low-balance', type: 'balance', below: [100, 30], repeat: '6h' },
  { name: 'held-gpu', type: 'stopped_with_gpu', after: '30m', warn_before: '10m' },
  { name: 'runway', type: 'runway', warn_hours: 12, act_hours: 2, last_resort: '30m', action: 'release_gpu' },
  { name: 'daily-cap', type: 'budget', per: 'day', limit: 80, action: 'notify' },
] as const;

export const configSchema = z.strictObject({
  xgc: z
    .strictObject({
      base_url: z.url({ error: 'expected a URL such as https://api.xiangongyun.com' }).default('https://api.xiangongyun.com'),
      token: z.string().min(1).optional(),
      token_file: z.string().min(1).optional(),
      timeout: duration.default(15_000),
      retries: z.number().int().min(0).max(10).default(3),
    })
    .prefault({}),
  db: z
    .strictObject({
      path: z.string().min(1).default('./data/guard.db'),
      retain_raw: duration.default(30 * 86_400_000),
    })
    .prefault({}),
  http: z
    .strictObject({
      enabled: z.boolean().default(true),
      host: z.string().min(1).default('127.0.0.1'),
      port: z.number().int().min(0).max(65535).default(8080),
      api_token: z.string().min(1).optional(),
      api_token_file: z.string().min(1).optional(),
      read_token: z.string().min(1).optional(),
      read_token_file: z.string().min(1).optional(),
      heartbeat_token: z.string().min(1).optional(),
      heartbeat_token_file: z.string().min(1).optional(),
      public_url: z.url({ error: 'expected a URL such as https://guard.example.com' }).optional(),
      /** /metrics needs the API (or read) token: true always, false never; unset = when listening beyond loopback */
      metrics_auth: z.boolean().optional(),
    })
    .prefault({}),
  timezone: z.string().default('Asia/Shanghai'),
  locale: z.enum(['zh-CN', 'en'], { error: 'expected zh-CN or en' }).default('zh-CN'),
  snapshot: z.strictObject({ every: z.string().min(1).default('*/1 * * * *') }).prefault({}),
  /** summary_every: a log line this often while nothing changes (a changed tick logs at once); 0s = never */
  log: z.strictObject({ summary_every: duration.default(15 * 60_000) }).prefault({}),
  dry_run: z.boolean().default(true),
  allow_destroy: z.boolean().default(false),
  blind_alert_after: z.number().int().min(1).default(3),
  limits: z
    .strictObject({
      max_actions_per_tick: z.number().int().min(0).default(5),
      max_actions_per_hour: z.number().int().min(0).default(20),
      cooldown_after_boot: duration.default(1_800_000),
    })
    .prefault({}),
  keep_marker: z.string().min(1).default('#keep'),
  /** waking released instances (scheduled `action: boot` and `POST /api/v1/instances/:id/wake`) */
  wake: z
    .strictObject({
      /** stop retrying a GPU shortage after this long */
      give_up_after: duration.default(2 * 3_600_000),
      /** wait before the first retry round; doubles each round */
      retry_first: duration.default(60_000),
      /** longest wait between retry rounds */
      retry_max: duration.default(10 * 60_000),
    })
    .prefault({}),
  probes: z
    .strictObject({
      /** polled probe runs (jupyter, comfyui, sdwebui, heartbeat) in flight at once */
      concurrency: z.number().int().min(1).max(256).default(8),
      /** how often the polled probes run (beside the tick, never inside it) */
      interval: duration.default(30_000),
      /** a polled probe answer older than this counts as unknown */
      stale_after: duration.default(120_000),
      jupyter: z
        .strictObject({ ...probeBase, count_connections: z.boolean().default(true), active_window: duration.default(120_000) })
        .prefault({}),
      /** force: probe every instance, not only those whose image name says ComfyUI */
      comfyui: z.strictObject({ ...probeBase, force: z.boolean().default(false) }).prefault({}),
      /** force: probe every instance, not only those whose image name says WebUI/Forge */
      sdwebui: z.strictObject({ ...probeBase, force: z.boolean().default(false) }).prefault({}),
      /** the GPU itself over SSH: one persistent connection per running instance, fixed read-only commands */
      gpu: z
        .strictObject({
          enabled: z.boolean().default(true),
          sample_every: duration.default(10_000),
          /** SSH connect/handshake timeout */
          timeout: duration.default(15_000),
          private_key_file: z.string().min(1).optional(),
          gpu_busy_percent: z.number().min(0).max(100).default(10),
          /** a 1-minute load average held at or above this over the window is busy; 0 = off */
          cpu_busy_load: z.number().min(0).default(2),
          /** network throughput (rx + tx, KiB/s) held at or above this over the window is busy; 0 = off */
          net_busy_kib_per_sec: z.number().min(0).default(1024),
          /** an interactive SSH login that typed within this is busy */
          active_window: duration.default(15 * 60_000),
          /** how far back the judgement looks */
          window: duration.default(60_000),
          /** a GPU answer older than this is unknown (default three sample periods, at least 30s) */
          stale_after: duration.optional(),
          connect_concurrency: z.number().int().min(1).max(256).default(16),
        })
        .prefault({}),
      ssh: z.never({ error: 'probes.ssh was renamed to probes.gpu (a persistent SSH stream, on by default): move its keys there' }).optional(),
      heartbeat: z
        .strictObject({
          enabled: z.boolean().default(true),
          stale_after: duration.default(180_000),
          gpu_busy_percent: z.number().min(0).max(100).default(10),
        })
        .prefault({}),
    })
    .prefault({}),
  /** spend groups (`spend --by group`, `by=group`); none by default: every instance is "other" */
  groups: z.array(groupSchema).default([]),
  policies: z.array(policySchema).prefault(() => structuredClone(DEFAULT_POLICIES) as unknown as z.input<typeof policySchema>[]),
  notify: notifyConfigSchema
    .extend({
      digest: z.strictObject({ enabled: z.boolean().default(false), cron: z.string().default('0 9 * * *') }).prefault({}),
    })
    .prefault({}),
});

/** The parsed, defaulted config (durations in ms). */
export type Config = z.output<typeof configSchema>;
