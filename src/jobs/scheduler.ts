/**
 * Jobs as a declarative table, each run by croner on its cron schedule in the configured zone (read as every cron of
 * the config is: src/config/cron.ts). A job never overlaps itself (croner's `protect`): a firing while its previous
 * run is still going is skipped, logged and reported once per occurrence; the job runs again within 30 s of that run's
 * end. Errors are caught and logged. Schedules follow the machine's clock, which croner reads at least every 30 s:
 * occurrences slept through (or skipped by a clock set forward) run once, within 30 s, not once each. Each run is
 * given the injected clock's time. `stop()` waits (bounded) for running jobs.
 */
import type { Cron } from 'croner';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import { readCron } from '../config/cron.js';

/** One row of the jobs table. */
export interface JobSpec {
  /** unique name, e.g. "tick" */
  name: string;
  /** cron expression (src/config/cron.ts) */
  schedule: string;
  /** the work; receives the injected clock's time */
  run(now: number): Promise<unknown>;
  /** called when a firing was skipped because the previous run was still going */
  onSkip?(now: number): void;
}

/** Runs a table of jobs on their cron schedules. */
export class JobRunner {
  private readonly crons = new Map<string, Cron>();
  /** the runs going on, for stop() to wait for */
  private readonly running = new Map<string, Promise<unknown>>();
  /** per job, the occurrence whose skipped firing was last reported */
  private readonly reported = new Map<string, number>();
  private started = false;

  constructor(
    private readonly jobs: JobSpec[],
    private readonly deps: {
      /** the time each run is given (a demo's or a test's clock may run faster than the machine's) */
      clock: Clock;
      log: Logger;
      timezone: string;
    },
  ) {
    for (const job of jobs) {
      if (this.crons.has(job.name)) throw new Error(`duplicate job name ${job.name}`);
      const cron = readCron(job.schedule, {
        timezone: deps.timezone,
        protect: () => {
          // while the run goes on, croner checks an overdue occurrence again every 30 s: one report per occurrence
          const missed = cron.previousRuns(1, new Date(Date.now() + 1))[0]?.getTime(); // at or before now
          if (missed !== undefined && this.reported.get(job.name) === missed) return;
          if (missed !== undefined) this.reported.set(job.name, missed);
          this.skipped(job);
        },
        catch: (err) => deps.log.error({ err, job: job.name }, 'job failed'),
      });
      this.crons.set(job.name, cron);
    }
  }

  /** Start every job's schedule. */
  start(): void {
    this.started = true;
    for (const job of this.jobs) this.crons.get(job.name)!.schedule(() => this.run(job));
  }

  private async run(job: JobSpec): Promise<void> {
    const p = job.run(this.deps.clock.now());
    this.running.set(job.name, p);
    try {
      await p;
    } finally {
      this.running.delete(job.name);
    }
  }

  private skipped(job: JobSpec): void {
    this.deps.log.warn({ job: job.name }, 'job still running; this firing is skipped');
    job.onSkip?.(this.deps.clock.now());
  }

  /** Run one job now (as a firing would; after start()), unless it is already running. Resolves when it ends. */
  async fire(name: string): Promise<void> {
    const job = this.jobs.find((j) => j.name === name);
    if (!job) throw new Error(`no job ${name}`);
    if (!this.started) throw new Error('jobs not started');
    const cron = this.crons.get(name)!;
    if (cron.isBusy()) this.skipped(job);
    else await cron.trigger();
  }

  /** Whether a job is running right now. */
  isRunning(name: string): boolean {
    return this.crons.get(name)?.isBusy() ?? false;
  }

  /** Stop schedules, then wait up to `graceMs` for running jobs to finish. Returns false on timeout. */
  async stop(graceMs = 8_000): Promise<boolean> {
    for (const cron of this.crons.values()) cron.stop();
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
