/**
 * Scale benchmark, in worker processes:
 * - `history`: a simulated year of an N-instance account with churn ending at `end`, written as the rows the tick
 *   path writes (status intervals, instance facts, balance points, tick rows pruned to `retain_raw`, journal rows,
 *   probe verdict changes); then the rollup job back-fills it (as a daemon does at its first start), and database
 *   bytes per instance-day and spend query latency are measured.
 * - `ticks`: the real tick path against a simulator (its own process) holding N instances, on that year's
 *   database: tick wall time, cloud API calls per tick, `/api/v1/instances` latency and where it goes (after every
 *   probe has stored its answers, as in a running daemon: the answer carries their verdicts).
 * The daemon's own memory is measured by `scale-daemon.ts` (the real `xgc-guard run` process).
 */
import { copyFileSync, existsSync, rmSync, statSync } from 'node:fs';
import { Agent, get as httpGet } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { ManualClock } from '../clock.js';
import { parseConfig } from '../config/load.js';
import { openDb } from '../db/open.js';
import { spendReport, type SpendBy } from '../db/spend.js';
import { runRollup } from '../jobs/rollup.js';
import { createGuardCore } from '../guard.js';
import { currentInstances, openRates, todayEstimated } from '../db/instances.js';
import { activeOverrides } from '../db/overrides.js';
import { buildApp } from '../http/app.js';
import { pruneRaw } from '../jobs/retention.js';
import { startSimulator } from '../sim/index.js';
import { DEFAULT_TUNE_WINDOWS, parseWindows, tunePolicy, tuneReport } from '../tune.js';
import { XgcClient } from '../xgc/index.js';
import { peakRssMb, percentile, round, seededRandom } from './stats.js';

const DAY = 86_400_000;
const HOUR = 3_600_000;
const MIN = 60_000;
/** The "now" of a scale run: the start of the current minute (the daemon measured afterwards runs on real time). */
export function scaleNow(): number {
  return Math.floor(Date.now() / MIN) * MIN;
}

const rng = seededRandom;

const MODELS = [
  { model: 'RTX 4090 D', price: 1.59 },
  { model: 'RTX 4090', price: 1.89 },
  { model: 'RTX 4090 D 48G', price: 2.29 },
];
const IMAGES = [
  { image: 'SD_WebUI_1.10.1_老白_v1.1/已安装常用插件，适合新手直接使用。', probe: 'sdwebui' },
  { image: 'SD_ComfyUI_老白_v1.9/(PyTorch3.1 CUDA12.2)已安装常用节点。', probe: 'comfyui' },
  { image: 'Miniconda3_3.10/ubuntu22.04/CUDA 12.2', probe: null },
];
const RETAIN = 0.0009;

/** The churn model of the synthetic year (documented in RESULTS.md). */
export const CHURN = {
  lifetimeMeanDays: 60,
  useDayWeekday: 0.6,
  useDayWeekend: 0.3,
  sessionsPerUseDay: [1, 1, 2, 2, 3],
  sessionHours: [0.5, 10],
  burstsPerSessionMax: 6,
  transientObservedP: 0.3,
  guardReleaseP: 0.3,
};

/** What the history worker measured. */
export interface HistoryReport {
  instances: number;
  instance_rows: number;
  instance_days: number;
  rows: Record<string, number>;
  db_bytes: number;
  bytes_per_instance_day: number;
  /** pages in use only (free pages left by pruning excluded) */
  live_bytes_per_instance_day: number;
  bytes_by_table: Record<string, number> | null;
  synth_s: number;
  /** the rollup job's first run over the year (the back-fill a daemon does at start) */
  rollup: { s: number; days: number; months: number; cells: number; max_step_ms: number; p95_step_ms: number };
  spend_ms: Record<string, { p50: number | null; p95: number | null; n: number }>;
  /** `tune` (as `GET /api/v1/tune` runs it) over the last 30 days with the default windows */
  tune_ms: { p50: number | null; p95: number | null; n: number; probe_rows: number };
  peak_rss_mb: number;
}

/** Synthesize a year of history ending at `end` for an N-instance account into `path` (deleted first), roll it up, measure. */
export async function synthesizeHistory(path: string, n: number, end: number, seed = 11): Promise<HistoryReport> {
  for (const s of ['', '-wal', '-shm']) if (existsSync(path + s)) rmSync(path + s);
  const t0 = performance.now();
  const gdb = openDb(path);
  const sq = gdb.sqlite;
  const r = rng(seed ^ n);
  const start = end - 365 * DAY;
  const insInstance = sq.prepare(
    `insert into instances (id, name, status, status_known, gpu_model, gpu_count, price_per_hour, retain_price, image, data_center, web_url, created_ts, start_ts, stop_ts, first_seen, last_seen, gone_at, billed_since, running_since)
     values (?, ?, ?, 1, ?, ?, ?, ?, ?, '浙江一区', ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const insInterval = sq.prepare('insert into intervals (instance_id, status, gpu_kept, gpu_count, rate, from_ts, to_ts) values (?, ?, ?, ?, ?, ?, ?)');
  const insChange = sq.prepare('insert into probe_changes (instance_id, probe, verdict, at, detail) values (?, ?, ?, ?, ?)');
  const insState = sq.prepare('insert or replace into probe_state (instance_id, probe, verdict, since, detail, metrics, checked_at) values (?, ?, ?, ?, ?, null, ?)');
  const insAction = sq.prepare(
    `insert into actions (decision_key, decided_at, instance_id, instance_name, policy, action, mode, state, who, reason, status_at_decision, expected_status, rate, retain_rate, sent_at, response_code, finished_at, stopped_at, rebooted_at)
     values (?, ?, ?, ?, 'idle-release', 'release_gpu', 'enforce', 'confirmed', 'policy', ?, 'running', 'shutdown', ?, ?, ?, 200, ?, ?, ?)`,
  );
  const insBalance = sq.prepare('insert into balance_points (at, balance) values (?, ?)');
  const insTick = sq.prepare("insert into ticks (at, duration_ms, api_calls, outcome, instance_count, decisions) values (?, ?, 2, 'ok', ?, 0)");
  let idSeq = 0;
  let instanceRows = 0;
  let instanceDays = 0;
  const rows: Record<string, number> = { intervals: 0, probe_changes: 0, actions: 0, balance_points: 0, ticks: 0 };
  const details: Record<string, [string, string]> = {
    jupyter: ['jupyter: kernel busy (1 connection)', 'jupyter idle since last activity, 0 connections'],
    sdwebui: ['sdwebui job in progress (43%, 1 job(s))', 'sdwebui has no job in progress'],
    comfyui: ['comfyui queue: 1 running, 0 pending', 'comfyui queue empty'],
  };
  const hourlyBurn = new Float64Array(366 * 24);

  /** One instance slot's life from `from` to `to` (death or the end of the year). */
  const life = (from: number, to: number, gone: boolean) => {
    const id = (++idSeq).toString(16).padStart(8, '0') + 'a7c3e9b1d5f2';
    const name = `inst-${idSeq}`;
    const m = MODELS[Math.floor(r() * MODELS.length)];
    const img = IMAGES[Math.floor(r() * IMAGES.length)];
    const probes = img.probe ? ['jupyter', img.probe] : ['jupyter'];
    instanceDays += (to - from) / DAY;
    let cur = from;
    let lastStatus = 'shutdown';
    const iv = (status: string, kept: boolean, rate: number, a: number, b: number | null) => {
      insInterval.run(id, status, kept ? 1 : 0, kept ? 1 : 0, rate, a, b);
      rows.intervals++;
      if (rate > 0) for (let h = Math.floor((a - start) / HOUR); h * HOUR + start < (b ?? to) && h < hourlyBurn.length; h++) hourlyBurn[h] += (rate * (Math.min(b ?? to, start + (h + 1) * HOUR) - Math.max(a, start + h * HOUR))) / HOUR;
    };
    // first seen running after deploy
    let open: { status: string; kept: boolean; rate: number; from: number } = { status: 'shutdown', kept: false, rate: RETAIN, from };
    const close = (t: number) => iv(open.status, open.kept, open.rate, open.from, t);
    // a guard release is journaled once its end is known: the next boot (or none when the instance dies first)
    let release: { at: number; stopped: number } | null = null;
    const journal = (rebootedAt: number | null) => {
      if (!release) return;
      const b = release.at;
      insAction.run(`idle-release:${id}:${b}`, b, id, name, `idle 45m >= 45m since ${new Date(b - 45 * MIN).toISOString()}; jupyter: idle`, m.price, RETAIN, b, b + MIN, release.stopped, rebootedAt);
      rows.actions++;
      release = null;
    };
    for (let day = Math.floor((from - start) / DAY); start + day * DAY < to; day++) {
      const d0 = start + day * DAY;
      const weekend = (((Math.floor((d0 - Date.UTC(2026, 0, 4, 16)) / DAY) % 7) + 7) % 7) >= 5;
      if (r() > (weekend ? CHURN.useDayWeekend : CHURN.useDayWeekday)) continue;
      const sessions = CHURN.sessionsPerUseDay[Math.floor(r() * CHURN.sessionsPerUseDay.length)];
      for (let s = 0; s < sessions; s++) {
        const a = Math.max(cur + 10 * MIN, d0 + Math.floor(r() * 20 * HOUR));
        const len = (CHURN.sessionHours[0] + r() * (CHURN.sessionHours[1] - CHURN.sessionHours[0])) * HOUR;
        const b = a + len;
        if (b >= to - 10 * MIN) break;
        close(a);
        journal(a);
        let t = a;
        if (r() < CHURN.transientObservedP) {
          iv('booting', true, m.price, t, t + MIN);
          t += MIN;
        }
        // probe verdict changes while running: busy bursts
        const bursts = 1 + Math.floor(r() * CHURN.burstsPerSessionMax);
        for (let k = 0; k < bursts; k++) {
          const bt = t + Math.floor(((b - t) * k) / bursts);
          for (const p of probes) {
            insChange.run(id, p, 'busy', bt, details[p][0]);
            insChange.run(id, p, 'idle', bt + Math.floor((b - t) / bursts / 2), details[p][1]);
            rows.probe_changes += 2;
          }
        }
        const released = r() < CHURN.guardReleaseP;
        iv('running', true, m.price, t, b);
        let e = b;
        if (r() < CHURN.transientObservedP) {
          iv('shutting_down', true, m.price, e, e + MIN);
          e += MIN;
        }
        if (released) release = { at: b, stopped: e };
        open = { status: 'shutdown', kept: false, rate: RETAIN, from: e };
        cur = e;
        lastStatus = 'shutdown';
      }
    }
    journal(null);
    if (gone) {
      close(to);
    } else {
      iv(open.status, open.kept, open.rate, open.from, null);
    }
    for (const p of probes) insState.run(id, p, 'idle', cur, details[p][1], to);
    insInstance.run(
      id,
      name,
      gone ? 'destroyed' : lastStatus,
      m.model,
      0,
      m.price,
      RETAIN,
      img.image,
      `https://${id}-7860.container.x-gpu.com/`,
      from,
      from,
      cur,
      from,
      to,
      gone ? to : null,
      null,
      null,
    );
    instanceRows++;
  };

  sq.transaction(() => {
    for (let slot = 0; slot < n; slot++) {
      let t = start;
      for (;;) {
        const lifeMs = -Math.log(1 - r()) * CHURN.lifetimeMeanDays * DAY;
        const death = t + Math.max(DAY, lifeMs);
        if (death >= end) {
          life(t, end, false);
          break;
        }
        life(t, death, true);
        t = death + MIN;
      }
    }
    let balance = 1_000 * n;
    for (let h = 0; h < 365 * 24; h++) {
      balance -= hourlyBurn[h];
      if (balance < 100 * n) balance += 2_000 * n; // a recharge
      insBalance.run(start + (h + 1) * HOUR, Math.round(balance * 100) / 100);
      rows.balance_points++;
    }
    for (let t = start; t < end; t += MIN) {
      insTick.run(t, 20 + Math.floor(r() * 30), n);
    }
  })();
  const config = parseConfig({});
  pruneRaw(gdb.db, end, config.db.retain_raw);
  rows.ticks = (gdb.sqlite.prepare('select count(*) n from ticks').get() as { n: number }).n;
  gdb.sqlite.pragma('wal_checkpoint(TRUNCATE)');
  // Live bytes: pages in use (the one-shot prune above leaves free pages a running daemon would reuse).
  const pageSize = gdb.sqlite.pragma('page_size', { simple: true }) as number;
  const liveBytes = ((gdb.sqlite.pragma('page_count', { simple: true }) as number) - (gdb.sqlite.pragma('freelist_count', { simple: true }) as number)) * pageSize;
  let byTable: Record<string, number> | null = null;
  if (n <= 1000) {
    try {
      byTable = Object.fromEntries(
        (gdb.sqlite.prepare('select name, sum(pgsize) as bytes from dbstat group by name order by bytes desc').all() as Array<{ name: string; bytes: number }>).map((x) => [x.name, x.bytes]),
      );
    } catch {
      byTable = null; // dbstat not compiled in
    }
  }
  const synthS = (performance.now() - t0) / 1000;
  // The rollup job's back-fill of the year, one day per step as the daemon runs it (step = time between yields).
  const steps: number[] = [];
  let last = performance.now();
  const r0 = last;
  const rolled = await runRollup(gdb.db, {
    tz: 'Asia/Shanghai',
    now: end,
    pause: async () => {
      const t = performance.now();
      steps.push(t - last);
      await new Promise((res) => setImmediate(res));
      last = performance.now();
    },
  });
  const rollup = { s: round((performance.now() - r0) / 1000, 1)!, days: rolled.days, months: rolled.months, cells: rolled.cells, max_step_ms: round(Math.max(...steps), 1)!, p95_step_ms: round(percentile(steps, 95), 1)! };
  gdb.sqlite.pragma('wal_checkpoint(TRUNCATE)');
  gdb.close();
  const dbBytes = statSync(path).size;
  const spend = measureSpend(path, end);
  const tune = measureTune(path, end);
  return {
    instances: n,
    instance_rows: instanceRows,
    instance_days: Math.round(instanceDays),
    rows,
    db_bytes: dbBytes,
    bytes_per_instance_day: Math.round(dbBytes / instanceDays),
    live_bytes_per_instance_day: Math.round(liveBytes / instanceDays),
    bytes_by_table: byTable,
    synth_s: round(synthS, 1)!,
    rollup,
    spend_ms: spend,
    tune_ms: tune,
    peak_rss_mb: round(peakRssMb(), 1)!,
  };
}

/**
 * Spend query latency (spendReport, as `/api/v1/spend` runs it) for the last 1/30/365 days up to `now`, by day and by
 * instance. The six queries take turns, round after round, so a slow stretch of the machine (or a GC of the year's
 * garbage) lands on all of them alike instead of on whichever block of calls it overlapped: the 365-day against
 * 1-day ratios compare calls made side by side.
 */
function measureSpend(path: string, now: number): HistoryReport['spend_ms'] {
  const gdb = openDb(path);
  const kinds = [1, 30, 365].flatMap((days) => (['day', 'instance'] as SpendBy[]).map((by) => ({ days, by, xs: [] as number[] })));
  const budget = performance.now() + 60_000;
  for (let k = 0; k < 40 && (k < 5 || performance.now() < budget); k++) {
    for (const q of kinds) {
      const a = performance.now();
      spendReport(gdb.db, { from: now - q.days * DAY, to: now, by: q.by, tz: 'Asia/Shanghai', now });
      q.xs.push(performance.now() - a);
    }
  }
  gdb.close();
  const out: HistoryReport['spend_ms'] = {};
  for (const q of kinds) {
    const warm = q.xs.slice(1); // the first call also pays statement preparation
    out[`${q.days}d_by_${q.by}`] = { p50: round(percentile(warm, 50), 2), p95: round(percentile(warm, 95), 2), n: warm.length };
  }
  return out;
}

/** `tuneReport` over the last 30 days up to `now` with the default windows and the product's idle policy defaults. */
function measureTune(path: string, now: number): HistoryReport['tune_ms'] {
  const gdb = openDb(path);
  const config = parseConfig({ policies: [{ name: 'idle-release', type: 'idle', idle_for: '30m', action: 'release_gpu' }] });
  const policy = tunePolicy(config, undefined, 'policy');
  const q = { from: now - 30 * DAY, to: now, now, windows: parseWindows(DEFAULT_TUNE_WINDOWS, 'windows'), policy };
  const probeRows = (gdb.sqlite.prepare('select count(*) n from probe_changes where at >= ?').get(q.from) as { n: number }).n;
  const xs: number[] = [];
  const budget = performance.now() + 30_000;
  for (let k = 0; k < 16 && (k < 4 || performance.now() < budget); k++) {
    const a = performance.now();
    tuneReport(gdb.db, config, q);
    xs.push(performance.now() - a);
  }
  gdb.close();
  const warm = xs.slice(1);
  return { p50: round(percentile(warm, 50), 1), p95: round(percentile(warm, 95), 1), n: warm.length, probe_rows: probeRows };
}

/** Where `GET /api/v1/instances` spends its time: p50 ms of each part it calls, measured one by one. */
export interface InstancesRouteProfile {
  /** the database side (src/db/instances.ts + active overrides) */
  db_current_instances: number | null;
  db_open_rates: number | null;
  db_today_estimated: number | null;
  db_active_overrides: number | null;
  /** the core's view: idle verdicts (probe state) and next planned actions (one assessment over the last list) */
  core_instance_views: number | null;
  /** the whole route through fastify (handler + response schema + JSON) */
  route_total: number | null;
}

/** What the tick worker measured. */
export interface TickReport {
  instances: number;
  running: number;
  ticks: number;
  tick_ms: { p50: number | null; p95: number | null; max: number | null };
  /** ticks started right after the clock step, while the stepped minute's GPU samples still arrive */
  tick_ms_burst: { p50: number | null; p95: number | null };
  tick_ms_probes_off: { p50: number | null; p95: number | null };
  api_calls_per_tick: { p50: number | null; max: number | null };
  /** `probe_answers`: the probe verdicts the answer carried (every instance's `idle.probes`) */
  instances_api_ms: { p50: number | null; p95: number | null; status: number; bytes: number; probe_answers: number } | null;
  /** The same over a loopback socket: request to the answer's last byte, the client draining it (null if not served) */
  instances_api_ms_socket: { p50: number | null; p95: number | null } | null;
  instances_route_profile: InstancesRouteProfile | null;
  /** of this worker process (it also holds the simulator's churn driver and the test app); the daemon's own RSS is measured apart */
  peak_rss_mb: number;
}

/** p50 ms of `f` over `n` calls after one warm-up call. */
function p50Of(f: () => unknown, n = 15): number | null {
  f();
  const xs: number[] = [];
  for (let k = 0; k < n; k++) {
    const a = performance.now();
    f();
    xs.push(performance.now() - a);
  }
  return round(percentile(xs, 50), 2);
}

/** Run `ticks` real ticks against a simulator at `simUrl` (manual clock at `now`) on the database at `dbPath`. */
export async function measureTicks(simUrl: string, dbPath: string, n: number, ticks: number, now: number, gpuProbe = true): Promise<TickReport> {
  const clock = new ManualClock(now);
  const raw = { xgc: { token: 'T', base_url: simUrl }, db: { path: dbPath }, probes: { heartbeat: { enabled: false }, gpu: { enabled: gpuProbe } }, limits: { max_actions_per_tick: 5 } };
  const config = parseConfig(raw);
  const noProbes = parseConfig({ ...raw, probes: { jupyter: { enabled: false }, comfyui: { enabled: false }, sdwebui: { enabled: false }, heartbeat: { enabled: false }, gpu: { enabled: false } } });
  const gdb = openDb(dbPath);
  const log = pino({ level: process.env.BENCH_LOG ?? 'silent' });
  const client = new XgcClient({ baseUrl: simUrl, token: 'T', timeoutMs: 60_000, retries: 0, retryBaseMs: 1 });
  const core = createGuardCore({ db: gdb.db, config, clock, log, channels: () => [], client });
  const bare = createGuardCore({ db: gdb.db, config: noProbes, clock, log, channels: () => [], client });
  const r = rng(99);
  const ctl = async (path: string, body: unknown) => {
    const res = await fetch(`${simUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return res.json() as Promise<any>;
  };
  const ids: string[] = ((await (await fetch(`${simUrl}/sim/state`)).json()) as any).instances.map((i: { id: string }) => i.id);
  const step = async () => {
    await ctl('/sim/clock/advance', { seconds: 60 });
    clock.advance(60_000);
    // churn: ~1% of instances change activity, ~0.2% change status, each minute
    for (let k = 0; k < Math.max(1, Math.round(n * 0.01)); k++) await ctl(`/sim/instances/${ids[Math.floor(r() * ids.length)]}/activity`, { busy: r() < 0.5 });
    for (let k = 0; k < Math.max(1, Math.round(n * 0.002)); k++) {
      const id = ids[Math.floor(r() * ids.length)];
      await ctl(`/sim/instances/${id}/status`, { status: r() < 0.5 ? 'booting' : 'shutting_down' });
    }
  };
  /**
   * `count` ticks, but stop after `budgetMs` of wall time once 3 are done (large sizes are slow). Stepping the clock a
   * minute makes every GPU link deliver that minute's samples at once (3,600 at 1,000 instances); in real time they
   * come spread over the minute, ~60 a second. So each tick starts once they have arrived (`settle`, as the tests
   * wait); `burst` starts it right after the step instead, with the samples still arriving: reported beside it.
   */
  const measure = async (c: typeof core, count: number, budgetMs = 60_000, burst = false) => {
    const ms: number[] = [];
    const calls: number[] = [];
    const stop = performance.now() + budgetMs;
    for (let k = 0; k < count && (k < 3 || performance.now() < stop); k++) {
      await step();
      if (!burst) await core.probes.settle(); // the probed core's links stream while `bare` ticks too
      const a = performance.now();
      const res = await c.ticker.tick(clock.now());
      ms.push(performance.now() - a);
      calls.push(res.apiCalls);
    }
    return { ms, calls };
  };
  await measure(core, 1); // warm-up: the year's instances gone, the simulator's appear
  const on = await measure(core, ticks);
  const burst = await measure(core, Math.max(3, Math.ceil(ticks / 2)), 30_000, true);
  const off = await measure(bare, Math.max(3, Math.ceil(ticks / 2)), 30_000);
  const state = (await (await fetch(`${simUrl}/sim/state`)).json()) as any;
  const running = state.instances.filter((i: { status: string }) => i.status === 'running').length;
  // The route answers with every probe's stored verdict, as in a daemon a minute after start (its monitor stores the
  // GPU answers every `sample_every` and polls the apps every minute; the ticks above do neither).
  core.probes.flushGpu();
  await core.probes.pollApps();
  let api: TickReport['instances_api_ms'] = null;
  const app = await buildApp({ gdb, config, clock, log, runtime: { dbOpen: true, leader: true, jobsRunning: false, demo: false }, guard: core.service });
  await app.ready();
  const xs: number[] = [];
  let status = 0;
  let bytes = 0;
  let body = '';
  const apiStop = performance.now() + 20_000;
  for (let k = 0; k < 30 && (k < 6 || performance.now() < apiStop); k++) {
    const a = performance.now();
    const res = await app.inject({ method: 'GET', url: '/api/v1/instances' });
    xs.push(performance.now() - a);
    status = res.statusCode;
    bytes = res.body.length;
    body = res.body;
    if (status === 404) break;
  }
  if (status !== 404) {
    const answers = (JSON.parse(body) as { instances: Array<{ idle: { probes: object } }> }).instances.reduce((k, i) => k + Object.keys(i.idle.probes).length, 0);
    api = { p50: round(percentile(xs.slice(2), 50), 1), p95: round(percentile(xs.slice(2), 95), 1), status, bytes, probe_answers: answers };
  }
  // The same route over a loopback socket, as a client sees it: from the request to the answer's last byte, the
  // client draining the bytes (inject above copies the answer three times, which no client does).
  let socketApi: TickReport['instances_api_ms_socket'] = null;
  if (status === 200) {
    await app.listen({ host: '127.0.0.1', port: 0 });
    const port = (app.server.address() as AddressInfo).port;
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const ys: number[] = [];
    const stopAt = performance.now() + 20_000;
    for (let k = 0; k < 30 && (k < 6 || performance.now() < stopAt); k++) {
      const a = performance.now();
      await new Promise<number>((res, rej) => {
        httpGet({ host: '127.0.0.1', port, path: '/api/v1/instances', agent }, (r) => {
          let n = 0;
          r.on('data', (c: Buffer) => (n += c.length));
          r.on('end', () => (r.statusCode === 200 ? res(n) : rej(new Error(`status ${r.statusCode}`))));
        }).on('error', rej);
      });
      ys.push(performance.now() - a);
    }
    agent.destroy();
    socketApi = { p50: round(percentile(ys.slice(2), 50), 1), p95: round(percentile(ys.slice(2), 95), 1) };
  }
  const t = clock.now();
  const profile: InstancesRouteProfile = {
    db_current_instances: p50Of(() => currentInstances(gdb.db)),
    db_open_rates: p50Of(() => openRates(gdb.db)),
    db_today_estimated: p50Of(() => todayEstimated(gdb.db, t, config.timezone)),
    db_active_overrides: p50Of(() => activeOverrides(gdb.db, t)),
    core_instance_views: p50Of(() => core.service.instanceViews(t)),
    route_total: api?.p50 ?? null,
  };
  await app.close();
  // The GPU links (SSH connections and their timers) keep the worker alive until stopped.
  await core.probes.stop();
  await bare.probes.stop();
  gdb.close();
  return {
    instances: n,
    running,
    ticks: on.ms.length,
    tick_ms: { p50: round(percentile(on.ms, 50), 1), p95: round(percentile(on.ms, 95), 1), max: round(Math.max(...on.ms), 1) },
    tick_ms_burst: { p50: round(percentile(burst.ms, 50), 1), p95: round(percentile(burst.ms, 95), 1) },
    tick_ms_probes_off: { p50: round(percentile(off.ms, 50), 1), p95: round(percentile(off.ms, 95), 1) },
    api_calls_per_tick: { p50: percentile(on.calls, 50), max: Math.max(...on.calls) },
    instances_api_ms: api,
    instances_api_ms_socket: socketApi,
    instances_route_profile: profile,
    peak_rss_mb: round(peakRssMb(), 1)!,
  };
}

/** Start a simulator with `n` seeded instances (the sim worker process): on a manual clock at `now`, or in real time. */
export async function startScaleSim(n: number, now: number | 'realtime') {
  if (now === 'realtime') return startSimulator({ token: 'T', instances: n, seed: 5, balance: 1e9, speed: 1 });
  return startSimulator({ token: 'T', instances: n, clock: new ManualClock(now), seed: 5, balance: 1e9 });
}

/** Copy a database file (after a checkpoint) for a worker to mutate. */
export function copyDb(from: string, to: string): void {
  for (const s of ['', '-wal', '-shm']) if (existsSync(to + s)) rmSync(to + s);
  copyFileSync(from, to);
}
