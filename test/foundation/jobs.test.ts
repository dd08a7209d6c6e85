import { describe, expect, it } from 'vitest';
import pino from 'pino';
import { ManualClock } from '../../src/clock.js';
import { JobRunner } from '../../src/jobs/scheduler.js';
import { startHarness } from '../helpers/guard.js';

const log = pino({ level: 'silent' });

describe('jobs', () => {
  it('a job never overlaps itself: a firing during a run is skipped and reported; stop waits for the running job', async () => {
    const clock = new ManualClock(0);
    let runs = 0;
    let release!: () => void;
    const skipped: number[] = [];
    const runner = new JobRunner([{ name: 'tick', schedule: '* * * * * *', run: () => ((runs++, new Promise<void>((r) => (release = r)))), onSkip: (t) => skipped.push(t) }], { clock, log, timezone: 'UTC' });
    const first = runner.fire('tick');
    clock.advance(1000);
    await runner.fire('tick');
    expect(runs).toBe(1);
    expect(skipped).toEqual([1000]);
    expect(runner.isRunning('tick')).toBe(true);
    let stopped = false;
    const stopping = runner.stop(5_000).then((ok) => ((stopped = true), ok));
    await new Promise((r) => setTimeout(r, 50));
    expect(stopped).toBe(false); // still waiting for the running job
    release();
    await first;
    expect(await stopping).toBe(true);
  });

  it('stop gives up after its grace period and says so', async () => {
    const runner = new JobRunner([{ name: 'slow', schedule: '* * * * *', run: () => new Promise(() => {}) }], { clock: new ManualClock(0), log, timezone: 'UTC' });
    void runner.fire('slow');
    expect(await runner.stop(100)).toBe(false);
  });

  it('rejects duplicate job names', () => {
    const j = { name: 'a', schedule: '* * * * *', run: async () => {} };
    expect(() => new JobRunner([j, j], { clock: new ManualClock(0), log, timezone: 'UTC' })).toThrow(/duplicate job name a/);
  });

  it('a skipped tick is recorded in the ticks table', async () => {
    const h = await startHarness();
    try {
      h.core.ticker.recordSkip(h.clock.now());
      expect(h.gdb.sqlite.prepare('select outcome, error_class from ticks').all()).toEqual([{ outcome: 'skipped', error_class: 'overlap' }]);
    } finally {
      await h.close();
    }
  });
});
