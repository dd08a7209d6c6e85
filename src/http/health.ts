/** Liveness and readiness: `/healthz` answers while the process lives; `/readyz` reports DB, lease and last tick. */
import { desc } from 'drizzle-orm';
import { ticks } from '../db/schema.js';
import { outboxDepth } from '../notify/index.js';
import type { App, AppDeps } from './app.js';

/** Registers /healthz and /readyz. */
export default async function healthRoutes(app: App, opts: { deps: AppDeps }) {
  const { deps } = opts;
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    const { runtime, gdb, clock } = deps;
    let lastTick: { at: string; outcome: string; error_class: string | null } | null = null;
    let blindTicks = 0;
    let outbox = { pending: 0, dead: 0 };
    let dbOk = runtime.dbOpen;
    try {
      const recent = gdb.db.select().from(ticks).orderBy(desc(ticks.id)).limit(100).all();
      const t = recent.find((r) => r.outcome !== 'skipped');
      if (t) lastTick = { at: new Date(t.at).toISOString(), outcome: t.outcome, error_class: t.errorClass };
      for (const r of recent) {
        if (r.outcome === 'skipped') continue;
        if (r.outcome !== 'blind') break;
        blindTicks++;
      }
      outbox = outboxDepth(gdb.db);
    } catch {
      dbOk = false;
    }
    const ready = dbOk;
    return reply.status(ready ? 200 : 503).send({
      status: ready ? 'ready' : 'not_ready',
      db: dbOk ? 'open' : 'closed',
      role: runtime.leader ? 'leader' : 'standby',
      standby_reason: runtime.standbyReason ?? null,
      jobs: runtime.jobsRunning ? 'running' : 'stopped',
      last_tick: lastTick,
      blind_ticks: blindTicks,
      outbox,
      now: new Date(clock.now()).toISOString(),
    });
  });
}
