#!/usr/bin/env node
/**
 * Load benchmark (issue 11; not a CI test): does the daemon keep its tick schedule while its HTTP API is
 * under a steady 500 requests/s?
 *
 * Starts a simulator (real speed) in this process, the real daemon (`node dist/cli.js run`, ticking every
 * second, an idle policy in enforce mode, notifications off) as a child process, then
 *   1. a quiet phase (QUIET_S, default 15 s): ticks only, for a baseline;
 *   2. a load phase (LOAD_S, default 60 s): an open-loop (fixed-rate, not closed-loop) generator sends
 *      RATE (default 500) GET/s over loopback keep-alive connections (at most 64), round-robin over the read routes.
 * Tick lag = for each whole second in a phase (one cron slot), the start of its tick minus the slot; a slot
 * with no tick (skipped or missed) counts as lag = infinity. Figures go to stdout as a Markdown block and
 * to bench/load/last-run.json.
 *
 * Usage: npm run build && node bench/load/run.mjs   (env: RATE, LOAD_S, QUIET_S, INSTANCES)
 * No new packages: node:http with a keep-alive agent, better-sqlite3 from the project.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir, cpus, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'node:http';
import Database from 'better-sqlite3';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..', '..');
const { startSimulator } = await import(join(root, 'dist', 'sim', 'index.js'));

const RATE = Number(process.env.RATE ?? 500);
const LOAD_S = Number(process.env.LOAD_S ?? 60);
const QUIET_S = Number(process.env.QUIET_S ?? 15);
const INSTANCES = Number(process.env.INSTANCES ?? 20);
const TOKEN = 'bench-api-token-0123456789';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pct = (xs, p) => {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
};

// ---------------------------------------------------------------- world + daemon
const sim = await startSimulator({ token: 'bench-xgc', instances: 0, speed: 1, seed: 500, balance: 10_000 });
for (let i = 0; i < INSTANCES; i++) sim.world.addInstance({ name: `bench-${i}`, image: ['Jupyter', 'ComfyUI', 'WebUI'][i % 3], busy: i % 2 === 0 });
const dir = mkdtempSync(join(tmpdir(), 'xgc-load-'));
const db = join(dir, 'guard.db');
const cfg = join(dir, 'guard.yaml');
writeFileSync(
  cfg,
  [
    `xgc: { base_url: "${sim.url}", timeout: 5s }`,
    `db: { path: "${db}" }`,
    'http: { host: 127.0.0.1, port: 0 }',
    'timezone: UTC',
    'snapshot: { every: "*/1 * * * * *" }',
    'dry_run: false',
    'probes: { heartbeat: { enabled: false } }',
    'policies:',
    '  - { name: idle, type: idle, idle_for: 20m, min_uptime: 0s }',
    '  - { name: spend, type: budget, per: day, limit: 1000, action: notify }',
    '',
  ].join('\n'),
);
let logs = '';
// A free loopback port for the daemon's API.
const base = await (async () => {
  const { createServer } = await import('node:net');
  const s = createServer();
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  const port = s.address().port;
  await new Promise((r) => s.close(r));
  return `http://127.0.0.1:${port}`;
})();
const daemon = spawn(process.execPath, [join(root, 'dist', 'cli.js'), 'run', '--config', cfg], {
  env: { PATH: process.env.PATH, HOME: process.env.HOME, XGC_API_TOKEN: 'bench-xgc', GUARD_API_TOKEN: TOKEN, GUARD_HTTP_PORT: new URL(base).port, GUARD_LOG_LEVEL: 'warn', GUARD_LOG_PRETTY: '0' },
  stdio: ['ignore', 'pipe', 'pipe'],
});
daemon.stdout.on('data', (d) => (logs += d));
daemon.stderr.on('data', (d) => (logs += d));
for (let i = 0; ; i++) {
  try {
    if ((await fetch(`${base}/healthz`)).ok) break;
  } catch {
    /* not up yet */
  }
  if (i > 200) throw new Error(`daemon did not come up:\n${logs}`);
  await sleep(100);
}
await sleep(3_000); // first ticks, probes warm

// ---------------------------------------------------------------- load generator (open loop)
const routes = [
  '/api/v1/instances',
  '/api/v1/balance',
  '/api/v1/spend?by=day',
  '/api/v1/spend?by=instance',
  '/api/v1/actions',
  '/api/v1/savings',
  '/api/v1/policies',
  '/api/v1/events',
  `/api/v1/instances/${sim.world.listed()[0].id}/timeline`,
  '/healthz',
  '/readyz',
  '/metrics',
];
const agent = new Agent({ keepAlive: true, maxSockets: 64 });
/** One GET over the keep-alive agent; resolves with the status once the body is read. */
const get = (url) =>
  new Promise((resolveP, reject) => {
    const req = request(url, { agent, headers: { authorization: `Bearer ${TOKEN}` }, timeout: 10_000 }, (res) => {
      res.resume();
      res.on('end', () => resolveP(res.statusCode ?? 0));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
async function load(seconds, rate) {
  const lat = [];
  const byStatus = new Map();
  let errors = 0;
  let sent = 0;
  const inflight = new Set();
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  while (performance.now() < end) {
    const due = Math.floor(((performance.now() - t0) / 1000) * rate);
    while (sent < due) {
      const url = base + routes[sent % routes.length];
      sent++;
      const s = performance.now();
      const p = get(url)
        .then((status) => {
          lat.push(performance.now() - s);
          byStatus.set(status, (byStatus.get(status) ?? 0) + 1);
        })
        .catch(() => {
          errors++;
          lat.push(performance.now() - s);
        })
        .finally(() => inflight.delete(p));
      inflight.add(p);
    }
    await sleep(1);
  }
  await Promise.all(inflight);
  const took = (performance.now() - t0) / 1000;
  const ok = [...byStatus].filter(([s]) => s >= 200 && s < 300).reduce((a, [, n]) => a + n, 0);
  return { sent, ok, failed: sent - ok, errors, byStatus: Object.fromEntries(byStatus), rate: sent / took, latency: { p50: pct(lat, 50), p99: pct(lat, 99), max: Math.max(...lat) } };
}

/** Tick lag per one-second cron slot in [from, to). */
function tickLag(from, to) {
  const d = new Database(db, { readonly: true });
  const ticks = d.prepare('select at, outcome, duration_ms d from ticks where at >= ? and at < ? order by at').all(from - 1000, to + 1000);
  d.close();
  const lags = [];
  let missed = 0;
  for (let slot = Math.ceil(from / 1000) * 1000; slot < Math.floor(to / 1000) * 1000; slot += 1000) {
    const t = ticks.find((x) => x.at >= slot && x.at < slot + 1000 && x.outcome !== 'skipped');
    if (t) lags.push(t.at - slot);
    else {
      missed++;
      lags.push(Infinity);
    }
  }
  const ran = ticks.filter((t) => t.outcome !== 'skipped' && t.at >= from && t.at < to);
  return {
    slots: lags.length,
    missed,
    skipped: ticks.filter((t) => t.outcome === 'skipped' && t.at >= from && t.at < to).length,
    blind: ran.filter((t) => t.outcome === 'blind').length,
    lag: { p50: pct(lags, 50), p99: pct(lags, 99), max: Math.max(...lags) },
    duration: { p50: pct(ran.map((t) => t.d), 50), p99: pct(ran.map((t) => t.d), 99), max: Math.max(...ran.map((t) => t.d)) },
  };
}

const q0 = Date.now();
await sleep(QUIET_S * 1000);
const q1 = Date.now();
const quiet = tickLag(q0, q1);
const l0 = Date.now();
const traffic = await load(LOAD_S, RATE);
const l1 = Date.now();
await sleep(1_500);
const loaded = tickLag(l0, l1);

daemon.kill('SIGTERM');
await new Promise((r) => daemon.once('exit', r));
agent.destroy();
await sim.close();

const result = {
  date: new Date().toISOString(),
  machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version, loadavg: loadavg() },
  settings: { rate: RATE, load_s: LOAD_S, quiet_s: QUIET_S, instances: INSTANCES, tick: '*/1 * * * * *', routes: routes.length },
  quiet,
  loaded,
  traffic,
  verdict: { lag_p99_le_1s: loaded.lag.p99 <= 1000, no_failed_request: traffic.failed === 0 },
  daemonErrors: logs.split('\n').filter((l) => /"level":(50|60)/.test(l)).slice(0, 5),
};
writeFileSync(join(here, 'last-run.json'), JSON.stringify(result, null, 2) + '\n');
const ms = (x) => (Number.isFinite(x) ? `${Math.round(x)} ms` : 'missed');
console.log(`| phase | slots | missed | skipped | blind | lag p50 | lag p99 | lag max | tick duration p50 / p99 / max |
|---|---|---|---|---|---|---|---|---|
| quiet ${QUIET_S} s | ${quiet.slots} | ${quiet.missed} | ${quiet.skipped} | ${quiet.blind} | ${ms(quiet.lag.p50)} | ${ms(quiet.lag.p99)} | ${ms(quiet.lag.max)} | ${quiet.duration.p50} / ${quiet.duration.p99} / ${quiet.duration.max} ms |
| ${RATE} req/s ${LOAD_S} s | ${loaded.slots} | ${loaded.missed} | ${loaded.skipped} | ${loaded.blind} | ${ms(loaded.lag.p50)} | ${ms(loaded.lag.p99)} | ${ms(loaded.lag.max)} | ${loaded.duration.p50} / ${loaded.duration.p99} / ${loaded.duration.max} ms |

Requests: ${traffic.sent} sent at ${traffic.rate.toFixed(1)}/s, ${traffic.ok} 2xx, ${traffic.failed} failed (${traffic.errors} network errors), by status ${JSON.stringify(traffic.byStatus)};
latency p50 ${traffic.latency.p50.toFixed(1)} ms, p99 ${traffic.latency.p99.toFixed(1)} ms, max ${traffic.latency.max.toFixed(1)} ms.
Verdict: lag p99 <= 1 s: ${result.verdict.lag_p99_le_1s ? 'yes' : 'NO'}; no failed request: ${result.verdict.no_failed_request ? 'yes' : 'NO'}.`);
process.exit(result.verdict.lag_p99_le_1s && result.verdict.no_failed_request ? 0 : 1);
