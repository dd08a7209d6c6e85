/** A compact synthetic history for spend tests, written as rows in the shapes the tick path writes. */
import { seededRandom } from '../../src/bench/stats.js';
import type { GuardDb } from '../../src/db/open.js';

const MIN = 60_000;
const H = 60 * MIN;
const D = 24 * H;

/**
 * Write a history the way the tick path does (instances, status intervals with odd boundaries, balance points,
 * confirmed guard releases with stop and boot times, one ok tick at `end`): `slots` instance slots, some replaced
 * mid-way, with seeded random lengths and odd boundaries.
 */
export function writeHistory(db: GuardDb, o: { start: number; end: number; slots: number; seed: number }): void {
  const { start: START, end: END } = o;
  const r = seededRandom(o.seed);
  const sq = db.sqlite;
  const insInst = sq.prepare("insert into instances (id, name, status, gpu_model, price_per_hour, retain_price, first_seen, last_seen, gone_at) values (?, ?, 'shutdown', 'RTX 4090 D', 1.59, 0.0009, ?, ?, ?)");
  const insIv = sq.prepare('insert into intervals (instance_id, status, gpu_kept, gpu_count, rate, from_ts, to_ts) values (?, ?, ?, 1, ?, ?, ?)');
  const insAct = sq.prepare(
    "insert into actions (decision_key, decided_at, instance_id, instance_name, policy, action, mode, state, rate, retain_rate, sent_at, stopped_at, rebooted_at) values (?, ?, ?, ?, 'idle', 'release_gpu', 'enforce', 'confirmed', 1.59, 0.0009, ?, ?, ?)",
  );
  let n = 0;
  sq.transaction(() => {
    for (let slot = 0; slot < o.slots; slot++) {
      let t = START + Math.floor(r() * 3 * D);
      while (t < END) {
        const id = `inst-${++n}`;
        const death = r() < 0.4 ? t + Math.floor((5 + r() * 20) * D) : null;
        const until = death === null || death > END ? END : death;
        insInst.run(id, id, t, until, death !== null && death <= END ? death : null);
        insIv.run(id, 'deploying', 1, 0, t, t + 2 * MIN); // unbilled
        let cur = t + 2 * MIN;
        let running = true;
        while (cur < until) {
          const len = Math.floor((running ? 0.5 + r() * 14 : 1 + r() * 40) * H) + Math.floor(r() * 59_000);
          const next = Math.min(until, cur + len);
          const open = next === END && death === null;
          insIv.run(id, running ? 'running' : 'shutdown', running ? 1 : 0, running ? 1.59 : 0.0009, cur, open ? null : next);
          if (running && next < until && r() < 0.5) {
            const stop = next + 15_000;
            const boot = r() < 0.8 ? Math.min(until, next + Math.floor((1 + r() * 30) * H)) : null;
            insAct.run(`k-${id}-${cur}`, next, id, id, next, stop, boot !== null && boot < END ? boot : null);
          }
          cur = next;
          running = !running;
        }
        if (death === null || death > END) break;
        t = death + MIN;
      }
    }
    let bal = 5000;
    for (let t = START; t < END; t += H) {
      bal -= 8 * r();
      if (r() < 0.01) bal += 500;
      sq.prepare('insert into balance_points (at, balance) values (?, ?)').run(t, Math.round(bal * 100) / 100);
    }
    sq.prepare("insert into ticks (at, outcome) values (?, 'ok')").run(END);
  })();
}
