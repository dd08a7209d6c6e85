/**
 * Overrides (snoozes and exemptions) in one place, used by the HTTP API, the `override` CLI command and the
 * policy engine: create with validation, list, revoke (the row is kept), the active set at `now`. Matching an
 * override to an instance is a policy question: `overrideMatches` in src/policies/selector.ts.
 */
import { and, desc, eq, gt, isNull, or, sql, type Placeholder } from 'drizzle-orm';
import { preparedOnce } from './prepared.js';
import type { Db, DbOrTx } from './open.js';
import { overrides } from './schema.js';
import { BadRequest, GuardError, NotFound } from '../errors.js';
import { isTime, isoInTz } from '../money.js';
import { INSTANCE_ID_RE } from '../xgc/index.js';

/** A snooze or exemption as stored (src/db/overrides.ts) and matched (selector.ts). Times in epoch ms. */
export interface Override {
  id: number;
  instanceId: string | null;
  nameGlob: string | null;
  kind: 'snooze' | 'exempt';
  /** null = all policies */
  policies: string[] | null;
  until: number | null;
  forever: boolean;
  who: string;
  reason: string;
  createdAt: number;
  revokedAt: number | null;
  /** why the stored row cannot be used (a time outside `isTime`), else null; such a row is listed, never in force */
  problem: string | null;
}

/** Who an override applies to: one instance, or every instance whose name matches a glob (`*`, `?`). */
export type OverrideTarget = { instance_id: string } | { name: string };

/** What creating an override needs; exactly one of `until` / `for` / `forever`. Times in epoch ms. */
export interface OverrideInput {
  target: OverrideTarget;
  kind: 'snooze' | 'exempt';
  /** policy names it applies to; absent or empty = all policies */
  policies?: string[];
  /** absolute end (epoch ms), must be after `now` */
  until?: number;
  /** duration from `now` (ms) */
  for?: number;
  /** never expires (exempt only) */
  forever?: boolean;
  reason: string;
  who: string;
}

/** An override's state at some instant; `invalid`: its stored row cannot be used (see `Override.problem`). */
export type OverrideState = 'active' | 'expired' | 'revoked' | 'invalid';

/** Revoking an override that is already revoked. */
export class OverrideConflict extends GuardError {
  constructor(message: string) {
    super(message, 'conflict', 409);
  }
}

type Row = typeof overrides.$inferSelect;

/** The longest an override with an end may last: 365 days from its creation (longer: an exemption `forever`). */
export const MAX_OVERRIDE_MS = 365 * 86_400_000;
const TOO_LONG = 'an override lasts at most 365d; for longer use kind exempt with forever';

function fromRow(r: Row): Override {
  let policies: string[] | null = null;
  if (r.policies) {
    try {
      const p = JSON.parse(r.policies) as unknown;
      if (Array.isArray(p)) policies = p.map(String);
    } catch {
      policies = null;
    }
  }
  const badTime = (['until', 'createdAt', 'revokedAt'] as const).find((k) => r[k] !== null && !isTime(r[k]));
  return {
    problem: badTime ? `stored ${badTime} ${r[badTime]} is not a time from 1970 to 9999` : null,
    id: r.id,
    instanceId: r.instanceId,
    nameGlob: r.nameGlob,
    kind: r.kind === 'exempt' ? 'exempt' : 'snooze',
    policies,
    until: r.until,
    forever: r.forever,
    who: r.who,
    reason: r.reason,
    createdAt: r.createdAt,
    revokedAt: r.revokedAt,
  };
}

/** Create an override at `now` after checking the input; throws BadRequest naming the field. */
export function createOverride(db: DbOrTx, input: OverrideInput, now: number): Override {
  const t = input.target as Partial<{ instance_id: string; name: string }>;
  const hasId = typeof t?.instance_id === 'string';
  const hasName = typeof t?.name === 'string';
  if (hasId === hasName) throw new BadRequest('target', 'give exactly one of instance_id or name');
  if (hasId && !INSTANCE_ID_RE.test(t.instance_id!)) throw new BadRequest('target.instance_id', 'expected an instance id: 1-64 characters of a-z, 0-9 and "-"');
  if (hasName && (t.name!.length === 0 || t.name!.length > 128 || /[\p{Cc}]/u.test(t.name!)))
    throw new BadRequest('target.name', 'expected a name glob of 1-128 printable characters');
  if (input.kind !== 'snooze' && input.kind !== 'exempt') throw new BadRequest('kind', 'expected snooze or exempt');
  const ends = [input.until !== undefined, input.for !== undefined, input.forever === true].filter(Boolean).length;
  if (ends !== 1) throw new BadRequest(ends === 0 ? 'until' : 'forever', 'give exactly one of until, for or forever');
  if (input.kind === 'snooze' && input.forever) throw new BadRequest('forever', 'a snooze needs until or for; use kind exempt for forever');
  let until: number | null = null;
  if (input.until !== undefined) {
    if (!isTime(input.until)) throw new BadRequest('until', 'not a time from 1970 to 9999');
    if (input.until <= now) throw new BadRequest('until', 'must be in the future');
    if (input.until > now + MAX_OVERRIDE_MS) throw new BadRequest('until', `must be at most 365d from now: ${TOO_LONG}`);
    until = input.until;
  }
  if (input.for !== undefined) {
    if (!Number.isFinite(input.for) || input.for <= 0) throw new BadRequest('for', 'must be a positive duration such as 2h');
    if (input.for > MAX_OVERRIDE_MS) throw new BadRequest('for', `must be at most 365d: ${TOO_LONG}`);
    until = now + input.for;
  }
  const policies = input.policies?.length ? input.policies : null;
  policies?.forEach((p, i) => {
    if (typeof p !== 'string' || !/^[A-Za-z0-9_.-]{1,64}$/.test(p)) throw new BadRequest(`policies[${i}]`, 'expected a policy name');
  });
  if (typeof input.reason !== 'string' || input.reason.length > 500) throw new BadRequest('reason', 'expected at most 500 characters');
  const row = db
    .insert(overrides)
    .values({
      instanceId: hasId ? t.instance_id! : null,
      nameGlob: hasName ? t.name! : null,
      kind: input.kind,
      policies: policies ? JSON.stringify(policies) : null,
      until,
      forever: input.forever === true,
      who: input.who,
      reason: input.reason,
      createdAt: now,
    })
    .returning()
    .get();
  return fromRow(row);
}

const activeWhere = (now: number | Placeholder) => and(isNull(overrides.revokedAt), or(eq(overrides.forever, true), gt(overrides.until, now)));

/** Overrides, newest first: the active ones at `now`, or all of them (revoked and expired too). */
export function listOverrides(db: Db, opts: { all?: boolean }, now: number): Override[] {
  const rows = opts.all
    ? db.select().from(overrides).orderBy(desc(overrides.id)).all()
    : preparedOnce(db, 'overrides.active', () => db.select().from(overrides).where(activeWhere(sql.placeholder('now'))).orderBy(desc(overrides.id)).prepare()).all({ now });
  return rows.map(fromRow);
}

/** The overrides in force at `now` (what the policy engine consults); invalid rows are not in force. */
export function activeOverrides(db: Db, now: number): Override[] {
  return listOverrides(db, { all: false }, now).filter((o) => o.problem === null);
}

/** Revoke override `id` at `now` (the row is kept). NotFound when unknown, OverrideConflict when already revoked. */
export function revokeOverride(db: Db, id: number, now: number): Override {
  return db.transaction((tx) => {
    const row = tx.select().from(overrides).where(eq(overrides.id, id)).get();
    if (!row) throw new NotFound(`no override ${id}`);
    if (row.revokedAt !== null) throw new OverrideConflict(`override ${id} was already revoked`);
    const updated = tx.update(overrides).set({ revokedAt: now }).where(eq(overrides.id, id)).returning().get();
    return fromRow(updated);
  });
}

/** An override's state at `now`. */
export function overrideState(o: Override, now: number): OverrideState {
  if (o.problem !== null) return 'invalid';
  if (o.revokedAt !== null) return 'revoked';
  return o.forever || (o.until !== null && o.until > now) ? 'active' : 'expired';
}

/** The API/CLI JSON form of an override, times as ISO 8601 in `tz` (null where a stored time is invalid). */
export function overrideToJson(o: Override, now: number, tz: string) {
  const iso = (t: number | null) => (t !== null && isTime(t) ? isoInTz(t, tz) : null);
  return {
    id: o.id,
    target: o.instanceId !== null ? { instance_id: o.instanceId } : { name: o.nameGlob ?? '' },
    kind: o.kind,
    policies: o.policies,
    until: iso(o.until),
    forever: o.forever,
    who: o.who,
    reason: o.reason,
    created_at: iso(o.createdAt),
    revoked_at: iso(o.revokedAt),
    state: overrideState(o, now),
    ...(o.problem !== null && { problem: o.problem }),
  };
}
