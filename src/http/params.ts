/**
 * Shared pieces of the API's request schemas: instance ids, time parameters (ISO 8601 or relative such as
 * `-7d`, `-2h`, `now`), time zones, time ranges, and the `X-Guard-Who` header.
 */
import { z } from 'zod';
import { parseDuration } from '../config/duration.js';
import { BadRequest } from '../errors.js';
import { canonicalTimeZone, isTime, localToInstant } from '../money.js';
import { INSTANCE_ID_RE } from '../xgc/index.js';

/** An instance id (path param or body field). */
export const instanceIdSchema = z.string().regex(INSTANCE_ID_RE, 'expected an instance id: 1-64 characters of a-z, 0-9 and "-"');

const ISO_RE = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?(Z|z|[+-]\d{2}(?::?\d{2})?)?$/;
const REL_RE = /^([+-])(.+)$/;

/**
 * Parse a time parameter to epoch ms: `now`, a relative offset from `now` (`-7d`, `-2h30m`, `+1h`), or ISO 8601
 * (`2026-11-26`, `2026-11-26T08:00`, `2026-11-26T08:00:00+08:00`, `...Z`). A date or time without an offset is
 * wall time in `tz` (default UTC). Returns null when `s` is not a time or falls outside 1970 to 9999 (`isTime`).
 */
export function parseTimeParam(s: string, now: number, tz = 'UTC'): number | null {
  const t = parseTime(s, now, tz);
  return t !== null && isTime(t) ? t : null;
}

/** Whether `s` has the form of a time parameter (any year); `parseTimeParam` also checks the range. */
export function isTimeForm(s: string): boolean {
  return parseTime(s, 0, 'UTC') !== null;
}

function parseTime(s: string, now: number, tz: string): number | null {
  const t = s.trim();
  if (t === 'now') return now;
  const rel = REL_RE.exec(t);
  if (rel) {
    const ms = parseDuration(rel[2]);
    if (ms === null) return null;
    return rel[1] === '-' ? now - ms : now + ms;
  }
  const m = ISO_RE.exec(t);
  if (!m) return null;
  const [y, mo, d, h = '0', mi = '0', sec = '0'] = m.slice(1, 7);
  const frac = m[7] ? Number(m[7].slice(0, 3).padEnd(3, '0')) : 0;
  const Y = Number(y);
  const MO = Number(mo);
  const D = Number(d);
  const H = Number(h);
  const MI = Number(mi);
  const S = Number(sec);
  if (MO < 1 || MO > 12 || D < 1 || H > 23 || MI > 59 || S > 59) return null;
  const probe = new Date(Date.UTC(Y, MO - 1, D));
  if (probe.getUTCFullYear() !== Y || probe.getUTCMonth() !== MO - 1 || probe.getUTCDate() !== D) return null;
  const wall = (MI * 60 + S) * 1000 + frac;
  const off = m[8];
  if (off === undefined) return localToInstant(Y, MO, D, H, tz) + wall;
  let offMs = 0;
  if (off !== 'Z' && off !== 'z') {
    const sign = off[0] === '-' ? -1 : 1;
    const digits = off.slice(1).replace(':', '');
    const oh = Number(digits.slice(0, 2));
    const om = digits.length > 2 ? Number(digits.slice(2, 4)) : 0;
    if (oh > 23 || om > 59) return null;
    offMs = sign * (oh * 60 + om) * 60_000;
  }
  return Date.UTC(Y, MO - 1, D, H) + wall - offMs;
}

/** A time query parameter: checked for form here, resolved against the clock by `resolveRange`. */
export const timeParam = z
  .string()
  .refine(isTimeForm, 'expected ISO 8601 (2026-11-26T08:00:00+08:00) or a relative time such as -7d, -2h, now')
  .describe('ISO 8601 time, or relative to now: -7d, -2h, now');

/** A time zone query parameter, made canonical (`asia/shanghai` -> `Asia/Shanghai`). */
export const tzParam = z
  .string()
  .max(64)
  .transform((tz, ctx) => {
    const canonical = canonicalTimeZone(tz);
    if (canonical === null) ctx.addIssue({ code: 'custom', message: 'unknown time zone: expected an IANA name such as Asia/Shanghai or UTC' });
    return canonical ?? tz;
  })
  .describe('IANA time zone, e.g. Asia/Shanghai');

/** The usual `from`/`to` query fields. */
export const rangeQueryFields = {
  from: timeParam.optional().describe('start (inclusive); default: to - 7d'),
  to: timeParam.optional().describe('end (exclusive); default: now'),
};

/** The problem of a time outside what `isTime` accepts. */
export const TIME_RANGE = 'expected a time from 1970-01-01 to 9999-12-31';

/** Default length of a range when `from` is not given. */
export const DEFAULT_RANGE_MS = 7 * 86_400_000;

/** Resolve `from`/`to` query values against `now` in `tz`; throws BadRequest naming the field when from >= to. */
export function resolveRange(q: { from?: string; to?: string }, now: number, tz: string, defaultMs = DEFAULT_RANGE_MS): { from: number; to: number } {
  const to = q.to === undefined ? now : parseTimeParam(q.to, now, tz);
  if (to === null) throw new BadRequest('query.to', TIME_RANGE);
  const from = q.from === undefined ? to - defaultMs : parseTimeParam(q.from, now, tz);
  if (from === null) throw new BadRequest('query.from', TIME_RANGE);
  if (from >= to) throw new BadRequest('query.from', 'must be before query.to');
  return { from, to };
}

/** Who made a request: the `X-Guard-Who` header, sanitized (printable, at most 64 chars), else `api`. */
export function whoFrom(header: string | string[] | undefined): string {
  const raw = Array.isArray(header) ? header[0] : header;
  const clean = (raw ?? '').replace(/[^\p{L}\p{N} _.@:/+-]/gu, '').trim().slice(0, 64);
  return clean || 'api';
}

/** Run `fn`, rethrowing BadRequest with its field prefixed (e.g. `until` -> `body.until`). */
export function withFieldPrefix<T>(prefix: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof BadRequest && !e.field.startsWith(`${prefix}.`)) {
      const problem = e.field ? e.message.slice(e.field.length + 2) : e.message;
      throw new BadRequest(e.field ? `${prefix}.${e.field}` : prefix, problem);
    }
    throw e;
  }
}
