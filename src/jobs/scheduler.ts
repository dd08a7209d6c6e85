/**
 * Jobs as a declarative table run on their cron schedules. A job never overlaps itself: a firing while the
 * previous run is still going is skipped and reported. `stop()` waits (bounded) for running jobs.
 *
 * The schedules are read by src/cron-time.ts, the parser schedule policies use, so every cron expression in the
 * config means the same thing. A timer waits for the next occurrence (at most {@link MAX_WAIT} at a time, so that a
 * clock set forward or a machine woken from sleep is noticed within it); occurrences missed meanwhile fire once,
 * not once each. (node-cron did this until 2026-12: its scheduler formats every instant with `Intl.DateTimeFormat`,
 * which keeps ICU's data resident, ~8 MB of the daemon's peak: bench/RESULTS.md.)
 */
import type { Logger } from 'pino';
import { systemClock, type Clock } from '../clock.js';
import { cronNext, parseCron, type CronSpec } from '../cron-time.js';

/** The longest a timer waits before it looks at the clock again. */
export const MAX_WAIT = 60_000;

/** One row of the jobs table. */
export interface JobSpec {
  /** unique name, e.g. "tick" */
  name: string;
  /** cron expression (5 or 6 fields, src/cron-time.ts) */
  schedule: string;
  /** the work; receives the injected clock's time */
  run(now: number): Promise<unknown>;
  /** called when a firing was skipped because the previous run was still going */
  onSkip?(now: number): void;
}

/** Runs a table of jobs on their cron schedules. */
export class JobRunner {
  private readonly specs = new Map<string, CronSpec>();
  private readonly wall: Clock;
  private timers = new Map<string, NodeJS.Timeout>();
  private running = new Map<string, Promise<unknown>>();
  private stopped = true;

  constructor(
    private readonly jobs: JobSpec[],
    private readonly deps: {
      /** the time each run is given (a demo's or a test's clock may run faster than the machine's) */
      clock: Clock;
      log: Logger;
      timezone: string;
      /** the clock schedules follow, as timers do: the machine's (the default); a demo's ticks come every real 2 s */
      wallClock?: Clock;
    },
  ) {
    this.wall = deps.wallClock ?? systemClock;
    const names = new Set<string>();
    for (const j of jobs) {
      if (names.has(j.name)) throw new Error(`duplicate job name ${j.name}`);
      names.add(j.name);
      this.specs.set(j.name, parseCron(j.schedule)); // throws CronError, naming the expression
    }
  }

  /** Start every job's schedule. */
  start(): void {
    this.stopped = false;
    for (const job of this.jobs) this.arm(job, this.wall.now());
  }

  /** Wait for the job's first occurrence after `after`, fire it, and wait for the next. */
  private arm(job: JobSpec, after: number): void {
    const at = cronNext(this.specs.get(job.name)!, after, this.deps.timezone);
    if (at === null) return; // no occurrence within five years (e.g. February 30)
    const wait = (): void => {
      if (this.stopped) return;
      const now = this.wall.now();
      if (now < after) return this.arm(job, now); // the clock was set back: the next occurrence from where it is now
      if (now < at) {
        this.timers.set(job.name, setTimeout(wait, Math.min(at - now, MAX_WAIT)));
        return;
      }
      void this.fire(job);
      this.arm(job, now); // occurrences between at and now were missed (sleep, a clock set forward): not fired again
    };
    wait();
  }

  /** Run one job now (as a firing would), unless it is already running. Resolves when it ends. */
  async fire(job: JobSpec | string): Promise<unknown> {
    const spec = typeof job === 'string' ? this.jobs.find((j) => j.name === job) : job;
    if (!spec) throw new Error(`no job ${String(job)}`);
    const now = this.deps.clock.now();
    if (this.running.has(spec.name)) {
      this.deps.log.warn({ job: spec.name }, 'job still running; this firing is skipped');
      spec.onSkip?.(now);
      return undefined;
    }
    if (this.stopped && typeof job !== 'string') return undefined;
    const p = spec
      .run(now)
      .catch((err) => {
        this.deps.log.error({ err, job: spec.name }, 'job failed');
      })
      .finally(() => this.running.delete(spec.name));
    this.running.set(spec.name, p);
    return p;
  }

  /** Whether a job is running right now. */
  isRunning(name: string): boolean {
    return this.running.has(name);
  }

  /** Stop schedules, then wait up to `graceMs` for running jobs to finish. Returns false on timeout. */
  async stop(graceMs = 8_000): Promise<boolean> {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    const pending = [...this.running.values()];
    if (pending.length === 0) return true;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((r) => (timer = setTimeout(() => r(false), graceMs)));
    const done = Promise.allSettled(pending).then(() => true);
    const ok = await Promise.race([done, timeout]);
    clearTimeout(timer);
    if (!ok) this.deps.log.warn({ jobs: [...this.running.keys()] }, 'jobs still running after grace period');
    return ok;
  }
}
