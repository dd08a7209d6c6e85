/**
 * `npm run bench -- <command>`:
 * - `effectiveness [--trace FILE ...] [--config FILE] [--out result.json] [--no-baselines]` (default: every trace in bench/traces)
 * - `scale [--sizes 10,100] [--out result.json] [--daemon-seconds 240] [--daemon-sizes 100] [--no-gpu-probe] [--daemon-node-args "..."]
 *   [--snapshot-every CRON]` (1,000 instances work too: `--sizes 1000 --daemon-sizes 1000`)
 * - `gen-traces [--dir bench/traces]` (rewrites the bundled traces from the seeded generator)
 * - `tune-check [--trace FILE ...] [--windows 15m,60m] [--out result.json]`: `tune` over a 30m guard replay's database
 *   against the guard's own savings on that replay and on replays run with the other windows
 * Internal workers (spawned by `scale`): `scale-history`, `scale-sim`, `scale-ticks`; the daemon is `dist/cli.js run` itself.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { defaultEffectivenessConfig, runEffectiveness, type EffectivenessReport } from './effectiveness.js';
import { writeBundledTraces } from './gen-traces.js';
import { copyDb, measureTicks, scaleNow, startScaleSim, synthesizeHistory, type HistoryReport, type TickReport } from './scale.js';
import { measureDaemon, type DaemonReport } from './scale-daemon.js';
import { mdTable } from './stats.js';
import { loadTrace } from './trace.js';
import { tuneCheck, type TuneCheckRow } from './tune-check.js';

const ROOT = resolve(fileURLToPath(import.meta.url), '..', '..', '..');
const OUT = join(ROOT, 'bench', 'out');
const SELF = fileURLToPath(import.meta.url);

/**
 * The tune-check rows as a markdown table. The last two columns are each window's difference from the configured one:
 * tune's `more_than_current_yuan` (against the recording), and the ground truth's (the replays' bills), which share
 * no counting convention with the guard's report.
 */
export function tuneCheckMarkdown(rows: TuneCheckRow[]): string {
  const y = (v: number) => v.toFixed(2);
  const signed = (v: number) => `${v >= 0 ? '+' : '−'}${Math.abs(v).toFixed(2)}`;
  const pct = (v: number | null) => (v === null ? '—' : `${(v * 100).toFixed(2)}%`);
  const cur = (trace: string) => rows.find((r) => r.trace === trace && r.current);
  return (
    mdTable(
      ['trace', 'idle_for', 'tune saved ¥', 'tune interruptions', 'replay reported ¥', 'replay ledger ¥', 'replay true ¥', 'replay disruptions', 'tune vs reported', 'tune Δ ¥', 'true Δ ¥'],
      rows.map((r) => {
        const c = cur(r.trace);
        return [
          r.trace,
          `${r.idle_for}${r.current ? ' (configured)' : ''}`,
          y(r.tune_saved),
          String(r.tune_interruptions),
          y(r.replay_reported),
          y(r.replay_ledger),
          y(r.replay_true),
          String(r.replay_disruptions),
          pct(r.error),
          c ? signed(r.tune_more) : null,
          c ? signed(r.replay_true - c.replay_true) : null,
        ];
      }),
    ) + '\n'
  );
}

/** Markdown tables of effectiveness reports: the guard per trace, then every policy set per trace. */
export function effectivenessMarkdown(reports: EffectivenessReport[]): string {
  const main = mdTable(
    ['trace', 'instances', 'days', 'oracle_saved ¥', 'platform 4h saved ¥ (false releases)', 'guard_saved ¥', 'guard reports ¥', 'ledger ¥ (same stretches)', 'savings error', 'capture_ratio', 'false_releases', 'missed_stretches', 'delay p50/p95 s', 'disruptions', 'api_calls', 'wall s'],
    reports.map((r) => [
      r.trace,
      r.instances,
      Math.round((r.duration_s / 86_400) * 10) / 10,
      r.oracle_saved,
      `${r.platform_4h_saved} (${r.platform_4h_false_releases})`,
      r.guard_saved,
      r.guard_reported_saved,
      r.ledger_saved,
      r.savings_error === null ? null : `${(r.savings_error * 100).toFixed(2)}%`,
      r.capture_ratio,
      r.false_releases,
      r.missed_stretches,
      `${r.detection_delay_s.p50 ?? '–'} / ${r.detection_delay_s.p95 ?? '–'}`,
      r.disruptions,
      r.api_calls,
      r.wall_s,
    ]),
  );
  const all = mdTable(
    ['trace', 'policy set', 'saved ¥', 'reports ¥', 'ledger ¥', 'error', 'capture', 'releases', 'false', 'early', 'missed / long', 'delay p50/p95 s', 'disruptions', 'calls/quiet tick', 'tick ms p50/p95'],
    reports.flatMap((r) =>
      Object.entries(r.runs).map(([name, x]) => [
        r.trace,
        name,
        x.saved,
        x.reported_saved,
        x.ledger_saved,
        x.savings_error === null ? null : `${(x.savings_error * 100).toFixed(2)}%`,
        x.capture_ratio,
        x.releases,
        x.false_releases,
        x.early_releases,
        `${x.missed_stretches} / ${x.long_stretches}`,
        `${x.detection_delay_s.p50 ?? '–'} / ${x.detection_delay_s.p95 ?? '–'}`,
        x.disruptions,
        x.api_calls_per_quiet_tick.p50,
        `${x.tick_ms.p50 ?? '–'} / ${x.tick_ms.p95 ?? '–'}`,
      ]),
    ),
  );
  return `${main}\n\n${all}\n`;
}

/** One size's scale figures. */
interface ScaleRow {
  history: HistoryReport;
  ticks: TickReport | null;
  daemon: DaemonReport | null;
}

/** Markdown tables of the scale figures. */
export function scaleMarkdown(rows: ScaleRow[]): string {
  const t = mdTable(
    ['instances', 'running', 'tick p50/p95 ms', 'tick p50/p95 ms (right after the step: samples arriving)', 'tick p50/p95 ms (probes off)', 'API calls/tick', '/api/v1/instances p50/p95 ms (inject; KB, probe verdicts carried)', '/api/v1/instances p50/p95 ms (loopback socket)', 'bytes/instance-day (file / live)', 'DB MB'],
    rows.map(({ history: h, ticks: k }) => [
      h.instances,
      k?.running,
      k ? `${k.tick_ms.p50} / ${k.tick_ms.p95}` : null,
      k?.tick_ms_burst ? `${k.tick_ms_burst.p50} / ${k.tick_ms_burst.p95}` : null,
      k ? `${k.tick_ms_probes_off.p50} / ${k.tick_ms_probes_off.p95}` : null,
      k ? `${k.api_calls_per_tick.p50} (max ${k.api_calls_per_tick.max})` : null,
      k?.instances_api_ms ? `${k.instances_api_ms.p50} / ${k.instances_api_ms.p95} (${Math.round(k.instances_api_ms.bytes / 1000)} KB, ${k.instances_api_ms.probe_answers})` : 'not measured',
      k?.instances_api_ms_socket ? `${k.instances_api_ms_socket.p50} / ${k.instances_api_ms_socket.p95}` : 'not measured',
      `${h.bytes_per_instance_day} / ${h.live_bytes_per_instance_day}`,
      Math.round(h.db_bytes / 1e6),
    ]),
  );
  const keys = Object.keys(rows[0]?.history.spend_ms ?? {});
  const sp = mdTable(
    ['instances', ...keys.map((k) => `${k} p50/p95 ms`), '365d/1d p95 by day', '365d/1d p95 by instance', 'tune 30d p50/p95 ms'],
    rows.map(({ history: h }) => {
      const ratio = (by: string) => {
        const a = h.spend_ms[`365d_by_${by}`]?.p95;
        const b = h.spend_ms[`1d_by_${by}`]?.p95;
        return a && b ? Math.round((a / b) * 100) / 100 : null;
      };
      return [h.instances, ...keys.map((k) => `${h.spend_ms[k].p50} / ${h.spend_ms[k].p95}`), ratio('day'), ratio('instance'), `${h.tune_ms.p50} / ${h.tune_ms.p95} (${h.tune_ms.probe_rows} rows)`];
    }),
  );
  const ru = mdTable(
    ['instances', 'back-fill s', 'days', 'months', 'cells', 'step p95 / max ms'],
    rows.map(({ history: h }) => [h.instances, h.rollup.s, h.rollup.days, h.rollup.months, h.rollup.cells, `${h.rollup.p95_step_ms} / ${h.rollup.max_step_ms}`]),
  );
  const prof = mdTable(
    ['instances', 'current instances', 'open rates', 'today estimated', 'active overrides', 'core instance views', 'route total (p50)'],
    rows
      .filter((x) => x.ticks?.instances_route_profile)
      .map(({ history: h, ticks: k }) => {
        const p = k!.instances_route_profile!;
        return [h.instances, p.db_current_instances, p.db_open_rates, p.db_today_estimated, p.db_active_overrides, p.core_instance_views, p.route_total];
      }),
  );
  const dm = rows.filter((x) => x.daemon);
  const d = mdTable(
    ['instances', 'seconds', 'gpu probe', 'GPU answer age p50 / p95 / max s (seen)', 'peak RSS MB (VmHWM)', 'RSS start / p50 / max MB', 'CPU s', 'ticks ok (blind, skipped)', 'tick p50 / max ms', ...Object.keys(dm[0]?.daemon?.api_ms ?? {}).map((k) => `${k} p50/p95 ms`)],
    dm.map(({ daemon: x }) => [
      x!.instances,
      x!.seconds,
      x!.gpu_probe ? 'on' : 'off',
      x!.gpu_sample_age_s ? `${x!.gpu_sample_age_s.p50} / ${x!.gpu_sample_age_s.p95} / ${x!.gpu_sample_age_s.max} (${x!.gpu_sample_age_s.seen})` : '–',
      x!.peak_rss_mb,
      `${x!.rss_mb.start} / ${x!.rss_mb.p50} / ${x!.rss_mb.max}`,
      x!.cpu_s,
      `${x!.ticks.ok} (${x!.ticks.blind}, ${x!.ticks.skipped})`,
      `${x!.ticks.p50_ms} / ${x!.ticks.max_ms}`,
      ...Object.values(x!.api_ms).map((v) => `${v.p50} / ${v.p95}`),
    ]),
  );
  return `${t}\n\nSpend query latency (spendReport over the synthetic year, last N days up to now):\n\n${sp}\n\nRollup back-fill of the year (the rollup job's first run):\n\n${ru}\n\n\`GET /api/v1/instances\` by part, p50 ms:\n\n${prof}\n\nThe daemon (\`node dist/cli.js run\`, HTTP + jobs + probes, a year of history):\n\n${d}\n`;
}

function runWorker(args: string[]): { child: ChildProcess; line: Promise<string>; done: Promise<string> } {
  const child = spawn(process.execPath, ['--max-old-space-size=4096', SELF, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  let resolveLine: (s: string) => void;
  const line = new Promise<string>((r) => (resolveLine = r));
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    const nl = out.indexOf('\n');
    if (nl >= 0) resolveLine(out.slice(0, nl));
  });
  const done = new Promise<string>((res, rej) => child.on('exit', (code) => (code === 0 ? res(out) : rej(new Error(`worker ${args[0]} exited ${code}`)))));
  return { child, line, done };
}

/** Options of a scale run. */
interface ScaleOptions {
  sizes: number[];
  outFile: string;
  daemonSeconds: number;
  daemonSizes: number[];
  gpuProbe: boolean;
  daemonNodeArgs: string[];
  snapshotEvery: string;
}

async function scale(o: ScaleOptions, log: (s: string) => void): Promise<void> {
  mkdirSync(OUT, { recursive: true });
  const rows: ScaleRow[] = [];
  const t0 = performance.now();
  const end = scaleNow();
  for (const n of o.sizes) {
    const db = join(OUT, `scale-${n}.db`);
    const history = JSON.parse((await runWorker(['scale-history', '--size', String(n), '--db', db, '--end', String(end)]).done).trim()) as HistoryReport;
    log(`scale ${n}: history ${history.synth_s}s, rollup back-fill ${history.rollup.s}s, ${history.bytes_per_instance_day} B/instance-day; spend p95 ms ${JSON.stringify(Object.fromEntries(Object.entries(history.spend_ms).map(([k, v]) => [k, v.p95])))}`);
    const tickDb = join(OUT, `scale-${n}-ticks.db`);
    const daemonDb = join(OUT, `scale-${n}-daemon.db`);
    let ticks: TickReport | null = null;
    let daemon: DaemonReport | null = null;
    try {
      const sim = runWorker(['scale-sim', '--size', String(n), '--now', String(end)]);
      const url = (await sim.line).trim();
      copyDb(db, tickDb);
      try {
        const count = n >= 5000 ? 8 : n >= 1000 ? 20 : 30;
        ticks = JSON.parse((await runWorker(['scale-ticks', '--size', String(n), '--sim', url, '--db', tickDb, '--ticks', String(count), '--now', String(end), '--gpu-probe', o.gpuProbe ? 'on' : 'off']).done).trim()) as TickReport;
        log(`scale ${n}: tick p50 ${ticks.tick_ms.p50} ms, p95 ${ticks.tick_ms.p95} ms (right after the step: p50 ${ticks.tick_ms_burst.p50}); /api/v1/instances p50 ${ticks.instances_api_ms?.p50} ms (inject), ${ticks.instances_api_ms_socket?.p50} ms (socket)`);
      } finally {
        sim.child.kill('SIGTERM');
        await sim.done.catch(() => {});
      }
      if (o.daemonSizes.includes(n)) {
        const rt = runWorker(['scale-sim', '--size', String(n), '--now', 'realtime']);
        const rtUrl = (await rt.line).trim();
        copyDb(db, daemonDb);
        try {
          daemon = await measureDaemon({
            simUrl: rtUrl,
            dbPath: daemonDb,
            n,
            seconds: o.daemonSeconds,
            snapshotEvery: o.snapshotEvery,
            gpuProbe: o.gpuProbe,
            nodeArgs: o.daemonNodeArgs,
            logFile: join(OUT, `scale-${n}-daemon.log`),
          });
          log(`scale ${n}: daemon peak RSS ${daemon.peak_rss_mb} MB over ${daemon.seconds}s, ${daemon.ticks.ok} ticks; /api/v1/instances p50 ${daemon.api_ms.instances?.p50} ms`);
        } finally {
          rt.child.kill('SIGTERM');
          await rt.done.catch(() => {});
        }
      }
    } finally {
      for (const f of [db, tickDb, daemonDb]) for (const sfx of ['', '-wal', '-shm']) rmSync(f + sfx, { force: true });
    }
    rows.push({ history, ticks, daemon });
  }
  const result = { date: new Date().toISOString(), wall_s: Math.round((performance.now() - t0) / 1000), node: process.version, end, options: { ...o, outFile: undefined }, sizes: rows };
  writeFileSync(o.outFile, JSON.stringify(result, null, 2) + '\n');
  const md = scaleMarkdown(rows);
  writeFileSync(o.outFile.replace(/\.json$/, '') + '.md', md);
  log(md);
  log(`wrote ${o.outFile} (${result.wall_s}s)`);
}

async function main(argv: string[]): Promise<void> {
  const [cmd, ...rest] = argv;
  const log = (s: string) => process.stderr.write(s + '\n');
  if (cmd === 'effectiveness') {
    const { values } = parseArgs({ args: rest, options: { trace: { type: 'string', multiple: true }, config: { type: 'string' }, out: { type: 'string' }, 'no-baselines': { type: 'boolean' } }, strict: true });
    const dir = join(ROOT, 'bench', 'traces');
    const traces = values.trace?.length ? values.trace : readdirSync(dir).filter((f) => f.endsWith('.json')).sort().map((f) => join(dir, f));
    let config = defaultEffectivenessConfig();
    if (values.config) config = (parseYaml(readFileSync(values.config, 'utf8')) ?? {}) as Record<string, unknown>;
    const reports: EffectivenessReport[] = [];
    for (const file of traces) reports.push(await runEffectiveness(loadTrace(file), { config, baselines: !values['no-baselines'], progress: log }));
    mkdirSync(OUT, { recursive: true });
    const out = values.out ?? join(OUT, traces.length === 1 ? `effectiveness-${basename(traces[0], '.json')}.json` : 'effectiveness.json');
    writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), node: process.version, reports: traces.length === 1 ? undefined : reports, ...(traces.length === 1 ? reports[0] : {}) }, null, 2) + '\n');
    const md = effectivenessMarkdown(reports);
    writeFileSync(out.replace(/\.json$/, '') + '.md', md);
    process.stdout.write(md);
    log(`wrote ${out}`);
  } else if (cmd === 'scale') {
    const { values } = parseArgs({
      args: rest,
      options: {
        sizes: { type: 'string', default: '10,100' },
        out: { type: 'string' },
        'daemon-seconds': { type: 'string', default: '240' },
        'daemon-sizes': { type: 'string', default: '100' },
        // the GPU probe is on by default in the product, so in the benchmark too (--no-gpu-probe turns it off)
        'gpu-probe': { type: 'boolean', default: true },
        'daemon-node-args': { type: 'string', default: '' },
        'snapshot-every': { type: 'string', default: '*/15 * * * * *' },
      },
      strict: true,
      allowNegative: true,
    });
    const ints = (name: string, v: string) => {
      const xs = v === '' ? [] : v.split(',').map((x) => Number(x.trim()));
      if (xs.some((n) => !Number.isInteger(n) || n < 1)) throw new Error(`--${name}: expected positive integers such as 100,1000, got "${v}"`);
      return xs;
    };
    const seconds = Number(values['daemon-seconds']);
    if (!Number.isInteger(seconds) || seconds < 10) throw new Error(`--daemon-seconds: expected an integer >= 10, got "${values['daemon-seconds']}"`);
    await scale(
      {
        sizes: ints('sizes', values.sizes),
        outFile: values.out ?? join(OUT, 'scale.json'),
        daemonSeconds: seconds,
        daemonSizes: ints('daemon-sizes', values['daemon-sizes']),
        gpuProbe: values['gpu-probe'],
        daemonNodeArgs: values['daemon-node-args'].split(' ').filter(Boolean),
        snapshotEvery: values['snapshot-every'],
      },
      log,
    );
  } else if (cmd === 'tune-check') {
    const { values } = parseArgs({ args: rest, options: { trace: { type: 'string', multiple: true }, windows: { type: 'string', default: '15m,60m' }, out: { type: 'string' } }, strict: true });
    const dir = join(ROOT, 'bench', 'traces');
    const traces = values.trace?.length ? values.trace : readdirSync(dir).filter((f) => f.endsWith('.json')).sort().map((f) => join(dir, f));
    const rows: TuneCheckRow[] = [];
    for (const file of traces) rows.push(...(await tuneCheck(loadTrace(file), values.windows.split(',').map((w) => w.trim()), log)));
    mkdirSync(OUT, { recursive: true });
    const out = values.out ?? join(OUT, traces.length === 1 ? `tune-check-${basename(traces[0], '.json')}.json` : 'tune-check.json');
    writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), node: process.version, rows }, null, 2) + '\n');
    const md = tuneCheckMarkdown(rows);
    writeFileSync(out.replace(/\.json$/, '') + '.md', md);
    process.stdout.write(md);
    log(`wrote ${out}`);
  } else if (cmd === 'gen-traces') {
    const { values } = parseArgs({ args: rest, options: { dir: { type: 'string', default: join(ROOT, 'bench', 'traces') } }, strict: true });
    for (const p of writeBundledTraces(values.dir)) log(`wrote ${p}`);
  } else if (cmd === 'scale-history') {
    const { values } = parseArgs({ args: rest, options: { size: { type: 'string' }, db: { type: 'string' }, end: { type: 'string' } }, strict: true });
    process.stdout.write(JSON.stringify(await synthesizeHistory(values.db!, Number(values.size), Number(values.end))) + '\n');
  } else if (cmd === 'scale-sim') {
    const { values } = parseArgs({ args: rest, options: { size: { type: 'string' }, now: { type: 'string' } }, strict: true });
    const sim = await startScaleSim(Number(values.size), values.now === 'realtime' ? 'realtime' : Number(values.now));
    process.stdout.write(sim.url + '\n');
    await new Promise<void>((r) => process.once('SIGTERM', () => r()));
    await sim.close();
  } else if (cmd === 'scale-ticks') {
    const { values } = parseArgs({ args: rest, options: { size: { type: 'string' }, sim: { type: 'string' }, db: { type: 'string' }, ticks: { type: 'string' }, now: { type: 'string' }, 'gpu-probe': { type: 'string', default: 'on' } }, strict: true });
    process.stdout.write(JSON.stringify(await measureTicks(values.sim!, values.db!, Number(values.size), Number(values.ticks), Number(values.now), values['gpu-probe'] !== 'off')) + '\n');
  } else {
    log('usage: npm run bench -- effectiveness [--trace FILE ...] [--config FILE] [--out FILE] [--no-baselines] | scale [--sizes 10,100] [--out FILE] [--daemon-seconds 240] [--daemon-sizes 100] [--no-gpu-probe] [--daemon-node-args "..."] [--snapshot-every CRON] | gen-traces [--dir DIR] | tune-check [--trace FILE ...] [--windows 15m,60m] [--out FILE]');
    process.exitCode = 2;
  }
}

if (process.argv[1] && resolve(process.argv[1]) === SELF) {
  main(process.argv.slice(2)).catch((e) => {
    process.stderr.write(`${(e as Error).stack ?? e}\n`);
    process.exit(1);
  });
}
