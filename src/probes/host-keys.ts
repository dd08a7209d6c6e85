/**
 * SSH host keys trusted on first use: the first key an instance's endpoint offers is remembered in
 * `ssh_host_keys`; a different key later stops the connection after key exchange and before any
 * authentication, so no password is ever sent to an impostor.
 */
import { createHash } from 'node:crypto';
import { eq } from 'drizzle-orm';
import type { Db } from '../db/open.js';
import { sshHostKeys } from '../db/schema.js';

/** OpenSSH-style fingerprint of a raw host key: `SHA256:<base64 without padding>`. */
export function sshFingerprint(key: Buffer): string {
  return 'SHA256:' + createHash('sha256').update(key).digest('base64').replace(/=+$/, '');
}

/** Forget a remembered host key (after an instance was rebuilt and its new key checked by hand). */
export function forgetSshHostKey(db: Db, host: string, port: number): boolean {
  return db.delete(sshHostKeys).where(eq(sshHostKeys.hostPort, `${host}:${port}`)).run().changes > 0;
}

/** Trust-on-first-use check: remembers an unknown host's key, answers whether `fingerprint` is the trusted one. */
export function checkHostKey(db: Db, hostPort: string, fingerprint: string, now: number): { ok: boolean; expected: string } {
  db.insert(sshHostKeys).values({ hostPort, fingerprint, firstSeen: now }).onConflictDoNothing().run();
  const row = db.select().from(sshHostKeys).where(eq(sshHostKeys.hostPort, hostPort)).get();
  const expected = row?.fingerprint ?? fingerprint;
  return { ok: expected === fingerprint, expected };
}

/** Copy the trusted host keys of one database into another (`plan` checks keys like the daemon, writing nothing back). */
export function copyTrustedHostKeys(from: Db, to: Db): number {
  const rows = from.select().from(sshHostKeys).all();
  for (const r of rows) to.insert(sshHostKeys).values(r).onConflictDoNothing().run();
  return rows.length;
}
