import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startSimulator, type RunningSim } from '../../src/sim/index.js';
import { spendReport } from '../../src/db/spend.js';
import { runCli, tempDir } from '../helpers/proc.js';
import { startHarness, T0 } from '../helpers/guard.js';

/** The part of the simulator's `/sim/state` this test reads. */
interface SimStatuses {
  instances: Array<{ id: string; status: string }>;
}

describe('xgc-guard plan', () => {
  let sim: RunningSim;
  beforeAll(async () => {
    sim = await startSimulator({ token: 'T', instances: 3, speed: 1, seed: 11 });
  });
  afterAll(async () => sim.close());

  it('observes once, prints each decision with its reason, and acts on nothing', async () => {
    const dir = tempDir();
    const cfg = join(dir, 'c.yaml');
    writeFileSync(cfg, 'dry_run: false\npolicies:\n  - { name: idle-release, type: idle, idle_for: 20m, min_uptime: 1m }\n  - { name: low, type: balance, below: [500] }\n');
    const before = (await (await fetch(`${sim.url}/sim/state`)).json()) as SimStatuses;
    const r = await runCli(['plan', '--config', cfg], { XGC_API_TOKEN: 'T', XGC_API_BASE_URL: sim.url, GUARD_DB: join(dir, 'none.db') });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/nothing is acted on/);
    expect(r.stdout).toMatch(/low\s+account\s+alert balance_low\s+balance ¥\d+\.\d\d < ¥500\.00/);
    expect(r.stdout).toMatch(/next planned action per instance:/);
    const json = await runCli(['plan', '--config', cfg, '--json'], { XGC_API_TOKEN: 'T', XGC_API_BASE_URL: sim.url, GUARD_DB: join(dir, 'none.db') });
    const plan = JSON.parse(json.stdout);
    expect(plan.decisions.some((d: any) => d.kind === 'alert' && d.policy === 'low')).toBe(true);
    const idleActs = plan.decisions.filter((d: any) => d.kind === 'act');
    for (const d of idleActs) expect(d).toMatchObject({ policy: 'idle-release', action: 'release_gpu', mode: 'enforce' });
    const after = (await (await fetch(`${sim.url}/sim/state`)).json()) as SimStatuses;
    expect(after.instances.map((i) => i.status)).toEqual(before.instances.map((i) => i.status));
    expect(r.stdout + json.stdout).not.toContain('T"'); // no token echo
  });

  it('refuses without a token', async () => {
    const r = await runCli(['plan'], { GUARD_DB: join(tempDir(), 'x.db') });
    expect(r.code).toBe(2);
  });
});

describe('xgc-guard spend', () => {
  it('prints the same figures as the spend module, by day and by instance', async () => {
    const h = await startHarness({ probes: { jupyter: { enabled: false }, comfyui: { enabled: false }, sdwebui: { enabled: false } } });
    try {
      await h.add({ name: 'sd-a', status: 'running' });
      await h.add({ name: 'big', status: 'running', gpu_count: 2 });
      for (let i = 0; i < 36 * 6; i++) await h.step(10 * 60_000);
      const cfg = join(tempDir(), 'c.yaml');
      writeFileSync(cfg, `db: { path: ${h.config.db.path} }\ntimezone: UTC\n`);
      const from = new Date(T0).toISOString();
      const to = new Date(T0 + 36 * 3_600_000).toISOString();
      const r = await runCli(['spend', '--config', cfg, '--from', from, '--to', to, '--by', 'day', '--json'], {});
      expect(r.code).toBe(0);
      const j = JSON.parse(r.stdout);
      const want = spendReport(h.gdb.db, { from: T0, to: T0 + 36 * 3_600_000, by: 'day', tz: 'UTC', now: h.clock.now() });
      expect(j.total).toEqual(want.total);
      expect(j.rows).toHaveLength(2);
      const t = await runCli(['spend', '--config', cfg, '--from', from, '--to', to, '--by', 'instance'], {});
      expect(t.stdout).toMatch(/^big \w{16}\s+¥\d+\.\d\d/m);
      expect(t.stdout).toMatch(/^total\s+¥/m);
      const bad = await runCli(['spend', '--config', cfg, '--by', 'week'], {});
      expect(bad.code).toBe(1);
      expect(bad.stderr).toMatch(/--by: expected day, hour or instance/);
    } finally {
      await h.close();
    }
  }, 240_000);
});
