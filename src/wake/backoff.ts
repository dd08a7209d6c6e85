/** The wait between wake retry rounds: `first`, doubling each round, capped at `max`. */

/** Milliseconds to wait after retry round `round` (1 = the first round of tries came back short). */
export function wakeRetryDelayMs(round: number, first: number, max: number): number {
  return Math.min(max, first * 2 ** Math.max(0, round - 1));
}
