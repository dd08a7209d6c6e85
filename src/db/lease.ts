/**
 * Single writer: one daemon per database ticks and acts. The holder renews a lease row; another daemon stays
 * standby and takes over when the lease expires — at once when the holder ran on this host and its process is
 * gone (a restart after a crash must not wait out the lease).
 */
import { hostname } from 'node:os';
import { eq } from 'drizzle-orm';
import type { Clock } from '../clock.js';
import type { Db } from './open.js';
import { leases } from './schema.js';

/** Who asks for the lease. */
export interface LeaseHolder {
  /** unique per process start */
  holder: string;
  host: string;
  pid: number;
}

/** The result of an attempt. */
export type LeaseResult = { ok: true; takeover?: string } | { ok: false; heldBy: LeaseHolder; expiresAt: number };

/** Whether a process with `pid` exists on this host. */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** This process as a lease holder. */
export function thisProcess(): LeaseHolder {
  return { holder: `${hostname()}:${process.pid}:${Math.random().toString(36).slice(2, 10)}`, host: hostname(), pid: process.pid };
}

/**
 * Acquire or renew the lease `name` for `me` until now + ttl. Atomic (one immediate transaction).
 * `alive` checks a same-host pid (injectable for tests).
 */
export function acquireLease(db: Db, name: string, me: LeaseHolder, ttlMs: number, clock: Clock, alive: (pid: number) => boolean = processAlive): LeaseResult {
  return db.transaction(
    (tx) => {
      const now = clock.now();
      const cur = tx.select().from(leases).where(eq(leases.name, name)).get();
      const row = { name, holder: me.holder, host: me.host, pid: me.pid, expiresAt: now + ttlMs };
      if (!cur) {
        tx.insert(leases).values(row).run();
        return { ok: true } as const;
      }
      if (cur.holder === me.holder) {
        tx.update(leases).set({ expiresAt: row.expiresAt }).where(eq(leases.name, name)).run();
        return { ok: true } as const;
      }
      const expired = cur.expiresAt <= now;
      const deadHere = cur.host === me.host && cur.pid !== me.pid && !alive(cur.pid);
      if (expired || deadHere) {
        tx.update(leases).set(row).where(eq(leases.name, name)).run();
        return { ok: true, takeover: expired ? 'previous lease expired' : `previous holder (pid ${cur.pid}) is gone` } as const;
      }
      return { ok: false, heldBy: { holder: cur.holder, host: cur.host, pid: cur.pid }, expiresAt: cur.expiresAt } as const;
    },
    { behavior: 'immediate' },
  );
}

/** Give the lease up (graceful shutdown), so a successor need not wait. */
export function releaseLease(db: Db, name: string, me: LeaseHolder): void {
  const cur = db.select().from(leases).where(eq(leases.name, name)).get();
  if (cur?.holder === me.holder) db.delete(leases).where(eq(leases.name, name)).run();
}
