/**
 * A lock held across processes on this machine, for tests that change machine-wide state (a system user's
 * password): two copies of the suite running at once (scripts/stress-suite) take turns instead of clobbering
 * each other. A directory made atomically under /tmp, with the holder's pid in it.
 */
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { processAlive } from '../../src/db/lease.js';

/** Wait for the machine-wide lock `name` (up to `timeoutMs`); resolves to its release function. */
export async function machineLock(name: string, timeoutMs = 600_000): Promise<() => void> {
  const dir = join('/tmp', `xgc-guard-lock-${name}`);
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      mkdirSync(dir);
      writeFileSync(join(dir, 'pid'), String(process.pid));
      return () => rmSync(dir, { recursive: true, force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    let holder = 0;
    try {
      holder = Number(readFileSync(join(dir, 'pid'), 'utf8'));
    } catch {
      /* between the holder's mkdir and its pid file */
    }
    // A holder that died (a killed test run) leaves the directory behind: take it over. No pid file for a
    // while means the same.
    const orphan = holder ? !processAlive(holder) : Date.now() - statSafe(dir) > 10_000;
    if (orphan) {
      rmSync(dir, { recursive: true, force: true });
      continue;
    }
    if (Date.now() > until) throw new Error(`machine lock ${name} still held by pid ${holder} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function statSafe(path: string): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return Date.now();
  }
}
