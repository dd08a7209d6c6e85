/** The shape of one CLI command (kept apart from src/cli.ts so commands never import the entry point). */
import type { ParseArgsConfig } from 'node:util';

/** Parsed option values as node:util parseArgs returns them. */
export type OptionValues = Record<string, string | boolean | string[] | undefined>;

/** One CLI command: its help text, its options, and what it does. Returns the exit code. */
export interface Command {
  summary: string;
  usage: string;
  options: NonNullable<ParseArgsConfig['options']>;
  allowPositionals?: boolean;
  run(values: OptionValues, positionals: string[]): Promise<number>;
}
