/**
 * V8 heap settings for the long-running daemon (`xgc-guard run`), justified by bench/RESULTS.md (1,000 instances, a
 * year of history, a dashboard open): what survives a full GC is about 35 MB, yet V8's default heuristics let the
 * old generation grow to 3-4x that between full collections (a peak RSS near 300 MB). Both flags below are read at
 * each collection, so setting them at start takes effect:
 * - `--heap-growing-percent=20`: after a full GC the old generation may grow 20% over what survived;
 * - `--optimize-for-size`: V8's memory-over-speed heuristics (smaller young generation when idle, leaner caches).
 * The young generation's maximum can only be set before the process starts: the container image sets
 * `NODE_OPTIONS=--max-semi-space-size=2` (Dockerfile).
 */
import v8 from 'node:v8';

/** The flags applied by {@link tuneDaemonHeap}. */
export const DAEMON_V8_FLAGS = ['--heap-growing-percent=20', '--optimize-for-size'] as const;

/** Apply the daemon's heap settings to this process (call once, before the daemon starts). */
export function tuneDaemonHeap(): void {
  for (const f of DAEMON_V8_FLAGS) v8.setFlagsFromString(f);
}
