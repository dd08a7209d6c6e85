/** A source of the current time in epoch milliseconds; injected everywhere below the process wiring. */
export interface Clock {
  now(): number;
  /** clock milliseconds per real millisecond (absent: 1); timers that pace work on this clock divide by it */
  readonly rate?: number;
}

/** Real milliseconds until `ms` of `clock` time have passed (at least 10 ms): for timers that pace work on the clock. */
export function realMs(clock: Clock, ms: number): number {
  const r = clock.rate;
  return r && r > 0 ? Math.max(10, ms / r) : ms;
}

/** The real wall clock; only process wiring (main, cli) should construct it. */
export const systemClock: Clock = { now: () => Date.now() };

/** A clock that only moves when told to: for tests, benchmarks and the simulator's manual mode. */
export class ManualClock implements Clock {
  constructor(private t: number) {}
  now(): number {
    return this.t;
  }
  /** Move forward by `ms` milliseconds. */
  advance(ms: number): number {
    this.t += ms;
    return this.t;
  }
  /** Jump to an absolute time (never backwards). */
  set(t: number): void {
    if (t < this.t) throw new RangeError('ManualClock cannot go backwards');
    this.t = t;
  }
}

/**
 * A clock running `speed` times faster than `base`, starting at `origin`.
 * The demo shares one of these between the simulator and the daemon so both see the same world time.
 */
export class ScaledClock implements Clock {
  private baseStart: number;
  private worldStart: number;
  constructor(
    private base: Clock,
    private speed: number,
    origin?: number,
  ) {
    this.baseStart = base.now();
    this.worldStart = origin ?? this.baseStart;
  }
  now(): number {
    return this.worldStart + (this.base.now() - this.baseStart) * this.speed;
  }
  /** Change speed from now on without a jump in world time. */
  setSpeed(speed: number): void {
    const w = this.now();
    this.baseStart = this.base.now();
    this.worldStart = w;
    this.speed = speed;
  }
  /** Jump forward by `ms` of world time. */
  advance(ms: number): void {
    this.worldStart += ms;
  }
  get rate(): number {
    return this.speed;
  }
}
