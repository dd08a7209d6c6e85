import { afterEach, describe, expect, it, vi } from 'vitest';
import pino from 'pino';
import { ManualClock, systemClock } from '../../src/clock.js';
import { JobRunner } from '../../src/jobs/scheduler.js';
import { startHarness } from '../helpers/guard.js';

const log = pino({ level: 'silent' });

describe('jobs', () => {
  it('a job never overlaps itself: a firing during a run is skipped and reported; stop waits for the running job', async () => {
    const clock = new ManualClock(0);
    let runs = 0;
    let release!: () => void;
    const skipped: number[] = [];
    const runner = new JobRunner([{ name: 'tick', schedule: '0 0 1 1 *', run: () => ((runs++, new Promise<void>((r) => (release = r)))), onSkip: (t) => skipped.push(t) }], { clock, log, timezone: 'UTC' });
    runner.start();
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
    const runner = new JobRunner([{ name: 'slow', schedule: '0 0 1 1 *', run: () => new Promise(() => {}) }], { clock: new ManualClock(0), log, timezone: 'UTC' });
    runner.start();
    void runner.fire('slow');
    expect(await runner.stop(100)).toBe(false);
  });

  it('fires a known job only, once started', async () => {
    const runner = new JobRunner([{ name: 'a', schedule: '0 0 1 1 *', run: async () => {} }], { clock: new ManualClock(0), log, timezone: 'UTC' });
    await expect(runner.fire('a')).rejects.toThrow('jobs not started');
    runner.start();
    await expect(runner.fire('b')).rejects.toThrow('no job b');
    await expect(runner.fire('a')).resolves.toBeUndefined();
    await runner.stop();
  });

  it('rejects duplicate job names', () => {
    const j = { name: 'a', schedule: '* * * * *', run: async () => {} };
    expect(() => new JobRunner([j, j], { clock: new ManualClock(0), log, timezone: 'UTC' })).toThrow(/duplicate job name a/);
  });

  it('rejects a schedule croner does not read, naming it and the field', () => {
    expect(() => new JobRunner([{ name: 'a', schedule: '0 25 * * *', run: async () => {} }], { clock: new ManualClock(0), log, timezone: 'UTC' })).toThrow('bad cron expression "0 25 * * *": hour "25" is out of range 0-23');
  });

  it('catches and logs a failed run; the job runs again at its next firing', async () => {
    const errors: unknown[] = [];
    const logged = pino({ level: 'error' }, { write: (line: string) => void errors.push(JSON.parse(line)) });
    let runs = 0;
    const runner = new JobRunner([{ name: 'boom', schedule: '0 0 1 1 *', run: async () => {
      runs++;
      throw new Error('kaput');
    } }], { clock: new ManualClock(0), log: logged, timezone: 'UTC' });
    runner.start();
    await expect(runner.fire('boom')).resolves.toBeUndefined();
    await runner.fire('boom');
    expect(runs).toBe(2);
    expect(errors).toMatchObject([{ job: 'boom', msg: 'job failed', err: { message: 'kaput' } }, { job: 'boom' }]);
    await runner.stop();
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

// The scheduler's timers against the system clock, both faked by vitest (Date and setTimeout move together, and a
// clock set forward or back moves Date alone, as on a machine woken from sleep or corrected by NTP).
describe('job schedules', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  /** A runner of one job on `schedule`, recording the time each run was given (ISO, UTC), and each skipped firing. */
  function runnerOf(schedule: string, timezone = 'UTC') {
    const runs: string[] = [];
    const onSkip = (now: number) => void runs.push(`skipped ${new Date(now).toISOString()}`);
    const runner = new JobRunner([{ name: 'j', schedule, run: async (now) => void runs.push(new Date(now).toISOString()), onSkip }], { clock: systemClock, log, timezone });
    return { runs, runner };
  }

  it('fire at each occurrence in the configured zone, to the second (six fields: seconds)', async () => {
    vi.useFakeTimers({ now: Date.UTC(2026, 0, 1, 0, 0, 0, 500) });
    const daily = runnerOf('0 0 9 * * *', 'Asia/Shanghai');
    const quarter = runnerOf('*/15 * * * * *');
    daily.runner.start();
    quarter.runner.start();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(quarter.runs).toEqual(['2026-01-01T00:00:15.000Z', '2026-01-01T00:00:30.000Z', '2026-01-01T00:00:45.000Z', '2026-01-01T00:01:00.000Z']);
    await quarter.runner.stop();
    await vi.advanceTimersByTimeAsync(2 * 86_400_000);
    expect(daily.runs).toEqual(['2026-01-01T01:00:00.000Z', '2026-01-02T01:00:00.000Z']); // 09:00 in Shanghai
    await daily.runner.stop();
  });

  it('after sleeping through occurrences, fire once within 30 s, not once for each missed one', async () => {
    vi.useFakeTimers({ now: Date.UTC(2026, 0, 1, 0, 30) });
    const daily = runnerOf('0 0 9 * * *');
    const minutely = runnerOf('0 * * * * *');
    daily.runner.start();
    minutely.runner.start();
    vi.setSystemTime(Date.UTC(2026, 0, 3, 12, 0, 30)); // two and a half days later; no timer ran meanwhile
    await vi.advanceTimersByTimeAsync(30_000); // the timers set before the sleep end: the clock reads 12:01:00
    expect(daily.runs).toEqual(['2026-01-03T12:01:00.000Z']);
    expect(minutely.runs).toEqual(['2026-01-03T12:01:00.000Z']);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(daily.runs).toEqual(['2026-01-03T12:01:00.000Z']);
    expect(minutely.runs).toEqual(['2026-01-03T12:01:00.000Z', '2026-01-03T12:02:00.000Z']);
    await daily.runner.stop();
    await minutely.runner.stop();
  });

  it('after the clock is set back, fire at the next occurrence from where it is now', async () => {
    vi.useFakeTimers({ now: Date.UTC(2026, 0, 1, 0, 30) });
    const hourly = runnerOf('0 0 * * * *');
    hourly.runner.start();
    await vi.advanceTimersByTimeAsync(60_000);
    vi.setSystemTime(Date.UTC(2025, 11, 31, 23, 10)); // set back: 23:10 the day before
    await vi.advanceTimersByTimeAsync(51 * 60_000);
    expect(hourly.runs).toEqual(['2026-01-01T00:00:00.000Z']);
    await hourly.runner.stop();
  });

  it('skip a firing while the previous run goes on, report it once per occurrence, and run it when that run ends', async () => {
    vi.useFakeTimers({ now: Date.UTC(2026, 0, 1) });
    const runs: string[] = [];
    const skipped: string[] = [];
    let release!: () => void;
    const iso = (t: number) => new Date(t).toISOString().slice(11, 19);
    const run = async (now: number) => {
      runs.push(iso(now));
      if (runs.length === 1) await new Promise<void>((r) => (release = r));
    };
    const runner = new JobRunner([{ name: 'j', schedule: '0 * * * * *', run, onSkip: (now) => void skipped.push(iso(now)) }], { clock: systemClock, log, timezone: 'UTC' });
    runner.start();
    await vi.advanceTimersByTimeAsync(190_000); // 00:03:10: the run of 00:01 goes on through 00:02 and 00:03
    expect({ runs, skipped, running: runner.isRunning('j') }).toEqual({ runs: ['00:01:00'], skipped: ['00:02:00', '00:03:00'], running: true });
    release();
    await vi.advanceTimersByTimeAsync(60_000);
    expect({ runs, skipped }).toEqual({ runs: ['00:01:00', '00:03:30', '00:04:00'], skipped: ['00:02:00', '00:03:00'] });
    await runner.stop();
  });

  it("follow the machine's clock, and give each run the injected clock's time (a demo's clock runs 600x faster)", async () => {
    vi.useFakeTimers({ now: Date.UTC(2026, 0, 1) });
    const sim = new ManualClock(Date.UTC(2030, 5, 1));
    const runs: number[] = [];
    const runner = new JobRunner([{ name: 'j', schedule: '*/2 * * * * *', run: async (now) => void runs.push(now) }], { clock: sim, log, timezone: 'UTC' });
    runner.start();
    await vi.advanceTimersByTimeAsync(6_000);
    expect(runs).toEqual([sim.now(), sim.now(), sim.now()]);
    await runner.stop();
  });

  it('fire nothing once stopped', async () => {
    vi.useFakeTimers({ now: Date.UTC(2026, 0, 1) });
    const every = runnerOf('* * * * * *');
    every.runner.start();
    await vi.advanceTimersByTimeAsync(3_000);
    expect(every.runs).toHaveLength(3);
    await every.runner.stop();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(every.runs).toHaveLength(3);
    expect(vi.getTimerCount()).toBe(0);
  });
});
