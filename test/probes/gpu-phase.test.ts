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
const PERIOD = 2_000;

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

  it('the second reading of each link comes its phase of a period after the first (not a whole period for all)', async () => {
    // Timed: links whose phase is neither right after the first reading (which may still be running, and a reading
    // in flight skips the next) nor close to a whole period (which the check could not tell from no phase at all).
    const timed = accesses.filter((a) => phaseOf(a.id) > 0.15 && phaseOf(a.id) < 0.75);
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
    await waitFor(async () => [...readings.values()].every((r) => r.length >= 2), 3 * PERIOD + 5_000, 50);
    for (const a of timed) {
      const [first, second] = readings.get(a.id)!;
      expect(Math.abs(second - first - phaseOf(a.id) * PERIOD), `${a.id}: phase ${phaseOf(a.id).toFixed(2)}`).toBeLessThan(400);
    }
  });

  it('phases spread evenly over the period', () => {
    const deciles = new Array(10).fill(0);
    for (let i = 0; i < 2000; i++) deciles[Math.floor(phaseOf(`inst${i.toString(36).padStart(12, '0')}`) * 10)]++;
    for (const n of deciles) expect(n).toBeGreaterThan(140);
    expect(phaseOf('abc')).toBe(phaseOf('abc'));
  });
});
