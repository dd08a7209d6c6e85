/** Pieces shared by CLI commands: config loading, the logger from env, the read-only database. */
import { existsSync, statSync } from 'node:fs';
import { createLogger, type Logger } from '../log.js';
import { loadConfig, type LoadedConfig } from '../config/load.js';
import { openDb, type GuardDb } from '../db/open.js';
import { GuardError } from '../errors.js';
import type { OptionValues } from './types.js';

/** A string option's value, or undefined. */
export const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** The line a command prints to say which config file it read, or null when it runs on the defaults. */
export function configSourceLine(source: LoadedConfig['source']): string | null {
  return source.kind === 'file' ? `config: ${source.path}` : null;
}

/**
 * Load the config named by --config (else GUARD_CONFIG, else ./guard.yaml), throwing ConfigErrors before anything
 * runs, and say on stderr which file was read (`quiet`: the command says it in its own output). `env` replaces
 * the process environment.
 */
export function loadFromArgs(values: OptionValues, opts: { env?: Record<string, string | undefined>; quiet?: boolean } = {}): LoadedConfig {
  const loaded = loadConfig({ file: str(values.config), env: opts.env });
  const line = configSourceLine(loaded.source);
  if (line && !opts.quiet) console.error(line);
  return loaded;
}

/** The daemon's database does not exist (yet): a read-only command never creates one. */
export class NoDatabase extends GuardError {
  constructor(public readonly path: string) {
    super(`no database at ${path}; has the daemon run? (GUARD_DB)`, 'no_database', 404);
  }
}

/** Whether the daemon's database file exists. */
export function hasDatabase(path: string): boolean {
  return path !== ':memory:' && existsSync(path) && statSync(path).isFile();
}

/** Open the daemon's existing database read-only; NoDatabase when it is not there (nothing is created). */
export function openExistingDb(path: string): GuardDb {
  if (!hasDatabase(path)) throw new NoDatabase(path);
  return openDb(path, { readonly: true });
}

/** The process logger: level from GUARD_LOG_LEVEL, pretty only on a TTY (unless GUARD_LOG_PRETTY=0). */
export function processLogger(): Logger {
  const pretty = !!process.stdout.isTTY && process.env.GUARD_LOG_PRETTY !== '0';
  return createLogger({ level: process.env.GUARD_LOG_LEVEL ?? 'info', pretty });
}

/** Resolve when SIGTERM or SIGINT arrives. */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (sig: NodeJS.Signals) => {
      process.off('SIGTERM', on);
      process.off('SIGINT', on);
      resolve(sig);
    };
    process.on('SIGTERM', on);
    process.on('SIGINT', on);
  });
}

/** The `--config FILE` option every config-reading command takes. */
export const configOption = { config: { type: 'string' as const, short: 'c' } };
