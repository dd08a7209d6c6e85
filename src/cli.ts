#!/usr/bin/env node
/** The `xgc-guard` command: run, check, plan, sim, demo, spend, override. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { VERSION } from './version.js';
import { ConfigError, ConfigErrors, StartRefused } from './errors.js';

/** One CLI command: its help text, its options, and what it does. Returns the exit code. */
export interface Command {
  summary: string;
  usage: string;
  options: NonNullable<ParseArgsConfig['options']>;
  allowPositionals?: boolean;
  run(values: Record<string, string | boolean | undefined>, positionals: string[]): Promise<number>;
}

const commands: Record<string, () => Promise<Command>> = {
  run: async () => (await import('./commands/run.js')).default,
  check: async () => (await import('./commands/check.js')).default,
  sim: async () => (await import('./commands/sim.js')).default,
  demo: async () => (await import('./commands/demo.js')).default,
  plan: async () => (await import('./commands/plan.js')).default,
  spend: async () => (await import('./commands/spend.js')).default,
  override: async () => (await import('./commands/override.js')).default,
};

/** Register a command module (used as commands land; keeps the table in one place). */
export function commandNames(): string[] {
  return Object.keys(commands);
}

function mainHelp(): string {
  return [
    `xgc-guard ${VERSION} — cost guard for XianGong Cloud GPU instances`,
    '',
    'Usage: xgc-guard <command> [options]',
    '',
    'Commands:',
    ...Object.keys(commands).map((c) => `  ${c}`),
    '',
    'Run `xgc-guard <command> --help` for a command\'s options.',
  ].join('\n');
}

/** Entry point: returns the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(mainHelp());
    return name ? 0 : 1;
  }
  if (name === '--version' || name === '-v') {
    console.log(VERSION);
    return 0;
  }
  const load = commands[name];
  if (!load) {
    console.error(`xgc-guard: unknown command "${name}"; expected one of ${Object.keys(commands).join(', ')}`);
    return 1;
  }
  const cmd = await load();
  let parsed;
  try {
    parsed = parseArgs({
      args: rest,
      options: { ...cmd.options, help: { type: 'boolean', short: 'h' }, version: { type: 'boolean' } },
      allowPositionals: cmd.allowPositionals ?? false,
      strict: true,
    });
  } catch (e) {
    console.error(`xgc-guard ${name}: ${(e as Error).message}\n\n${cmd.usage}`);
    return 1;
  }
  if (parsed.values.help) {
    console.log(`${cmd.summary}\n\n${cmd.usage}`);
    return 0;
  }
  if (parsed.values.version) {
    console.log(VERSION);
    return 0;
  }
  try {
    return await cmd.run(parsed.values as Record<string, string | boolean | undefined>, parsed.positionals);
  } catch (e) {
    if (e instanceof ConfigErrors) {
      for (const err of e.errors) console.error(`config error: ${err.message}`);
      return 1;
    }
    if (e instanceof ConfigError) {
      console.error(`config error: ${e.message}`);
      return 1;
    }
    if (e instanceof StartRefused) {
      console.error(`refusing to start: ${e.message}`);
      return 2;
    }
    console.error(`xgc-guard ${name}: ${(e as Error).message}`);
    return 1;
  }
}

function isEntry(): boolean {
  try {
    return !!process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url);
  } catch {
    return false;
  }
}
if (isEntry()) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e) => {
      console.error(e);
      process.exitCode = 1;
    },
  );
}
