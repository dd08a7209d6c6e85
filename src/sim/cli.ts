/** `xgc-guard sim`: run the simulator in the foreground until SIGINT/SIGTERM. */
import { parseArgs } from 'node:util';
import { startSimulator } from './index.js';

/** Parse `[--port N] [--instances N] [--balance X] [--speed K] [--token T] [--seed S] [--host H]`, start, wait for a signal. */
export async function runSimCli(argv: string[], log: (line: string) => void = console.log): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string', default: '8300' },
      host: { type: 'string', default: '127.0.0.1' },
      instances: { type: 'string', default: '3' },
      balance: { type: 'string', default: '200' },
      speed: { type: 'string', default: '1' },
      token: { type: 'string', default: 'sim-token' },
      seed: { type: 'string', default: '42' },
    },
    strict: true,
  });
  const num = (name: string, v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new Error(`--${name}: expected a non-negative number, got "${v}"`);
    return n;
  };
  const sim = await startSimulator({
    token: values.token,
    host: values.host,
    port: num('port', values.port),
    instances: num('instances', values.instances),
    balance: num('balance', values.balance),
    speed: num('speed', values.speed),
    seed: num('seed', values.seed),
  });
  log(`XianGong simulator listening at ${sim.url} (speed ${values.speed}x, ${values.instances} instances, balance ¥${values.balance})`);
  log(`token: use XGC_API_BASE_URL=${sim.url} XGC_API_TOKEN=${values.token === 'sim-token' ? 'sim-token' : '<the --token you gave>'}`);
  log(`ssh: every instance that ran listens on ${values.host} (ssh_domain/ssh_port/ssh_user/password in /open/instances)`);
  log(`ground truth: ${sim.url}/sim/state   (Ctrl-C to stop)`);
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await sim.close();
  log('simulator stopped');
}
