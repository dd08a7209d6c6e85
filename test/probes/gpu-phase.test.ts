/**
 * GPU links opened together (every running instance at the guard's first tick) read CPU, network and logins each at
 * a phase of its own within the sampling period, not all in the same instant every period.
 * Real parts: the simulator's SSH server, a real SQLite file.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/clock.js';
import { openDb, type GuardDb } from '../../src/db/open.js';
import { GpuLink, phaseOf } from '../../src/probes/gpu-link.js';
import { startSimulator, type RunningSim } from '../../src/sim/index.js';
import { XgcClient } from '../../src/xgc/index.js';
import type { InstanceAccess } from '../../src/xgc/types.js';
import { tempDir } from '../helpers/proc.js';
import { waitFor } from './helpers.js';

const TOKEN = 'phase-token';
const PERIOD = 4_000;

describe('gpu links: each reads at its own phase of the sampling period', () => {
  let sim: RunningSim;
  let g: GuardDb;
  let accesses: InstanceAccess[];
  const links: GpuLink[] = [];

  beforeAll(async () => {
    sim = await startSimulator({ token: TOKEN, instances: 0, speed: 1, seed: 23 });
    for (let i = 0; i < 8; i++) sim.world.addInstance({ name: `box-${i}`, image: 'Jupyter', busy: false });
    g = openDb(join(tempDir('xgc-phase-'), 'guard.db'));
    accesses = (await new XgcClient({ baseUrl: sim.url, token: TOKEN }).listInstances()).map((x) => x.access);
  });
  afterAll(async () => {
    for (const l of links) l.stop();
    g?.close();
    await sim?.close();
  });

  it('the second reading of a link comes its phase of a period after the first, well before a whole period', async () => {
    // Timed: links whose phase leaves the first reading (three commands) ample time to finish, since a reading still
    // in flight skips the next one, and is well short of a whole period, which is when every link would read without
    // phases. The bound is loose on purpose (a loaded machine delays readings): a quarter of a period to spare.
    const timed = accesses.filter((a) => phaseOf(a.id) >= 0.24 && phaseOf(a.id) <= 0.55);
    expect(timed.length).toBeGreaterThanOrEqual(3);
    const readings = new Map<string, number[]>(accesses.map((a) => [a.id, []]));
    for (const a of accesses) {
      const link = new GpuLink(
        a,
        { sampleEveryMs: PERIOD, connectTimeoutMs: 5_000, backoffBaseMs: 1_000, backoffCapMs: 5_000 },
        { db: g.db, clock: systemClock, onState: () => undefined, onSample: (s) => void (s.load !== undefined && readings.get(a.id)!.push(performance.now())) },
      );
      links.push(link);
      link.start();
    }
    // positive control: every link reads periodically at all
    await waitFor(async () => [...readings.values()].every((r) => r.length >= 2), 3 * PERIOD + 10_000, 50);
    for (const a of timed) {
      const [first, second] = readings.get(a.id)!;
      expect(second - first, `${a.id}: phase ${phaseOf(a.id).toFixed(2)}`).toBeLessThan(0.8 * PERIOD);
    }
  });

  it('phases spread evenly over the period', () => {
    const deciles = new Array(10).fill(0);
    for (let i = 0; i < 2000; i++) deciles[Math.floor(phaseOf(`inst${i.toString(36).padStart(12, '0')}`) * 10)]++;
    for (const n of deciles) expect(n).toBeGreaterThan(140);
  });

  it("a link's phase depends on its id alone (the same on every call), in [0, 1)", () => {
    const ids = Array.from({ length: 500 }, (_, i) => `inst${i.toString(36).padStart(12, '0')}`);
    const phases = ids.map(phaseOf);
    expect(ids.map(phaseOf)).toEqual(phases);
    for (const p of phases) expect(p >= 0 && p < 1, String(p)).toBe(true);
  });
});
