/** The bench harness (simulator + guard core on one shared manual clock, over HTTP) with test conveniences. */
import { startBenchHarness, type BenchHarness } from '../../src/bench/harness.js';
import type { GuardCore } from '../../src/guard.js';

/** 2026-11-23 00:00 UTC (a Monday). */
export const T0 = Date.UTC(2026, 10, 23, 0, 0, 0);

/** A simulator + guard core pair. */
export interface Harness extends Omit<BenchHarness, 'tick'> {
  /** advance the shared clock by `ms` and run one tick */
  step(ms: number): ReturnType<GuardCore['ticker']['tick']>;
  /** add an instance in the simulator (as a user would have) */
  add(body: Record<string, unknown>): Promise<string>;
  /** POST to the simulator's control API */
  ctl(path: string, body: unknown): Promise<any>;
  state(): Promise<any>;
}

/** Start a harness; `raw` is a config object (as from YAML) merged over the test defaults (enforce, no policies). */
export async function startHarness(raw: Record<string, any> = {}, opts: { balance?: number; start?: number; debit?: 'hourly' | 'continuous' } = {}): Promise<Harness> {
  const b = await startBenchHarness(
    { dry_run: false, policies: [], probes: { heartbeat: { enabled: false } }, ...raw },
    { start: opts.start ?? T0, balance: opts.balance ?? 1000, debit: opts.debit },
  );
  const ctl = async (path: string, body: unknown) => {
    const r = await fetch(`${b.sim.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const j = await r.json();
    if (!r.ok) throw new Error(`${path}: ${JSON.stringify(j)}`);
    return j;
  };
  return {
    ...b,
    step(ms) {
      b.clock.advance(ms);
      return b.tick();
    },
    async add(body) {
      const { id } = (await ctl('/sim/instances', body)) as { id: string };
      return id;
    },
    ctl,
    async state() {
      return (await fetch(`${b.sim.url}/sim/state`)).json();
    },
  };
}
