/**
 * V8 heap settings for the long-running daemon (`xgc-guard run`), justified by bench/RESULTS.md (1,000 instances, a
 * year of history, a dashboard open): what survives a full GC is about 35 MB, yet V8's default heuristics let the
 * old generation grow to 3-4x that between full collections (a peak RSS near 300 MB). The first two flags below are
 * read at each collection and the others at each WebAssembly compilation (undici compiles its parser on the first
 * `fetch`), so setting them at start, before the daemon's first request, takes effect:
 * - `--heap-growing-percent=20`: after a full GC the old generation may grow 20% over what survived;
 * - `--optimize-for-size`: V8's memory-over-speed heuristics (smaller young generation when idle, leaner caches);
 * - `--liftoff-only`, `--no-wasm-tier-up`, `--no-wasm-dynamic-tiering`: WebAssembly stays on V8's baseline compiler
 *   (the first flag alone implies the other two only on the command line; set at run time, Node 24's V8 still tiered
 *   up until all three were set). The daemon's only WebAssembly is the HTTP parser
 *   of Node's `fetch` (undici's llhttp; the cloud API, webhooks) and ssh2's poly1305 fallback. Tiering the parser up
 *   to TurboFan took ~31 MB of compiler memory at once soon after start (heaptrack, 1,000 instances), which glibc
 *   kept: peak RSS 172 -> 159 MB on Node 20. The parser reads a few responses a tick, so its speed does not matter.
 * The young generation's maximum can only be set before the process starts: the container image sets
 * `NODE_OPTIONS=--max-semi-space-size=2` (Dockerfile).
 */
import v8 from 'node:v8';

/** The flags applied by {@link tuneDaemonHeap}. */
export const DAEMON_V8_FLAGS = ['--heap-growing-percent=20', '--optimize-for-size', '--liftoff-only', '--no-wasm-tier-up', '--no-wasm-dynamic-tiering'] as const;

/** Apply the daemon's heap settings to this process (call once, before the daemon starts). */
export function tuneDaemonHeap(): void {
  for (const f of DAEMON_V8_FLAGS) v8.setFlagsFromString(f);
}
