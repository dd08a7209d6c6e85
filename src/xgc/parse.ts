/**
 * zod schemas for the Open API's payloads and the split of one raw instance into a secret-free
 * `Instance` and its memory-only `InstanceAccess`.
 *
 * Tolerance (the live API is looser than its docs): numbers may come as numeric strings
 * (`ssh_port: "44775"`), optional fields may be missing or null, unknown fields are ignored, unknown
 * status strings are kept and flagged `statusKnown: false`. Timestamps are seconds (0 means unset);
 * a value above 1e11 is taken to be milliseconds already.
 *
 * Strictness (a dropped instance would look "gone" to the guard): every list item must carry a
 * non-empty string `id` and `status`, ids must be unique, and `total` may not exceed the list length;
 * otherwise the whole answer is a protocol error. Error texts name field paths, never values.
 */
import { z } from 'zod';
import { KNOWN_STATUSES, type Instance, type InstanceAccess, type InstanceWithAccess } from './types.js';

const known = new Set<string>(KNOWN_STATUSES);

/** A number, or a string holding one; '', null or absent → undefined; anything else → the problem's text. */
function numberOf(v: unknown): { n: number | undefined } | { problem: string } {
  if (v === undefined || v === null) return { n: undefined };
  if (typeof v === 'number') return Number.isFinite(v) ? { n: v } : { problem: 'expected a finite number' };
  if (typeof v === 'string') {
    const s = v.trim();
    if (s === '') return { n: undefined };
    const n = Number(s);
    return Number.isFinite(n) ? { n } : { problem: 'expected a number or numeric string' };
  }
  return { problem: 'wrong type' };
}

/** A string; numbers are turned into strings; null or absent → ''; anything else → undefined (a problem). */
function stringOf(v: unknown): string | undefined {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
  return undefined;
}

/** A flag that may come as boolean or number (or a numeric string); see `numberOf`. */
function flagOf(v: unknown): { f: boolean | number | undefined } | { problem: string } {
  if (typeof v === 'boolean') return { f: v };
  const r = numberOf(v);
  return 'n' in r ? { f: r.n } : { problem: 'wrong type' };
}

/** A number, or a string holding one; '', null or absent → undefined. */
const num = z.unknown().optional().transform((v, ctx): number | undefined => {
  const r = numberOf(v);
  if ('n' in r) return r.n;
  ctx.addIssue({ code: 'custom', message: r.problem });
  return z.NEVER;
});

/** A string; numbers are turned into strings; null or absent → ''. */
const str = z.unknown().optional().transform((v, ctx): string => {
  const s = stringOf(v);
  if (s !== undefined) return s;
  ctx.addIssue({ code: 'custom', message: 'wrong type' });
  return z.NEVER;
});

/** A flag that may come as boolean or number (or a numeric string). */
const flag = z.unknown().optional().transform((v, ctx): boolean | number | undefined => {
  const r = flagOf(v);
  if ('f' in r) return r.f;
  ctx.addIssue({ code: 'custom', message: r.problem });
  return z.NEVER;
});

/**
 * An informative number that may come as integer, boolean or numeric string and must never fail a list:
 * anything else (an empty string, an object) reads as undefined.
 */
const lenientNumber = z.unknown().optional().transform((v): number | undefined => {
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v.trim())) return Number(v);
  return undefined;
});

/** The response envelope every endpoint uses. */
export const envelopeSchema = z.object({
  code: z.union([z.number(), z.string().regex(/^-?\d+$/).transform(Number)]),
  msg: str,
  success: z.boolean(),
  data: z.unknown().optional(),
});
/** A parsed envelope. */
export type Envelope = z.infer<typeof envelopeSchema>;

// The instance fields the guard uses, by kind (others are ignored).
const STRING_FIELDS = ['name', 'gpu_model', 'public_image', 'image_id', 'data_center_name', 'web_url', 'jupyter_url', 'jupyter_token', 'ssh_domain', 'ssh_user', 'password'] as const;
const NUMBER_FIELDS = ['gpu_used', 'price_per_hour', 'base_price', 'retain_price', 'ssh_port', 'create_timestamp', 'start_timestamp', 'stop_timestamp', 'progress'] as const;

/** One instance as the API sends it (only the fields the guard uses; others are ignored). */
export const rawInstanceSchema = z.object({
  id: z.string().min(1, 'missing id'),
  status: z.string().min(1, 'missing status'),
  retain: flag,
  auto_shutdown: lenientNumber,
  auto_shutdown_action: lenientNumber,
  ...(Object.fromEntries(STRING_FIELDS.map((f) => [f, str])) as Record<(typeof STRING_FIELDS)[number], typeof str>),
  ...(Object.fromEntries(NUMBER_FIELDS.map((f) => [f, num])) as Record<(typeof NUMBER_FIELDS)[number], typeof num>),
});
/** A parsed raw instance. */
export type RawInstance = z.infer<typeof rawInstanceSchema>;

/** `data` of GET /open/instances. `list: null` is accepted only together with `total: 0`. */
export const listDataSchema = z
  .object({
    list: z.union([z.null(), z.array(z.unknown())]),
    total: num,
  })
  .refine((d) => d.list !== null || d.total === 0, { message: 'list is null', path: ['list'] });

/** `data` of GET /open/balance. */
export const balanceDataSchema = z.object({ balance: num.refine((v) => v !== undefined, 'missing balance') });

/** `data` of POST /open/instance/deploy. */
export const deployDataSchema = z.object({ id: z.string().min(1, 'missing id') });

/** Seconds (or ms above 1e11) → epoch ms; 0 or absent → null. */
export function toEpochMs(v: number | undefined): number | null {
  if (v === undefined || v <= 0) return null;
  return v > 1e11 ? Math.round(v) : Math.round(v * 1000);
}

/** Drop query parameters that carry credentials (`token=...`) from a URL kept in `Instance`. */
export function stripTokenFromUrl(url: string): string {
  if (!url.includes('?')) return url;
  try {
    const u = new URL(url);
    for (const k of [...u.searchParams.keys()]) {
      if (/token|password|key|secret/i.test(k)) u.searchParams.delete(k);
    }
    return u.toString();
  } catch {
    return url.slice(0, url.indexOf('?'));
  }
}

/** Split one parsed raw instance into its secret-free view and its access. */
export function splitInstance(r: RawInstance): InstanceWithAccess {
  const retain = r.retain === undefined ? false : typeof r.retain === 'boolean' ? r.retain : r.retain > 0;
  const sshPort = r.ssh_port === undefined || r.ssh_port <= 0 ? null : Math.trunc(r.ssh_port);
  const instance: Instance = {
    id: r.id,
    name: r.name,
    status: r.status,
    statusKnown: known.has(r.status),
    gpuModel: r.gpu_model,
    gpuUsed: r.gpu_used ?? 0,
    pricePerHour: r.price_per_hour ?? 0,
    basePrice: r.base_price ?? null,
    retainPrice: r.retain_price ?? 0,
    retain,
    image: r.public_image,
    imageId: r.image_id,
    dataCenter: r.data_center_name,
    webUrl: stripTokenFromUrl(r.web_url),
    jupyterUrl: stripTokenFromUrl(r.jupyter_url),
    sshDomain: r.ssh_domain,
    sshPort,
    createdAt: toEpochMs(r.create_timestamp),
    startedAt: toEpochMs(r.start_timestamp),
    stoppedAt: toEpochMs(r.stop_timestamp),
    progress: r.progress ?? null,
    autoShutdown: r.auto_shutdown ?? null,
    autoShutdownAction: r.auto_shutdown_action ?? null,
  };
  const access: InstanceAccess = {
    id: r.id,
    image: r.public_image,
    webUrl: r.web_url,
    jupyterUrl: r.jupyter_url,
    jupyterToken: r.jupyter_token,
    sshHost: r.ssh_domain,
    sshPort,
    sshUser: r.ssh_user || 'root',
    password: r.password,
  };
  return { instance, access };
}

/** Describe zod issues by path and kind only, never echoing values. */
export function describeIssues(err: z.ZodError, prefix = ''): string {
  const parts = err.issues.slice(0, 3).map((i) => {
    const path = [prefix, ...i.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))]
      .join('')
      .replace(/^\./, '');
    return `${path || '(root)'}: ${issueText(i)}`;
  });
  if (err.issues.length > 3) parts.push(`and ${err.issues.length - 3} more`);
  return parts.join('; ');
}

function issueText(i: z.core.$ZodIssue): string {
  if (i.code === 'custom') return i.message;
  if (i.code === 'invalid_type') return `expected ${i.expected}`;
  if (i.code === 'too_small') return i.message.startsWith('missing') ? i.message : 'too small';
  if (i.code === 'invalid_union') return 'wrong type';
  return i.code;
}
