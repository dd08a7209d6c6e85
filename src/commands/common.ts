/** Pieces shared by CLI commands: config loading, the logger from env. */
import { createLogger, type Logger } from '../log.js';
import { loadConfig, type LoadedConfig } from '../config/load.js';

/** Load the config named by --config (or GUARD_CONFIG), throwing ConfigErrors before anything runs. */
export function loadFromArgs(values: Record<string, string | boolean | undefined>): LoadedConfig {
  return loadConfig({ file: typeof values.config === 'string' ? values.config : undefined });
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
