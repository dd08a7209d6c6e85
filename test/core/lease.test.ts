import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { ManualClock } from '../../src/clock.js';
import { openDb } from '../../src/db/open.js';
import { acquireLease, releaseLease } from '../../src/db/lease.js';
import { startSimulator } from '../../src/sim/index.js';
import { spawnCli, tempDir } from '../helpers/proc.js';

/** The part of `/readyz` this test reads. */
interface Readyz {
  role: 'leader' | 'standby';
  standby_reason?: string;
}
const readyz = async (url: string) => (await (await fetch(`${url}/readyz`)).json()) as Readyz;

/**
 * Lease length for the two-daemon test. Both daemons touch the lease every quarter of it, so after a kill the
 * standby sees the dead pid within ~TTL/4 while the lease itself lasts ~3/4 TTL longer: wide enough apart
 * that the takeover reason (not a stopwatch) tells which path was taken, even on a loaded machine.
 */
const LEASE_TTL_MS = 8_000;
/** Slack over the TTL for timers on a loaded machine. */
const TAKEOVER_MARGIN_MS = 5_000;

describe('single writer lease', () => {
  const a = { holder: 'host1:100:a', host: 'host1', pid: 100 };
  const b = { holder: 'host1:200:b', host: 'host1', pid: 200 };
  const remote = { holder: 'host2:300:c', host: 'host2', pid: 300 };

  it('a second daemon is refused while the holder lives, takes over at once when a same-host holder is gone, else at expiry', () => {
    const g = openDb(':memory:');
    const clock = new ManualClock(1_000_000);
    const alive = new Set([100, 200, 300]);
    const isAlive = (pid: number) => alive.has(pid);
    expect(acquireLease(g.db, 'writer', a, 60_000, clock, isAlive)).toEqual({ ok: true });
    expect(acquireLease(g.db, 'writer', b, 60_000, clock, isAlive)).toMatchObject({ ok: false, heldBy: { pid: 100 } });
    clock.advance(30_000);
    expect(acquireLease(g.db, 'writer', a, 60_000, clock, isAlive)).toEqual({ ok: true }); // renew
    alive.delete(100); // crashed
    expect(acquireLease(g.db, 'writer', b, 60_000, clock, isAlive)).toEqual({ ok: true, takeover: 'previous holder (pid 100) is gone' });
    // a holder on another host can't be checked: wait out the lease
    expect(acquireLease(g.db, 'writer', remote, 60_000, clock, isAlive)).toMatchObject({ ok: false });
    clock.advance(60_001);
    expect(acquireLease(g.db, 'writer', remote, 60_000, clock, isAlive)).toEqual({ ok: true, takeover: 'previous lease expired' });
    releaseLease(g.db, 'writer', remote);
    expect(acquireLease(g.db, 'writer', a, 60_000, clock, isAlive)).toEqual({ ok: true });
    g.close();
  });

  it('two real daemons on one database: the second stays standby (log and /readyz) and takes over when the first is killed', async () => {
    const sim = await startSimulator({ token: 'T', instances: 1, speed: 1, seed: 3 });
    const dir = tempDir();
    const env = { XGC_API_TOKEN: 'T', XGC_API_BASE_URL: sim.url, GUARD_DB: join(dir, 'g.db'), GUARD_HTTP_PORT: '0', GUARD_LEASE_TTL_MS: String(LEASE_TTL_MS) };
    const first = spawnCli(['run'], env);
    try {
      await first.waitFor(/holding the writer lease/);
      await first.waitFor(/"url":"(http:\/\/127\.0\.0\.1:\d+)"/);
      const second = spawnCli(['run'], env);
      try {
        const [, url2] = await second.waitFor(/"url":"(http:\/\/127\.0\.0\.1:\d+)"/);
        await second.waitFor(/standby: another daemon \(pid \d+/);
        const r = await readyz(url2);
        expect(r.role).toBe('standby');
        expect(r.standby_reason).toContain(`pid ${first.child.pid}`);
        const act = await fetch(`${url2}/api/v1/actions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ instance_id: 'abc' }) });
        expect(act.status).toBe(503);
        first.child.kill('SIGKILL');
        await first.exited;
        const t0 = Date.now();
        const [takeover] = await second.waitFor(/previous (holder \(pid \d+\) is gone|lease expired)/, LEASE_TTL_MS + 30_000);
        // The reason tells the paths apart: the holder's pid is gone, so the standby did not wait out the lease.
        expect(takeover).toMatch(/previous holder \(pid \d+\) is gone/);
        expect(Date.now() - t0).toBeLessThan(LEASE_TTL_MS + TAKEOVER_MARGIN_MS);
        expect((await readyz(url2)).role).toBe('leader');
        second.child.kill('SIGTERM');
        expect((await second.exited).code).toBe(0);
      } finally {
        second.child.kill('SIGKILL');
      }
    } finally {
      first.child.kill('SIGKILL');
      await sim.close();
    }
  }, 160_000);
});
