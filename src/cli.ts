#!/usr/bin/env node
/** The `xgc-guard` command: run, check, plan, sim, demo, spend, tune, override, wake, notify, health. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { VERSION } from './version.js';
import { ConfigError, ConfigErrors, StartRefused } from './errors.js';
import type { Command } from './commands/types.js';

const commands: Record<string, () => Promise<Command>> = {
  run: async () => (await import('./commands/run.js')).default,
  check: async () => (await import('./commands/check.js')).default,
  plan: async () => (await import('./commands/plan.js')).default,
  spend: async () => (await import('./commands/spend.js')).default,
  tune: async () => (await import('./commands/tune.js')).default,
  override: async () => (await import('./commands/override.js')).default,
  wake: async () => (await import('./commands/wake.js')).default,
  notify: async () => (await import('./commands/notify.js')).default,
  health: async () => (await import('./commands/health.js')).default,
  sim: async () => (await import('./commands/sim.js')).default,
  demo: async () => (await import('./commands/demo.js')).default,
};

/** The command names, in help order. */
export function commandNames(): string[] {
  return Object.keys(commands);
}

async function mainHelp(): Promise<string> {
  const rows: string[] = [];
  for (const [name, load] of Object.entries(commands)) rows.push(`  ${name.padEnd(10)}${(await load()).summary}`);
  return [
    `xgc-guard ${VERSION} — cost guard for XianGong Cloud GPU instances`,
    '',
    'Usage: xgc-guard <command> [options]',
    '',
    'Commands:',
    ...rows,
    '',
    'Run `xgc-guard <command> --help` for a command\'s options.',
  ].join('\n');
}

/**
 * Let a string option take a value that starts with a dash and a digit in the space form: `--from -7d`
 * becomes `--from=-7d` (node:util parseArgs would otherwise call the value ambiguous).
 */
export function joinNegativeValues(args: string[], options: NonNullable<ParseArgsConfig['options']>): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const next = args[i + 1];
    const long = /^--([^=]+)$/.exec(a)?.[1];
    if (long !== undefined && options[long]?.type === 'string' && next !== undefined && /^-\d/.test(next)) {
      out.push(`${a}=${next}`);
      i++;
    } else out.push(a);
    if (a === '--') {
      out.push(...args.slice(i + 1));
      break;
    }
  }
  return out;
}

/** Print an error thrown by a command as one line (or one per config finding); returns the exit code. */
function report(name: string, e: unknown): number {
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
  console.error(`xgc-guard ${name}: ${e instanceof Error ? e.message : String(e)}`);
  return 1;
}

/** Entry point: returns the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(await mainHelp());
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
  const options = { ...cmd.options, help: { type: 'boolean' as const, short: 'h' }, version: { type: 'boolean' as const } };
  let parsed;
  try {
    parsed = parseArgs({ args: joinNegativeValues(rest, options), options, allowPositionals: cmd.allowPositionals ?? false, strict: true });
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
    return await cmd.run(parsed.values, parsed.positionals);
  } catch (e) {
    return report(name, e);
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
      console.error(`xgc-guard: ${e instanceof Error ? e.message : String(e)}`);
      process.exitCode = 1;
    },
  );
}
