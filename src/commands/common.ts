/** Pieces shared by CLI commands: config loading, the logger from env, the read-only database. */
import { existsSync, statSync } from 'node:fs';
import { createLogger, type Logger } from '../log.js';
import { loadConfig, type LoadedConfig } from '../config/load.js';
import { openDb, type GuardDb } from '../db/open.js';
import { GuardError } from '../errors.js';
import type { OptionValues } from './types.js';

/** A string option's value, or undefined. */
export const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** Load the config named by --config (or GUARD_CONFIG), throwing ConfigErrors before anything runs. */
export function loadFromArgs(values: OptionValues): LoadedConfig {
  return loadConfig({ file: str(values.config) });
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
