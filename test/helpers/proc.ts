/** Test helpers for spawning the built CLI as a real process. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/** Absolute path of the built CLI (npm test builds first). */
export const CLI = resolve(__dirname, '..', '..', 'dist', 'cli.js');

/** A fresh temp directory. */
export function tempDir(prefix = 'xgc-guard-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** A spawned CLI with its output collected. */
export interface Proc {
  child: ChildProcess;
  out: () => string;
  err: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** wait until stdout+stderr matches `re`, or reject after `ms` (default 60 s: a loaded machine starts node slowly) */
  waitFor(re: RegExp, ms?: number): Promise<RegExpMatchArray>;
}

/** Spawn `node dist/cli.js ...args` with `env` added to a minimal environment. */
export function spawnCli(args: string[], env: Record<string, string> = {}, cwd?: string): Proc {
  const base: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', GUARD_LOG_PRETTY: '0' };
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...base, ...env }, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.on('exit', (code, signal) => r({ code, signal })));
  return {
    child,
    out: () => out,
    err: () => err,
    exited,
    waitFor(re, ms = 60_000) {
      return new Promise((resolveP, reject) => {
        const started = Date.now();
        const iv = setInterval(() => {
          const m = (out + err).match(re);
          if (m) {
            clearInterval(iv);
            resolveP(m);
          } else if (Date.now() - started > ms || child.exitCode !== null) {
            clearInterval(iv);
            reject(new Error(`timed out waiting for ${re}; exit=${child.exitCode}\nstdout:\n${out}\nstderr:\n${err}`));
          }
        }, 50);
      });
    },
  };
}

/** Run the CLI to completion. */
export async function runCli(args: string[], env: Record<string, string> = {}, cwd?: string) {
  const p = spawnCli(args, env, cwd);
  const { code } = await p.exited;
  return { code, stdout: p.out(), stderr: p.err() };
}
