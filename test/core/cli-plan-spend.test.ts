import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { buildApp } from '../../src/http/app.js';
import { startSimulator, type RunningSim } from '../../src/sim/index.js';
import { spendReport } from '../../src/db/spend.js';
import { runCli, tempDir } from '../helpers/proc.js';
import { pythonCsv } from '../helpers/python-csv.js';
import { startHarness, T0 } from '../helpers/guard.js';

/** The spend tests need the money, not idleness: no probe runs (no SSH stream to settle at each of their 216 steps). */
const SPEND_ONLY = { jupyter: { enabled: false }, comfyui: { enabled: false }, sdwebui: { enabled: false }, gpu: { enabled: false }, heartbeat: { enabled: false } };

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
    expect(r.stdout).toMatch(/per instance \(a decision now, else the next planned action\):/);
    const json = await runCli(['plan', '--config', cfg, '--json'], { XGC_API_TOKEN: 'T', XGC_API_BASE_URL: sim.url, GUARD_DB: join(dir, 'none.db') });
    const plan = JSON.parse(json.stdout);
    expect(plan.decisions.some((d: any) => d.kind === 'alert' && d.policy === 'low')).toBe(true);
    const idleActs = plan.decisions.filter((d: any) => d.kind === 'act');
    for (const d of idleActs) expect(d).toMatchObject({ policy: 'idle-release', action: 'release_gpu', mode: 'enforce' });
    const after = (await (await fetch(`${sim.url}/sim/state`)).json()) as SimStatuses;
    expect(after.instances.map((i) => i.status)).toEqual(before.instances.map((i) => i.status));
    expect(r.stdout + json.stdout).not.toContain('T"'); // no token echo
  });

  it("with the daemon's database: the daemon's idle clocks and decisions, no bookkeeping rows, each time once", async () => {
    const policies = [
      { name: 'idle-release', type: 'idle', idle_for: '45m', min_uptime: '1m' },
      { name: 'low', type: 'balance', below: [100] },
      { name: 'runway', type: 'runway', warn_hours: 12, act_hours: 2 },
    ];
    // the daemon ran for the last 20 minutes (its clock ends at the real time plan runs at)
    const h = await startHarness({ policies, probes: { heartbeat: { enabled: false } } }, { start: Date.now() - 20 * 60_000 });
    const app = await buildApp({ gdb: h.gdb, config: h.config, clock: h.clock, log: pino({ level: 'silent' }), runtime: { dbOpen: true, leader: true, jobsRunning: true, demo: false }, guard: h.core.service });
    try {
      const id = await h.add({ name: 'sd-idle', image: 'WebUI', status: 'running' });
      await h.add({ name: 'train', image: 'Jupyter', status: 'running', busy: true, kind: 'background' });
      while (h.clock.now() < Date.now() - 60_000) await h.step(60_000);
      // the daemon keeps ticking at real time while plan runs (every 200 ms: back to back, ticks took a core from the CLI)
      let running = true;
      const daemon = (async () => {
        while (running) {
          h.clock.set(Math.max(h.clock.now(), Date.now()));
          await h.step(0);
          await new Promise((r) => setTimeout(r, 200));
        }
      })();
      const cfg = join(tempDir(), 'c.yaml');
      writeFileSync(cfg, `db: { path: ${h.config.db.path} }\nprobes: { heartbeat: { enabled: false } }\npolicies: ${JSON.stringify(policies)}\n`);
      const env = { XGC_API_TOKEN: 'T', XGC_API_BASE_URL: h.sim.url };
      const t0 = Date.now();
      const r = await runCli(['plan', '--config', cfg], env);
      const t1 = Date.now();
      const json = JSON.parse((await runCli(['plan', '--config', cfg, '--json'], env)).stdout);
      running = false;
      await daemon;
      const api = (await app.inject({ url: '/api/v1/instances' })).json();
      const since = Date.parse(api.instances.find((i: any) => i.id === id).idle.since);
      expect(since).toBeLessThan(t0 - 15 * 60_000); // the daemon's idle clock: idle since it first looked
      // the same idle clock as the daemon's page, in the JSON and in the printed figure
      expect(Date.parse(json.idle[id].since)).toBe(since);
      expect(r.code).toBe(0);
      const m = r.stdout.match(/^idle-release\s+sd-idle \(\w+\)\s+release_gpu at \d\d:\d\d\s+idle (?:(\d+)m)?(?:(\d+)s)? of 45m$/m);
      expect(m, r.stdout).not.toBeNull();
      const shown = (Number(m![1] ?? 0) * 60 + Number(m![2] ?? 0)) * 1000;
      expect(shown).toBeGreaterThanOrEqual(t0 - since - 1000);
      expect(shown).toBeLessThanOrEqual(t1 - since + 1000);
      // no bookkeeping rows (the balance and runway alerts that are not firing close themselves), each time once
      expect(r.stdout).not.toMatch(/resolve/);
      expect(json.decisions.map((d: any) => d.kind)).not.toContain('resolve');
      const times = r.stdout.match(/\d\d:\d\d/g) ?? [];
      expect(new Set(times).size, r.stdout).toBe(times.length);
      expect(r.stdout).toMatch(/^—\s+train \(\w+\)\s+running$/m);
    } finally {
      await app.close();
      await h.close();
    }
  }, 120_000);

  it('refuses without a token', async () => {
    const r = await runCli(['plan'], { GUARD_DB: join(tempDir(), 'x.db') });
    expect(r.code).toBe(2);
  });
});

describe('xgc-guard spend', () => {
  it('prints the same figures as the spend module, by day and by instance', async () => {
    const h = await startHarness({ probes: SPEND_ONLY });
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
      expect(bad.stderr).toMatch(/--by: expected day, hour, instance or group/);
    } finally {
      await h.close();
    }
  }, 240_000);

  it('--csv: Python reads the header and one row per --json row, with the BOM and a Chinese name with a comma intact', async () => {
    const h = await startHarness({ probes: SPEND_ONLY });
    try {
      const odd = '渲染, "甲"';
      const oddId = await h.add({ name: odd, status: 'running' });
      await h.add({ name: 'big', status: 'running', gpu_count: 2 });
      for (let i = 0; i < 36 * 6; i++) await h.step(10 * 60_000);
      const cfg = join(tempDir(), 'c.yaml');
      writeFileSync(cfg, `db: { path: ${h.config.db.path} }\ntimezone: UTC\n`);
      const range = ['--from', new Date(T0).toISOString(), '--to', new Date(T0 + 36 * 3_600_000).toISOString()];
      for (const by of ['day', 'instance'] as const) {
        const j = JSON.parse((await runCli(['spend', '--config', cfg, ...range, '--by', by, '--json'], {})).stdout);
        const r = await runCli(['spend', '--config', cfg, ...range, '--by', by, '--csv'], {});
        expect(r.code).toBe(0);
        const p = pythonCsv(r.stdout);
        expect(p.bom).toBe(true);
        expect(p.header).toEqual(by === 'day' ? ['day', 'estimated_yuan', 'observed_yuan', 'saved_yuan'] : ['instance_id', 'instance_name', 'estimated_yuan', 'saved_yuan']);
        expect(p.rows).toHaveLength(j.rows.length);
        p.rows.forEach((row, i) => expect(Number(row[by === 'day' ? 1 : 2])).toBe(j.rows[i].estimated));
        if (by === 'instance') expect(p.rows.find((row) => row[0] === oddId)?.[1]).toBe(odd);
        else expect(p.rows.map((row) => row[0])).toEqual(j.rows.map((x: { key: string }) => x.key.slice(0, 10)));
      }
      const both = await runCli(['spend', '--config', cfg, '--json', '--csv'], {});
      expect(both.code).toBe(1);
      expect(both.stderr).toMatch(/--csv: use either --json or --csv/);
    } finally {
      await h.close();
    }
  }, 240_000);
});
