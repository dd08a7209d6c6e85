/** Exponential backoff, the one rule every retry in the guard waits by. */

/** How a wait is spread: not at all, over 0-100% of it (`full`), or over 50-100% (`equal`). */
export type Jitter = 'none' | 'full' | 'equal';

/**
 * Milliseconds to wait before retry number `step` (0 = the first retry): `base` doubled `step` times, at most `cap`,
 * spread by `jitter` with `random` (tests pass a constant).
 */
export function backoff(step: number, o: { base: number; cap: number; jitter?: Jitter }, random: () => number = Math.random): number {
  const d = Math.min(o.cap, o.base * 2 ** Math.min(Math.max(0, step), 40));
  if (o.jitter === 'full') return random() * d;
  if (o.jitter === 'equal') return Math.round(d / 2 + (random() * d) / 2);
  return d;
}
