/** Test helpers for the probe tests: instance access builder, free ports, system-dependency gates. */
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import type { InstanceAccess } from '../../src/xgc/types.js';

/** An InstanceAccess with empty endpoints, overridden by `over`. */
export function access(over: Partial<InstanceAccess> = {}): InstanceAccess {
  return {
    id: 'inst0000000000001',
    image: '',
    webUrl: '',
    jupyterUrl: '',
    jupyterToken: '',
    sshHost: '',
    sshPort: null,
    sshUser: '',
    password: '',
    ...over,
  };
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/**
 * Check system binaries a test needs. Returns a skip reason naming the Debian package, or null when all exist.
 * With REQUIRE_SYSTEM_DEPS=1 a missing binary throws instead (the test file fails).
 */
export function systemDeps(needs: { path: string; pkg: string; check?: () => boolean }[]): string | null {
  const missing = needs.filter((n) => !existsSync(n.path) || (n.check && !n.check()));
  if (missing.length === 0) return null;
  const msg = missing.map((m) => `${m.path} (Debian package ${m.pkg})`).join(', ');
  if (process.env.REQUIRE_SYSTEM_DEPS === '1') throw new Error(`missing system dependency: ${msg}`);
  console.warn(`skipping: missing system dependency ${msg}; install it with apt-get install ${missing.map((m) => m.pkg).join(' ')}`);
  return msg;
}

/** Wait `ms` milliseconds. */
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Poll `fn` until it returns a truthy value or `timeoutMs` passes. */
export async function waitFor<T>(fn: () => Promise<T | undefined | false>, timeoutMs: number, stepMs = 200): Promise<T> {
  const end = Date.now() + timeoutMs;
  let lastErr: unknown;
  while (Date.now() < end) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      lastErr = e;
    }
    await sleep(stepMs);
  }
  const why = lastErr instanceof Error ? lastErr.message : lastErr === undefined ? '' : JSON.stringify(lastErr);
  throw new Error(`timed out waiting${why ? `: ${why}` : ''}`);
}
