/**
 * Jobs as a declarative table run by node-cron. A job never overlaps itself: a firing while the
 * previous run is still going is skipped and reported. `stop()` waits (bounded) for running jobs.
 */
import cron, { type ScheduledTask } from 'node-cron';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';

/** One row of the jobs table. */
export interface JobSpec {
  /** unique name, e.g. "tick" */
  name: string;
  /** node-cron expression (5 or 6 fields) */
  schedule: string;
  /** the work; receives the injected clock's time */
  run(now: number): Promise<unknown>;
  /** called when a firing was skipped because the previous run was still going */
  onSkip?(now: number): void;
}

/** Runs a table of jobs on their cron schedules. */
export class JobRunner {
  private tasks: ScheduledTask[] = [];
  private running = new Map<string, Promise<unknown>>();
  private stopped = true;

  constructor(
    private readonly jobs: JobSpec[],
    private readonly deps: { clock: Clock; log: Logger; timezone: string },
  ) {
    const names = new Set<string>();
    for (const j of jobs) {
      if (names.has(j.name)) throw new Error(`duplicate job name ${j.name}`);
      names.add(j.name);
    }
  }

  /** Start every job's schedule. */
  start(): void {
    this.stopped = false;
    for (const job of this.jobs) {
      const task = cron.schedule(job.schedule, () => void this.fire(job), { timezone: this.deps.timezone, name: job.name });
      this.tasks.push(task);
    }
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
    if (this.stopped && this.tasks.length === 0 && typeof job !== 'string') return undefined;
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
    for (const t of this.tasks) await t.stop();
    for (const t of this.tasks) await t.destroy();
    this.tasks = [];
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
