/** `xgc-guard sim`: the XianGong simulator in the foreground. */
import type { Command } from './types.js';
import { runSimCli } from '../sim/cli.js';

const names = ['port', 'host', 'instances', 'balance', 'speed', 'token', 'seed'] as const;

const sim: Command = {
  summary: 'Run the XianGong Cloud simulator (fake cloud over real HTTP, with a /sim control API).',
  usage:
    'Usage: xgc-guard sim [--port N] [--instances N] [--balance X] [--speed K] [--token T] [--seed S] [--host H]\n\n' +
    'Defaults: --port 8300 --instances 3 --balance 200 --speed 1 (0 = manual clock) --token sim-token --seed 42',
  options: Object.fromEntries(names.map((n) => [n, { type: 'string' as const }])),
  async run(values) {
    const argv: string[] = [];
    for (const n of names) if (typeof values[n] === 'string') argv.push(`--${n}`, values[n] as string);
    await runSimCli(argv);
    return 0;
  },
};
export default sim;
