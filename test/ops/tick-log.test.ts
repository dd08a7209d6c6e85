import { describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { createTickLog } from '../../src/jobs/tick-log.js';
import { startSimulator } from '../../src/sim/index.js';
import { SIM_MSG } from '../../src/sim/world.js';
import { spawnCli, tempDir } from '../helpers/proc.js';
import { startHarness } from '../helpers/guard.js';

/** A real pino logger whose JSON lines land in `lines`. */
function capture() {
  const lines: Array<Record<string, any>> = [];
  const dest = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(l));
      cb();
    },
  });
  return { lines, log: pino({ level: 'info' }, dest) };
}

const MIN = 60_000;

describe('tick log: a line when something changed, a summary every 15 minutes otherwise', () => {
  it('fed by real ticks against the simulator', async () => {
    const h = await startHarness({ probes: { jupyter: { enabled: false }, comfyui: { enabled: false }, sdwebui: { enabled: false } } });
    try {
      const { lines, log } = capture();
      const onTick = createTickLog({ log, summaryEveryMs: 15 * MIN });
      const a = await h.add({ name: 'sd-a', status: 'running', gpu_count: 1 });
      await h.add({ name: 'train-b', status: 'running', gpu_count: 2 });
      onTick(await h.step(MIN));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({ level: 30, outcome: 'ok', instances: { running: 2 }, decisions: 0, balance_yuan: expect.any(Number) });
      expect(lines[0].burn_yuan_per_hour).toBeGreaterThan(0);
      expect(lines[0].msg).toMatch(/^tick: 2 running; burn ¥\d+\.\d\d\/h; balance ¥\d+\.\d\d; 0 decisions$/);

      // 30 quiet minutes: exactly two summary lines, 15 minutes apart
      for (let i = 0; i < 30; i++) onTick(await h.step(MIN));
      const quiet = lines.slice(1);
      expect(quiet.map((l) => l.msg.replace(/;.*/, ''))).toEqual(['guard alive: 15 ticks since the last line, nothing changed', 'guard alive: 15 ticks since the last line, nothing changed']);
      expect(quiet[0]).toMatchObject({ ticks: 15, ticks_ok: 15, ticks_blind: 0, instances: { running: 2 } });

      // a change is logged at once
      await h.ctl(`/sim/instances/${a}/status`, { status: 'shutdown' });
      const before = lines.length;
      onTick(await h.step(MIN));
      expect(lines.length).toBe(before + 1);
      expect(lines.at(-1)!.msg).toMatch(/^tick: 1 running, 1 shutdown; burn ¥/);
      expect(lines.at(-1)!.burn_yuan_per_hour).toBe(lines[0].burn_yuan_per_hour); // a plain shutdown keeps the GPU, and its billing

      // a blind tick is a change too, and keeps the last picture of the account
      await h.ctl('/sim/faults', { error_rate: 1 });
      onTick(await h.step(MIN));
      expect(lines.at(-1)).toMatchObject({ outcome: 'blind', instances: { running: 1, shutdown: 1 } });
      expect(lines.at(-1)!.msg).toMatch(/^tick \(blind\): 1 running, 1 shutdown/);
    } finally {
      await h.close();
    }
  }, 120_000);

  it('summary_every 0s turns the summary off; changes still log', async () => {
    const h = await startHarness();
    try {
      const { lines, log } = capture();
      const onTick = createTickLog({ log, summaryEveryMs: 0 });
      onTick(await h.step(MIN));
      for (let i = 0; i < 40; i++) onTick(await h.step(MIN));
      expect(lines.map((l) => l.msg)).toEqual(['tick: no instances; burn ¥0.00/h; balance ¥1000.00; 0 decisions']);
    } finally {
      await h.close();
    }
  }, 120_000);

  it('the daemon (built CLI) logs its ticks and a summary at log.summary_every', async () => {
    const sim = await startSimulator({ token: 'tok-log', instances: 2, speed: 1, seed: 9 });
    const dir = tempDir();
    const cfg = join(dir, 'guard.yaml');
    writeFileSync(cfg, 'snapshot: { every: "*/1 * * * * *" }\nlog: { summary_every: 3s }\npolicies: []\n');
    const p = spawnCli(['run', '--config', cfg], { XGC_API_TOKEN: 'tok-log', XGC_API_BASE_URL: sim.url, GUARD_DB: join(dir, 'g.db'), GUARD_HTTP_PORT: '0' });
    try {
      await p.waitFor(/"msg":"tick: \d+ \w+/, 30_000);
      await p.waitFor(/"msg":"guard alive: \d+ ticks since the last line, nothing changed/, 30_000);
    } finally {
      p.child.kill('SIGTERM');
      await p.exited;
      await sim.close();
    }
  }, 90_000);

  it('the daemon logs each key once per line, and a rejected token names its cause', async () => {
    const sim = await startSimulator({ token: 'tok-right', instances: 1, speed: 1, seed: 9 });
    const dir = tempDir();
    const cfg = join(dir, 'guard.yaml');
    writeFileSync(cfg, 'snapshot: { every: "*/1 * * * * *" }\npolicies: []\n');
    const p = spawnCli(['run', '--config', cfg], { XGC_API_TOKEN: 'tok-wrong', XGC_API_BASE_URL: sim.url, GUARD_DB: join(dir, 'g.db'), GUARD_HTTP_PORT: '0' });
    try {
      await p.waitFor(/blind tick: cloud API failed/, 30_000);
    } finally {
      p.child.kill('SIGTERM');
      await p.exited;
      await sim.close();
    }
    const lines = p.out().split('\n').filter((l) => l.startsWith('{'));
    expect(lines.length).toBeGreaterThan(1);
    for (const line of lines) expect(duplicateKeys(line), line).toEqual([]);
    const blind = lines.map((l) => JSON.parse(l)).find((l) => l.msg.startsWith('blind tick'));
    expect(blind.cause).toContain(SIM_MSG.tokenUnknown);
  }, 90_000);
});

/** Keys that occur more than once in one object of a JSON text (JSON.parse would keep only the last). */
function duplicateKeys(text: string): string[] {
  const dups: string[] = [];
  const stack: Array<Set<string> | null> = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      const str = JSON.parse(text.slice(i, j + 1)) as string;
      let k = j + 1;
      while (text[k] === ' ') k++;
      const keys = stack.at(-1);
      if (text[k] === ':' && keys) {
        if (keys.has(str)) dups.push(str);
        keys.add(str);
      }
      i = j + 1;
    } else {
      if (c === '{') stack.push(new Set());
      else if (c === '[') stack.push(null);
      else if (c === '}' || c === ']') stack.pop();
      i++;
    }
  }
  return dups;
}
