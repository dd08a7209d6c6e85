/**
 * The daemon's own memory at scale: the real `xgc-guard run` process (a child process started with the node flags of
 * package.json's `start` script, as a service starts it) on a
 * database holding a year of history, against a simulator in its own process holding N instances in real time,
 * with HTTP, jobs and probes on, while this process churns the simulator's activity and calls the API. Its RSS is
 * sampled from /proc/<pid>/status (VmRSS, and VmHWM = peak) every second.
 */
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify as toYaml } from 'yaml';
import { openDb } from '../db/open.js';
import { percentile, round, seededRandom } from './stats.js';

const CLI = resolve(fileURLToPath(import.meta.url), '..', '..', 'cli.js');
const PACKAGE_JSON = resolve(fileURLToPath(import.meta.url), '..', '..', '..', 'package.json');

/** The node flags of a `node [flags] dist/cli.js run` command line (package.json's `start`), in order. */
export function startNodeFlags(start: string): string[] {
  const m = /^node((?:\s+--\S+)*)\s+dist\/cli\.js\s+run\b/.exec(start.trim());
  if (!m) throw new Error(`package.json's start script is not \`node [flags] dist/cli.js run\`: ${start}`);
  return m[1].split(/\s+/).filter(Boolean);
}

/** Options of one daemon measurement. */
export interface DaemonRunOptions {
  simUrl: string;
  dbPath: string;
  n: number;
  /** how long to run after the daemon is up */
  seconds: number;
  /** `snapshot.every` (cron, 6 fields for seconds) */
  snapshotEvery: string;
  /** enable the SSH GPU probe (one connection per running instance; needs the simulator's SSH endpoints) */
  gpuProbe: boolean;
  /** extra node flags for the daemon process (experiments), after the product's own; none by default */
  nodeArgs: string[];
  /** where the daemon's log goes */
  logFile: string;
}

/** Latency p50/p95 of one API route over the run. */
export interface RouteLatency {
  p50: number | null;
  p95: number | null;
  n: number;
  status: number;
}

/** What the daemon measurement found. */
export interface DaemonReport {
  instances: number;
  seconds: number;
  samples: number;
  gpu_probe: boolean;
  /** the node flags of package.json's `start` script (the product's), then the experiment's */
  node_args: string[];
  /** VmRSS over the run: right after start, median, and the highest sample */
  rss_mb: { start: number; p50: number; max: number };
  /** VmHWM read just before stopping: the kernel's peak RSS of the process */
  peak_rss_mb: number;
  ticks: { ok: number; blind: number; skipped: number; p50_ms: number | null; max_ms: number | null };
  /** CPU seconds the daemon used during the measured run (user + system): its cost, whatever the machine's load */
  cpu_s: number | null;
  api_ms: Record<string, RouteLatency>;
  /**
   * How old each running instance's stored `gpu` answer was when `/api/v1/instances` served it
   * (request time minus its `checked_at`: the probe loop re-stores it every `sample_every`), over every response;
   * `seen` is the share of running instances whose GPU answer was not unknown. Null without the GPU probe.
   */
  gpu_sample_age_s: { p50: number | null; p95: number | null; max: number | null; n: number; seen: number | null } | null;
}

/** The dashboard's refresh set (besides /readyz), read from the page's own module so the two cannot drift apart. */
async function dashboardSources(): Promise<string[]> {
  const page = (await import(new URL('../../public/api.js', import.meta.url).href)) as { sources(locale: string): Record<string, string> };
  return Object.values(page.sources('zh-CN'));
}

/**
 * The API load of one open dashboard (its refresh set every 5 s, as public/app.js fetches it), a Prometheus scraper
 * every 15 s, and someone reading the year and the savings every minute. `every`/`phase` are in seconds.
 */
const load = async () => [
  ...['/readyz', ...(await dashboardSources())].map((path) => ({ name: path.replace(/^\/(api\/v1\/)?/, '').replace(/\?.*/, ''), path, every: 5, phase: 0 })),
  { name: 'metrics', path: '/metrics', every: 15, phase: 2 },
  { name: 'spend_365d_by_instance', path: '/api/v1/spend?from=-365d&by=instance', every: 60, phase: 3 },
  { name: 'spend_365d_by_day', path: '/api/v1/spend?from=-365d&by=day', every: 60, phase: 33 },
  { name: 'savings_30d', path: '/api/v1/savings?from=-30d', every: 60, phase: 4 },
];

/** A free TCP port on 127.0.0.1. */
async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => res(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

/** CPU seconds (user + system) `pid` has used so far, or null once it has exited. */
function cpuOf(pid: number): number | null {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return null;
  }
}

/** VmRSS and VmHWM of `pid` in MB, or null once it has exited. */
function memOf(pid: number): { rss: number; hwm: number } | null {
  try {
    const t = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(t)?.[1] ?? NaN);
    const m = { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024 };
    return Number.isFinite(m.rss) && Number.isFinite(m.hwm) ? m : null; // a zombie has no Vm lines
  } catch {
    return null;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Run the daemon as a child process for `seconds` under load and report its memory, ticks and API latency. */
export async function measureDaemon(o: DaemonRunOptions): Promise<DaemonReport> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first (npm run bench does)`);
  const dir = mkdtempSync(join(tmpdir(), 'xgc-scale-daemon-'));
  const port = await freePort();
  const cfgPath = join(dir, 'guard.yaml');
  writeFileSync(
    cfgPath,
    toYaml({
      xgc: { base_url: o.simUrl, token: 'T', timeout: '30s' },
      db: { path: o.dbPath },
      http: { host: '127.0.0.1', port },
      timezone: 'Asia/Shanghai',
      snapshot: { every: o.snapshotEvery },
      probes: { heartbeat: { enabled: false }, gpu: { enabled: o.gpuProbe } },
    }),
  );
  const log = createWriteStream(o.logFile);
  const { scripts } = JSON.parse(readFileSync(PACKAGE_JSON, 'utf8')) as { scripts: { start: string } };
  const nodeArgs = [...startNodeFlags(scripts.start), ...o.nodeArgs];
  const child = spawn(process.execPath, [...nodeArgs, CLI, 'run', '--config', cfgPath], {
    env: { ...process.env, GUARD_LOG_LEVEL: process.env.BENCH_DAEMON_LOG ?? 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.pipe(log);
  child.stderr!.pipe(log);
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const pid = child.pid!;
  const base = `http://127.0.0.1:${port}`;
  const samples: number[] = [];
  let hwm = 0;
  const sample = () => {
    const m = memOf(pid);
    if (m) {
      samples.push(m.rss);
      hwm = Math.max(hwm, m.hwm);
    }
  };
  const sampler = setInterval(sample, 1000);
  const lat: Record<string, { xs: number[]; status: number }> = {};
  const ages: number[] = [];
  let running = 0;
  let seen = 0;
  const call = async (name: string, path: string) => {
    const a = performance.now();
    const sentAt = Date.now();
    const res = await fetch(base + path).catch(() => null);
    const body = res ? await res.arrayBuffer().catch(() => null) : null;
    const ms = performance.now() - a;
    const l = (lat[name] ??= { xs: [], status: 0 });
    l.status = res?.status ?? 0;
    if (res?.ok && body) l.xs.push(ms);
    if (o.gpuProbe && name === 'instances' && res?.ok && body) gpuAges(JSON.parse(Buffer.from(body).toString('utf8')), sentAt);
  };
  /** Sample ages of the GPU answers in one `/api/v1/instances` response. */
  const gpuAges = (page: { instances: Array<{ status: string; idle: { probes: Record<string, { verdict: string; checked_at: string | null }> } }> }, at: number) => {
    for (const i of page.instances) {
      if (i.status !== 'running') continue;
      running++;
      const g = i.idle.probes.gpu;
      if (!g || g.verdict === 'unknown' || !g.checked_at) continue;
      seen++;
      ages.push(Math.max(0, at - Date.parse(g.checked_at)) / 1000);
    }
  };
  try {
    const upBy = Date.now() + 120_000;
    for (;;) {
      if (Date.now() > upBy) throw new Error(`the daemon did not answer /healthz within 120 s (log: ${o.logFile})`);
      const r = await fetch(`${base}/healthz`).catch(() => null);
      if (r?.ok) break;
      if (child.exitCode !== null) throw new Error(`the daemon exited with ${child.exitCode} (log: ${o.logFile})`);
      await sleep(250);
    }
    const startedAt = Date.now();
    const cpu0 = cpuOf(pid);
    sample();
    const rssStart = samples[samples.length - 1] ?? 0;
    const ids: string[] = ((await (await fetch(`${o.simUrl}/sim/state`)).json()) as { instances: Array<{ id: string }> }).instances.map((i) => i.id);
    const r = seededRandom(77);
    const only = process.env.BENCH_ROUTES === undefined ? null : process.env.BENCH_ROUTES.split(',').filter(Boolean); // experiments: a subset of the load, by name
    const until = startedAt + o.seconds * 1000;
    const jobs = [
      ...(await load()).filter((l) => !only || only.includes(l.name)).map((l) => ({ every: l.every, next: startedAt + l.phase * 1000, run: () => call(l.name, l.path) })),
      {
        // churn: ~1% of instances change activity every 5 s
        every: 5,
        next: startedAt,
        run: async () => {
          for (let c = 0; c < Math.max(1, Math.round(o.n * 0.01)); c++)
            await fetch(`${o.simUrl}/sim/instances/${ids[Math.floor(r() * ids.length)]}/activity`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ busy: r() < 0.5 }) }).catch(() => null);
        },
      },
    ];
    while (Date.now() < until) {
      const now = Date.now();
      const due = jobs.filter((j) => j.next <= now);
      for (const j of due) j.next = Math.max(j.next + j.every * 1000, now); // a late round is not made up twice
      await Promise.all(due.map((j) => j.run())); // a dashboard fetches its set in parallel
      await sleep(Math.max(50, Math.min(...jobs.map((j) => j.next)) - Date.now()));
    }
    sample();
    const cpu1 = cpuOf(pid);
    const peak = Math.max(hwm, ...samples);
    child.kill('SIGTERM');
    const code = await Promise.race([exited, sleep(20_000).then(() => 'timeout' as const)]);
    if (code === 'timeout') child.kill('SIGKILL');
    const g = openDb(o.dbPath, { readonly: true });
    const rows = g.sqlite.prepare('select outcome, duration_ms from ticks where at >= ?').all(startedAt) as Array<{ outcome: string; duration_ms: number }>;
    g.close();
    const ok = rows.filter((x) => x.outcome === 'ok').map((x) => x.duration_ms);
    const sorted = [...samples].sort((a, b) => a - b);
    return {
      instances: o.n,
      seconds: Math.round((Date.now() - startedAt) / 1000),
      samples: samples.length,
      gpu_probe: o.gpuProbe,
      node_args: nodeArgs,
      rss_mb: { start: round(rssStart, 1)!, p50: round(sorted[Math.floor(sorted.length / 2)] ?? 0, 1)!, max: round(sorted[sorted.length - 1] ?? 0, 1)! },
      peak_rss_mb: round(peak, 1)!,
      ticks: {
        ok: ok.length,
        blind: rows.filter((x) => x.outcome === 'blind').length,
        skipped: rows.filter((x) => x.outcome === 'skipped').length,
        p50_ms: percentile(ok, 50),
        max_ms: ok.length ? Math.max(...ok) : null,
      },
      cpu_s: cpu0 !== null && cpu1 !== null ? round(cpu1 - cpu0, 1) : null,
      gpu_sample_age_s: o.gpuProbe
        ? { p50: round(percentile(ages, 50), 1), p95: round(percentile(ages, 95), 1), max: ages.length ? round(Math.max(...ages), 1) : null, n: ages.length, seen: running ? round(seen / running, 3) : null }
        : null,
      api_ms: Object.fromEntries(Object.entries(lat).map(([k, v]) => [k, { p50: round(percentile(v.xs, 50), 1), p95: round(percentile(v.xs, 95), 1), n: v.xs.length, status: v.status }])),
    };
  } finally {
    clearInterval(sampler);
    if (child.exitCode === null) child.kill('SIGKILL');
    log.end();
    rmSync(dir, { recursive: true, force: true });
  }
}
