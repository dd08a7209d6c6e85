/**
 * Signed, expiring snooze links. A token is `base64url(JSON claims) + "." + base64url(HMAC-SHA256)`, keyed
 * by a server secret generated once and kept in `meta.link_secret`. Claims carry no secret.
 */
import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { meta } from '../db/schema.js';
import type { NotifyDb, SnoozeLinks } from './types.js';

/** What a snooze link may do, preselected on the confirm page. */
export type SnoozeChoice = 'h1' | 'h2' | 'skip';

/** The signed claims of a snooze link. */
export interface SnoozeClaims {
  /** link id: one id per notification; using any of its links uses them all */
  l: string;
  /** instance id */
  i: string;
  /** instance name (for display only) */
  n: string;
  /** policy name */
  p: string;
  /** planned action time, epoch ms */
  at: number;
  /** link expiry, epoch ms */
  exp: number;
  /** preselected choice */
  c: SnoozeChoice;
}

/** Margin added to the planned time for "skip this occurrence". */
export const SKIP_MARGIN_MS = 10 * 60_000;

/** The link-signing secret: read from `meta`, generated (32 random bytes) and stored on first use. */
export function linkSecret(db: NotifyDb): Buffer {
  db.insert(meta).values({ key: 'link_secret', value: randomBytes(32).toString('base64url') }).onConflictDoNothing().run();
  const row = db.select().from(meta).where(eq(meta.key, 'link_secret')).get();
  if (!row) throw new Error('link_secret missing after insert');
  return Buffer.from(row.value, 'base64url');
}

function mac(secret: Buffer, body: string): Buffer {
  return createHmac('sha256', secret).update(body).digest();
}

/** Sign claims into a URL-safe token. */
export function signToken(secret: Buffer, claims: SnoozeClaims): string {
  const body = Buffer.from(JSON.stringify(claims)).toString('base64url');
  return `${body}.${mac(secret, body).toString('base64url')}`;
}

/** Result of checking a token: `bad` (malformed or tampered) or the verified claims. */
export type TokenCheck = { ok: true; claims: SnoozeClaims } | { ok: false; problem: 'bad' };

/** Verify a token's signature and shape (expiry and use are checked by the caller). */
export function verifyToken(secret: Buffer, token: string): TokenCheck {
  const parts = token.split('.');
  if (parts.length !== 2 || !parts[0] || !parts[1]) return { ok: false, problem: 'bad' };
  const [body, sig] = parts as [string, string];
  const given = Buffer.from(sig, 'base64url');
  const want = mac(secret, body);
  if (given.length !== want.length || !timingSafeEqual(given, want)) return { ok: false, problem: 'bad' };
  try {
    const c = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as Partial<SnoozeClaims>;
    if (
      typeof c.l !== 'string' ||
      typeof c.i !== 'string' ||
      typeof c.n !== 'string' ||
      typeof c.p !== 'string' ||
      typeof c.at !== 'number' ||
      typeof c.exp !== 'number' ||
      (c.c !== 'h1' && c.c !== 'h2' && c.c !== 'skip')
    ) {
      return { ok: false, problem: 'bad' };
    }
    return { ok: true, claims: c as SnoozeClaims };
  } catch {
    return { ok: false, problem: 'bad' };
  }
}

/**
 * Make the three snooze URLs (1 h, 2 h, skip this occurrence) for one planned action, valid for `ttlMs`
 * from `now`. All three share one link id, so the first one used consumes them all. `linkId` makes the
 * URLs deterministic (the Notifier passes one per event so every channel and retry shows the same links).
 */
export function makeSnoozeLinks(
  db: NotifyDb,
  target: { instanceId: string; instanceName: string; policy: string; plannedAt: number },
  opts: { publicUrl: string; now: number; ttlMs: number; linkId?: string },
): SnoozeLinks {
  const secret = linkSecret(db);
  const base = opts.publicUrl.replace(/\/+$/, '');
  const id = opts.linkId ?? randomUUID();
  const url = (c: SnoozeChoice) =>
    `${base}/snooze?t=${signToken(secret, { l: id, i: target.instanceId, n: target.instanceName, p: target.policy, at: target.plannedAt, exp: opts.now + opts.ttlMs, c })}`;
  return { h1: url('h1'), h2: url('h2'), skip: url('skip') };
}

/** When a snooze chosen at `now` ends: 1 h, 2 h, or the planned time plus a small margin. */
export function snoozeUntil(choice: SnoozeChoice, plannedAt: number, now: number): number {
  if (choice === 'h1') return now + 3_600_000;
  if (choice === 'h2') return now + 7_200_000;
  return Math.max(plannedAt, now) + SKIP_MARGIN_MS;
}
