/**
 * End to end with the default probe set (a config without a `probes` key) and an 8 s idle policy, through the
 * simulator's SSH: a Jupyter-image instance running `background` work (nohup/tmux: GPU busy, Jupyter idle) for an
 * hour of simulated time is never released; a forgotten idle one is.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startBenchHarness, type BenchHarness } from '../../src/bench/harness.js';
import { T0 } from '../helpers/guard.js';

let h: BenchHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('the GPU itself, end to end with the default probes', () => {
  it('background work the apps cannot see is never released in an hour; the forgotten instance is', async () => {
    h = await startBenchHarness({ dry_run: false, policies: [{ name: 'idle', type: 'idle', idle_for: '8s', min_uptime: '0s' }] }, { start: T0 });
    expect(h.config.probes.gpu.enabled).toBe(true); // the default
    const w = h.sim.world;
    const training = w.addInstance({ name: 'train-nohup', image: 'Jupyter', status: 'running' }).id;
    w.setActivity(training, true, undefined, 'background');
    const forgotten = w.addInstance({ name: 'jupyter-forgotten', image: 'Jupyter', status: 'running' }).id;
    let releasedAt: number | null = null;
    for (let s = 0; s < 3600; s += 20) {
      h.clock.advance(20_000);
      await h.tick();
      expect(w.instance(training)!.status, `released at ${s + 20}s of background work`).toBe('running');
      if (releasedAt === null && w.instance(forgotten)!.status !== 'running') releasedAt = s + 20;
    }
    expect(releasedAt).not.toBeNull();
    expect(releasedAt!).toBeLessThanOrEqual(120);
    // the verdicts say why: the GPU is busy while Jupyter reports nothing
    const v = Object.fromEntries((h.gdb.sqlite.prepare('select probe, verdict from probe_state where instance_id = ?').all(training) as any[]).map((r) => [r.probe, r.verdict]));
    expect(v).toMatchObject({ gpu: 'busy', jupyter: 'idle' });
    const acts = h.gdb.sqlite.prepare('select instance_id from actions').all() as any[];
    expect(acts.map((a) => a.instance_id)).toEqual([forgotten]);
  });

  // CPU load and network count while they last (the 1-minute load average decays within minutes); a login counts
  // until it has been idle for active_window (15 m)
  it.each([
    ['cpu', 0, 5, /load|network/],
    ['interactive', 15, 18, /login/],
  ] as const)('%s work (GPU idle) is busy through the probe loop, and idle %i to %i minutes after it ended', async (kind, minMin, maxMin, why) => {
    h = await startBenchHarness({ dry_run: true, policies: [] }, { start: T0 });
    const w = h.sim.world;
    const id = w.addInstance({ name: `box-${kind}`, image: 'Jupyter', status: 'running' }).id;
    w.setActivity(id, true, undefined, kind);
    const gpu = () => h!.gdb.sqlite.prepare("select verdict, detail from probe_state where instance_id = ? and probe = 'gpu'").get(id) as { verdict: string; detail: string } | undefined;
    for (let k = 0; k < 5; k++) {
      h.clock.advance(60_000);
      await h.tick();
    }
    expect(gpu()).toMatchObject({ verdict: 'busy', detail: expect.stringMatching(why) });
    w.setActivity(id, false);
    const endedAt = h.clock.now();
    let idleAt: number | null = null;
    for (let k = 0; k < 30 && idleAt === null; k++) {
      h.clock.advance(60_000);
      await h.tick();
      if (gpu()?.verdict === 'idle') idleAt = h.clock.now();
    }
    expect(idleAt).not.toBeNull();
    expect(idleAt! - endedAt).toBeGreaterThanOrEqual(minMin * 60_000);
    expect(idleAt! - endedAt).toBeLessThanOrEqual(maxMin * 60_000);
  });
});
