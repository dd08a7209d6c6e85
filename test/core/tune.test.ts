/**
 * `xgc-guard tune`: recordings made by the real guard against the simulator (over HTTP and SSH, on a manual clock),
 * replayed under other idle windows by the core, the built CLI and GET /api/v1/tune.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { buildApp } from '../../src/http/app.js';
import { createOverride } from '../../src/db/overrides.js';
import { savingsReport } from '../../src/db/savings.js';
import { parseWindows, recommendationLine, tunePolicy, tuneReport } from '../../src/tune.js';
import { evaluateWindow, recommend, type IdleStretch, type TuneRow } from '../../src/policies/tune.js';
import { runCli, tempDir } from '../helpers/proc.js';
import { startHarness, T0, type Harness } from '../helpers/guard.js';

const S = 1000;
const TICK = 5 * S;
let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** A guard on a 5 s tick with one idle policy (observe-only unless `enforce`), GPU sampled every 5 s. */
async function record(policy: Record<string, unknown>, opts: { enforce?: boolean } = {}): Promise<Harness> {
  return startHarness(
    {
      dry_run: !opts.enforce,
      limits: { cooldown_after_boot: '0s' },
      probes: { heartbeat: { enabled: false }, jupyter: { enabled: false }, gpu: { sample_every: '5s', window: '10s' } },
      policies: [{ name: 'idle-release', type: 'idle', min_uptime: '0s', action: 'release_gpu', ...policy }],
    },
    { balance: 10_000 },
  );
}

/** Step the guard's ticks through `ms` of simulated time. */
async function run(ms: number): Promise<void> {
  for (let t = 0; t < ms; t += TICK) await h!.step(TICK);
}

const work = (id: string, busy: boolean) => h!.ctl(`/sim/instances/${id}/activity`, { busy, kind: 'app' });

/** The tune rows of the harness's database over [T0, now) for `windows`. */
function tuned(windows: string, policyName?: string) {
  const now = h!.clock.now();
  return tuneReport(h!.gdb.db, h!.config, { from: T0, to: now, now, windows: parseWindows(windows, '--idle-for'), policy: tunePolicy(h!.config, policyName, '--policy') });
}

/** The Done-when recording: working, idle 40 s, working, idle 100 s, working, then forgotten for 200 s. */
async function doneWhenRecording(): Promise<{ id: string }> {
  h = await record({ idle_for: '70s' });
  const id = await h.add({ name: 'sd-forgetful', image: 'WebUI', status: 'running', busy: true, kind: 'app' });
  await run(60 * S);
  await work(id, false);
  await run(40 * S);
  await work(id, true);
  await run(60 * S);
  await work(id, false);
  await run(100 * S);
  await work(id, true);
  await run(60 * S);
  await work(id, false);
  await run(200 * S);
  return { id };
}

describe('tune over a recording against the simulator', () => {
  it('idle 40 s, 100 s, then forgotten 200 s: interruptions 2 / 1 / 0, savings shrinking with the window, 70s current', async () => {
    await doneWhenRecording();
    const dir = tempDir();
    const dbPath = h!.config.db.path;
    const r = tuned('25s,70s,150s');
    expect(r.rows.map((x) => [x.idle_for, x.interruptions, x.current])).toEqual([
      ['25s', 2, false],
      ['1m10s', 1, true],
      ['2m30s', 0, false],
    ]);
    const saved = r.rows.map((x) => x.saved_yuan);
    expect(saved[0]).toBeGreaterThan(saved[1]);
    expect(saved[1]).toBeGreaterThan(saved[2]);
    expect(saved[2]).toBeGreaterThan(0); // the forgotten 200 s outlasts 150 s, counted until the range ended
    // the returns: about 40 - 25 s and 100 - 25 s after the releases would have been due (ticks are 5 s apart)
    expect(r.rows[0].median_return_s).toBeGreaterThanOrEqual(35);
    expect(r.rows[0].median_return_s).toBeLessThanOrEqual(55);
    expect(r.rows[1].median_return_s).toBeGreaterThanOrEqual(20);
    expect(r.rows[1].median_return_s).toBeLessThanOrEqual(40);
    expect(r.rows[2].median_return_s).toBeNull();
    expect(r.note).toMatch(/counted until the user's next boot/);
    // against the recording: 25 s saves more than the configured 70 s, 150 s less; the configured row is 0
    expect(r.rows.map((x) => Math.sign(x.more_than_current_yuan))).toEqual([1, 0, -1]);

    // the same through the built CLI against the recorded database
    const to = new Date(h!.clock.now()).toISOString();
    const app = await buildApp({ gdb: h!.gdb, config: h!.config, clock: h!.clock, log: pino({ level: 'silent' }), runtime: { dbOpen: true, leader: true, jobsRunning: true, demo: false }, guard: h!.core.service });
    try {
      const api = await app.inject({ method: 'GET', url: `/api/v1/tune?from=${new Date(T0).toISOString()}&to=${to}&idle_for=25s,70s,150s` });
      expect(api.statusCode).toBe(200);
      const body = api.json();
      expect(body.rows.map((x: { interruptions: number; current: boolean; saved_yuan: number }) => [x.interruptions, x.current, x.saved_yuan])).toEqual(r.rows.map((x) => [x.interruptions, x.current, x.saved_yuan]));
      expect(body.recommendation).toEqual(r.recommendation);
      expect(typeof body.history_days).toBe('number');
      const bad = await app.inject({ method: 'GET', url: `/api/v1/tune?idle_for=25s,soon` });
      expect(bad.statusCode).toBe(400);
      expect(bad.json().error.message).toMatch(/idle_for/);
    } finally {
      await app.close();
    }
    h!.gdb.sqlite.pragma('wal_checkpoint(TRUNCATE)');
    const cfg = join(dir, 'guard.yaml');
    writeFileSync(cfg, `db: { path: ${dbPath} }\npolicies:\n  - { name: idle-release, type: idle, idle_for: 70s, min_uptime: 0s }\nlimits: { cooldown_after_boot: 0s }\nlocale: en\n`);
    const cli = await runCli(['tune', '--config', cfg, '--from', new Date(T0).toISOString(), '--to', to, '--idle-for', '25s,70s,150s', '--json']);
    expect(cli.code, cli.stderr).toBe(0);
    const j = JSON.parse(cli.stdout);
    expect(Object.keys(j.rows[0]).sort()).toEqual(['current', 'idle_for', 'idle_for_s', 'interruptions', 'median_return_s', 'more_than_current_yuan', 'saved_yuan']);
    expect(j.rows.map((x: { interruptions: number }) => x.interruptions)).toEqual([2, 1, 0]);
    expect(j.rows.map((x: { current: boolean }) => x.current)).toEqual([false, true, false]);
    expect(j.rows.map((x: { saved_yuan: number }) => x.saved_yuan)).toEqual(saved);
    expect(j.recommendation).toBeDefined();
    const table = await runCli(['tune', '--config', cfg, '--from', new Date(T0).toISOString(), '--to', to, '--idle-for', '25s,150s']);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/1m10s\s+¥\d+\.\d\d\s+—\s+1\s+\S+\s+← configured/);
    expect(table.stdout).toMatch(/25s\s+¥\d+\.\d\d\s+\+¥\d+\.\d\d\s+2\s/);
    expect(table.stdout).toMatch(/counted until your next boot/);
    writeFileSync(cfg, `db: { path: ${dbPath} }\npolicies:\n  - { name: idle-release, type: idle, idle_for: 70s, min_uptime: 0s }\nlocale: zh-CN\n`);
    const zh = await runCli(['tune', '--config', cfg, '--from', new Date(T0).toISOString(), '--to', to]);
    expect(zh.stdout).toMatch(/空闲窗口/);
    expect(zh.stdout).toMatch(/← 当前配置/);
    const bad = await runCli(['tune', '--config', cfg, '--idle-for', '10m,soon']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/--idle-for: "soon" is not a duration/);
    const noPolicy = await runCli(['tune', '--config', cfg, '--policy', 'nope']);
    expect(noPolicy.code).not.toBe(0);
    expect(noPolicy.stderr).toMatch(/--policy: no idle policy named "nope"/);
  });

  it("a guard release followed by the user's boot is counted until the boot, the same as the guard's savings report", async () => {
    h = await record({ idle_for: '60s' }, { enforce: true });
    const id = await h.add({ name: 'sd-a', image: 'WebUI', status: 'running', busy: true, kind: 'app' });
    await run(30 * S);
    await work(id, false);
    await run(150 * S); // released about 60 s into the stretch
    expect((await h.state()).instances.find((i: { id: string }) => i.id === id).status).toBe('shutdown');
    await run(300 * S);
    h.sim.world.boot(id); // the user comes back, and works
    await run(30 * S);
    await work(id, true);
    await run(90 * S);
    const r = tuned('30s,60s,10m');
    const [w30, w60, w600] = r.rows;
    expect(w60.current).toBe(true);
    expect([w30.interruptions, w60.interruptions, w600.interruptions]).toEqual([1, 1, 0]);
    const guard = savingsReport(h.gdb.db, { from: T0, to: h.clock.now(), now: h.clock.now(), tz: 'UTC' });
    expect(guard.actions).toHaveLength(1);
    expect(guard.actions[0].ended_by).toBe('boot');
    // the replay's release was due at the tick the guard acted on, and stops billing after the guard's recorded delay
    expect(Math.abs(w60.saved_yuan - guard.total) / guard.total).toBeLessThan(0.02);
    expect(w60.median_return_s).toBeGreaterThan(350); // released about 95 s in, booted at 480 s
    expect(w60.median_return_s).toBeLessThan(420);
    expect(w30.saved_yuan).toBeGreaterThan(w60.saved_yuan);
    expect(w600.saved_yuan).toBe(0);
  });

  it("a user release ends a stretch without an interruption; the report's saving runs on to the range's end, the recording's stops at the release", async () => {
    h = await record({ idle_for: '10m' });
    const id = await h.add({ name: 'sd-b', image: 'WebUI', status: 'running', busy: true, kind: 'app' });
    await run(30 * S);
    await work(id, false);
    await run(100 * S);
    h.sim.world.releaseGpu(id); // the user releases it themselves
    await run(60 * S);
    const [w30] = tuned('30s').rows;
    expect(w30.interruptions).toBe(0);
    expect(w30.median_return_s).toBeNull();
    // against the recording (the configured 10m released nothing): about 70 s at the GPU rate minus the disk rate;
    // the savings report would have credited the release until the range's end (no boot came): about 130 s
    const price = (await h.state()).instances.find((i: { id: string }) => i.id === id).price_per_hour as number;
    expect(w30.more_than_current_yuan).toBeGreaterThan((price * 55) / 3600);
    expect(w30.more_than_current_yuan).toBeLessThan((price * 85) / 3600);
    expect(w30.saved_yuan).toBeGreaterThan((price * 115) / 3600);
    expect(w30.saved_yuan).toBeLessThan((price * 145) / 3600);
  });

  it('min_uptime: a release is never due before the instance has run that long', async () => {
    h = await record({ idle_for: '30s', min_uptime: '3m' });
    const id = await h.add({ name: 'sd-c', image: 'WebUI', status: 'running', busy: false });
    await run(100 * S);
    await work(id, true);
    await run(60 * S);
    await work(id, false);
    await run(60 * S);
    // idle for the first 100 s (over by then: due only at 3 minutes of uptime, so no interruption), then idle from
    // 160 s to the end of the range (due at 3 minutes: it saves, and the range, not the user, ends it)
    const [w30] = tuned('30s').rows;
    expect(w30.interruptions).toBe(0);
    expect(w30.saved_yuan).toBeGreaterThan(0);
  });

  it('the cooldown after a boot: no release is due before it ends', async () => {
    h = await record({ idle_for: '30s' });
    const id = await h.add({ name: 'sd-d', image: 'WebUI', status: 'shutdown' });
    await run(10 * S);
    h.sim.world.boot(id); // the user boots it, then leaves it idle for about a minute and comes back
    await run(90 * S);
    await work(id, true);
    await run(30 * S);
    const now = h.clock.now();
    const q = { from: T0, to: now, now, windows: [30_000], policy: tunePolicy(h.config, undefined, '--policy') };
    expect(tuneReport(h.gdb.db, h.config, q).rows[0].interruptions).toBe(1); // recorded with cooldown_after_boot 0s
    const cooled = { ...h.config, limits: { ...h.config.limits, cooldown_after_boot: 5 * 60_000 } };
    expect(tuneReport(h.gdb.db, cooled, q).rows[0]).toMatchObject({ interruptions: 0, saved_yuan: 0 });
  });

  it('an exempt override over the range keeps its instance out; an expired one does not', async () => {
    h = await record({ idle_for: '30s' });
    const a = await h.add({ name: 'sd-exempt', image: 'WebUI', status: 'running', busy: false });
    const b = await h.add({ name: 'sd-other', image: 'WebUI', status: 'running', busy: false });
    createOverride(h.gdb.db, { target: { instance_id: a }, kind: 'exempt', forever: true, reason: 'training', who: 't' }, h.clock.now());
    await run(90 * S);
    await work(a, true);
    await work(b, true);
    await run(30 * S);
    const [w30] = tuned('30s').rows;
    expect(w30.interruptions).toBe(1); // sd-other only
    h.gdb.sqlite.prepare('update overrides set revoked_at = ?').run(T0);
    expect(tuned('30s').rows[0].interruptions).toBe(2);
  });

  it('names the flag of a bad window or policy', () => {
    expect(() => parseWindows('10m,,1h', '--idle-for')).toThrow(/--idle-for: "" is not a duration/);
    expect(() => parseWindows('0s', '--idle-for')).toThrow(/--idle-for/);
  });
});

describe('the recommendation', () => {
  // in these rows the report's figure and the recording's agree: more_than_current_yuan is the saving minus a 45m window's ¥60
  const row = (idle_for_s: number, interruptions: number, saved_yuan: number, current = false): TuneRow => ({
    idle_for: `${idle_for_s / 60}m`,
    idle_for_s,
    saved_yuan,
    more_than_current_yuan: saved_yuan - 60,
    interruptions,
    median_return_s: interruptions ? 600 : null,
    current,
  });
  it.each([
    // [rows, days of history, what it says]
    [[row(600, 4, 90), row(1200, 1, 80), row(2700, 1, 60, true)], 7, { keep: false, idle_for_s: 1200, saved_more_yuan: 20, interruptions: 1 }],
    [[row(600, 4, 90), row(1200, 2, 80), row(2700, 1, 60, true)], 7, { keep: true }],
    [[row(600, 4, 90), row(1200, 2, 80), row(2700, 1, 60, true)], 14, { keep: true }], // two weeks: 2 is one a week, but more than the configured 1
    [[row(600, 3, 90), row(1200, 2, 80), row(2700, 2, 60, true)], 14, { keep: false, idle_for_s: 1200, interruptions: 2 }],
    [[row(600, 0, 90), row(2700, 0, 60, true)], 1, { keep: false, idle_for_s: 600 }],
    [[row(600, 5, 90), row(2700, 3, 60, true), row(7200, 0, 20)], 7, { keep: false, idle_for_s: 7200, saved_more_yuan: -40 }], // too many now: lengthen
  ])('%#: the shortest window with at most one interruption a week and no more than the configured one', (rows, days, want) => {
    expect(recommend(rows, days)).toMatchObject(want);
  });
  it('says it in the locale', () => {
    const base = { from: 0, to: 1, policy: 'idle-release', history_days: 7, note: '' };
    const rows = [row(1200, 1, 80), row(2700, 1, 60, true)];
    const r = { ...base, rows, recommendation: recommend(rows, 7) };
    expect(recommendationLine(r, 'en')).toBe('recommendation: 20m (¥20.00 more saved than 45m, 1 interruption(s))');
    expect(recommendationLine(r, 'zh-CN')).toBe('建议：改为 20m（比 45m 多省 ¥20.00，打断 1 次）');
    const keep = { ...base, rows: [row(2700, 0, 60, true)], recommendation: recommend([row(2700, 0, 60, true)], 7) };
    expect(recommendationLine(keep, 'en')).toMatch(/^recommendation: keep 45m/);
  });
});

describe('evaluateWindow', () => {
  it('never counts the same time twice: a stretch whose idle start lies before the last release ended is due after it', () => {
    const st = (start: number, end: number, endedBy: IdleStretch['endedBy']): IdleStretch => ({
      instanceId: 'a',
      start: T0 + start * S,
      end: T0 + end * S,
      reportEnd: T0 + end * S,
      endedBy,
      returns: endedBy === 'restart',
      runningSince: T0,
      bootAt: null,
      savedPerHour: 3.6,
    });
    // idle from 0 s; at 100 s every answer unknown; then idle again, since 50 s by the answer that came back, until the end
    const stretches = new Map([['a', [st(0, 100, 'unknown'), st(50, 300, 'range')]]]);
    const w = { idleForMs: 10 * S, minUptimeMs: 0, cooldownMs: 0, stopDelayMs: 0, from: T0, to: T0 + 300 * S, ticks: [], overridesFor: () => [] };
    // 90 s in the first stretch, then 100..300 s: 290 s at ¥3.6/h (not 90 + 240)
    expect(evaluateWindow(stretches, w)).toMatchObject({ interruptions: 0, saved_yuan: 0.29, median_return_s: null });
  });
});
