/**
 * Liveness and readiness: `/healthz` answers while the process lives; `/readyz` reports DB, lease, last tick
 * and the blind streak, and answers 503 when the DB is closed or after `blind_alert_after` consecutive blind
 * ticks (a Docker or Kubernetes health check then sees that the guard cannot see the account).
 */
import { blindSpell, lastTick, type BlindSpell } from '../db/ticks.js';
import { outboxDepth } from '../notify/index.js';
import type { App, AppDeps } from './types.js';

/** Registers /healthz and /readyz. */
export default async function healthRoutes(app: App, opts: { deps: AppDeps }) {
  const { deps } = opts;
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    const { runtime, gdb, clock, config } = deps;
    let last: ReturnType<typeof lastTick> = null;
    let spell: BlindSpell | null = null;
    let outbox = { pending: 0, dead: 0 };
    let dbOk = runtime.dbOpen;
    try {
      last = lastTick(gdb.db);
      spell = blindSpell(gdb.db);
      outbox = outboxDepth(gdb.db);
    } catch {
      dbOk = false;
    }
    const blindTicks = spell?.ticks ?? 0;
    const blind = blindTicks >= config.blind_alert_after;
    const ready = dbOk && !blind;
    return reply.status(ready ? 200 : 503).send({
      status: ready ? 'ready' : 'not_ready',
      reason: !dbOk ? 'database closed' : blind ? `cannot see the account: ${blindTicks} blind ticks in a row (blind_alert_after ${config.blind_alert_after})` : null,
      db: dbOk ? 'open' : 'closed',
      role: runtime.leader ? 'leader' : 'standby',
      standby_reason: runtime.standbyReason ?? null,
      jobs: runtime.jobsRunning ? 'running' : 'stopped',
      last_tick: last ? { at: new Date(last.at).toISOString(), outcome: last.outcome, error_class: last.errorClass } : null,
      blind_ticks: blindTicks,
      // The spell going on now (from the first blind tick): the dashboard's banner and its "last seen" times.
      blind: spell
        ? { since: new Date(spell.since).toISOString(), reason: spell.reason, ticks: spell.ticks, last_ok_at: spell.lastOkAt === null ? null : new Date(spell.lastOkAt).toISOString() }
        : null,
      outbox,
      now: new Date(clock.now()).toISOString(),
    });
  });
}
