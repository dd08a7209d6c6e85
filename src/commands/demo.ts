/** `xgc-guard demo`: simulator + daemon + dashboard on an accelerated clock, no account needed. */
import type { Command } from './types.js';
import { startDemo } from '../demo.js';
import { untilSignal } from './common.js';

const demo: Command = {
  summary: 'Run the guard against the built-in simulator on an accelerated clock, with the dashboard on 127.0.0.1.',
  usage: 'Usage: xgc-guard demo [--port N] [--speed K]\n\nDefaults: --port 8080, --speed 60 (one simulated hour per real minute).',
  options: { port: { type: 'string', short: 'p' }, speed: { type: 'string' } },
  async run(values) {
    const port = values.port === undefined ? 8080 : Number(values.port);
    const speed = values.speed === undefined ? 60 : Number(values.speed);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port: expected 0-65535, got "${String(values.port)}"`);
    if (!Number.isFinite(speed) || speed <= 0 || speed > 10_000) throw new Error(`--speed: expected a number in (0, 10000], got "${String(values.speed)}"`);
    const d = await startDemo({ port, speed });
    await untilSignal();
    await d.close();
    return 0;
  },
};
export default demo;
