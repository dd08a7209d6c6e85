/**
 * `npm run bench -- <command>`:
 * - `effectiveness [--trace FILE ...] [--config FILE] [--out result.json] [--no-baselines]` (default: every trace in bench/traces)
 * - `scale [--sizes 100,1000,5000] [--out result.json]`
 * - `gen-traces [--dir bench/traces]` (rewrites the bundled traces from the seeded generator)
 * Internal workers (spawned by `scale`): `scale-history`, `scale-sim`, `scale-ticks`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { defaultEffectivenessConfig, runEffectiveness, type EffectivenessReport } from './effectiveness.js';
import { writeBundledTraces } from './gen-traces.js';
import { copyDb, measureTicks, startScaleSim, synthesizeHistory, type HistoryReport, type TickReport } from './scale.js';
import { mdTable } from './stats.js';
import { loadTrace } from './trace.js';

const ROOT = resolve(fileURLToPath(import.meta.url), '..', '..', '..');
const OUT = join(ROOT, 'bench', 'out');
const SELF = fileURLToPath(import.meta.url);

/** Markdown tables of effectiveness reports: the guard per trace, then every policy set per trace. */
export function effectivenessMarkdown(reports: EffectivenessReport[]): string {
  const main = mdTable(
    ['trace', 'instances', 'days', 'oracle_saved ¥', 'guard_saved ¥', 'capture_ratio', 'false_releases', 'missed_stretches', 'delay p50/p95 s', 'disruptions', 'api_calls', 'wall s'],
    reports.map((r) => [
      r.trace,
      r.instances,
      Math.round((r.duration_s / 86_400) * 10) / 10,
      r.oracle_saved,
      r.guard_saved,
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
    ['trace', 'policy set', 'saved ¥', 'capture', 'releases', 'false', 'early', 'missed / long', 'delay p50/p95 s', 'disruptions', 'calls/quiet tick', 'tick ms p50/p95'],
    reports.flatMap((r) =>
      Object.entries(r.runs).map(([name, x]) => [
        r.trace,
        name,
        x.saved,
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

/** Markdown tables of the scale figures. */
export function scaleMarkdown(rows: Array<{ history: HistoryReport; ticks: TickReport | null }>): string {
  const t = mdTable(
    ['instances', 'running', 'tick p50/p95 ms', 'tick p50/p95 ms (probes off)', 'API calls/tick', 'peak RSS MB (ticks)', '/api/v1/instances p50/p95 ms', 'bytes/instance-day (file / live)', 'DB MB'],
    rows.map(({ history: h, ticks: k }) => [
      h.instances,
      k?.running,
      k ? `${k.tick_ms.p50} / ${k.tick_ms.p95}` : null,
      k ? `${k.tick_ms_probes_off.p50} / ${k.tick_ms_probes_off.p95}` : null,
      k ? `${k.api_calls_per_tick.p50} (max ${k.api_calls_per_tick.max})` : null,
      k?.peak_rss_mb,
      k?.instances_api_ms ? `${k.instances_api_ms.p50} / ${k.instances_api_ms.p95}` : 'not measured',
      `${h.bytes_per_instance_day} / ${h.live_bytes_per_instance_day}`,
      Math.round(h.db_bytes / 1e6),
    ]),
  );
  const keys = Object.keys(rows[0]?.history.spend_ms ?? {});
  const s = mdTable(
    ['instances', ...keys.map((k) => `${k} p50/p95 ms`)],
    rows.map(({ history: h }) => [h.instances, ...keys.map((k) => `${h.spend_ms[k].p50} / ${h.spend_ms[k].p95}`)]),
  );
  return `${t}\n\nSpend query latency (spendReport over the synthetic year):\n\n${s}\n`;
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

async function scale(sizes: number[], outFile: string, log: (s: string) => void): Promise<void> {
  mkdirSync(OUT, { recursive: true });
  const rows: Array<{ history: HistoryReport; ticks: TickReport | null }> = [];
  const t0 = performance.now();
  for (const n of sizes) {
    const db = join(OUT, `scale-${n}.db`);
    const history = JSON.parse((await runWorker(['scale-history', '--size', String(n), '--db', db]).done).trim()) as HistoryReport;
    log(`scale ${n}: history ${history.synth_s}s, ${history.bytes_per_instance_day} B/instance-day; spend 365d by day p95 ${history.spend_ms['365d_by_day'].p95} ms`);
    const sim = runWorker(['scale-sim', '--size', String(n)]);
    const url = (await sim.line).trim();
    const tickDb = join(OUT, `scale-${n}-ticks.db`);
    copyDb(db, tickDb);
    let ticks: TickReport | null = null;
    try {
      const count = n >= 5000 ? 8 : n >= 1000 ? 20 : 30;
      ticks = JSON.parse((await runWorker(['scale-ticks', '--size', String(n), '--sim', url, '--db', tickDb, '--ticks', String(count)]).done).trim()) as TickReport;
      log(`scale ${n}: tick p50 ${ticks.tick_ms.p50} ms, p95 ${ticks.tick_ms.p95} ms, RSS ${ticks.peak_rss_mb} MB`);
    } finally {
      sim.child.kill('SIGTERM');
      await sim.done.catch(() => {});
      for (const f of [db, tickDb]) for (const s of ['', '-wal', '-shm']) rmSync(f + s, { force: true });
    }
    rows.push({ history, ticks });
  }
  const result = { date: new Date().toISOString(), wall_s: Math.round((performance.now() - t0) / 1000), node: process.version, sizes: rows };
  writeFileSync(outFile, JSON.stringify(result, null, 2) + '\n');
  const md = scaleMarkdown(rows);
  writeFileSync(outFile.replace(/\.json$/, '') + '.md', md);
  log(md);
  log(`wrote ${outFile} (${result.wall_s}s)`);
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
    const { values } = parseArgs({ args: rest, options: { sizes: { type: 'string', default: '100,1000,5000' }, out: { type: 'string' } }, strict: true });
    const sizes = values.sizes.split(',').map((s) => Number(s.trim()));
    if (sizes.some((n) => !Number.isInteger(n) || n < 1)) throw new Error(`--sizes: expected positive integers such as 100,1000, got "${values.sizes}"`);
    await scale(sizes, values.out ?? join(OUT, 'scale.json'), log);
  } else if (cmd === 'gen-traces') {
    const { values } = parseArgs({ args: rest, options: { dir: { type: 'string', default: join(ROOT, 'bench', 'traces') } }, strict: true });
    for (const p of writeBundledTraces(values.dir)) log(`wrote ${p}`);
  } else if (cmd === 'scale-history') {
    const { values } = parseArgs({ args: rest, options: { size: { type: 'string' }, db: { type: 'string' } }, strict: true });
    process.stdout.write(JSON.stringify(synthesizeHistory(values.db!, Number(values.size))) + '\n');
  } else if (cmd === 'scale-sim') {
    const { values } = parseArgs({ args: rest, options: { size: { type: 'string' } }, strict: true });
    const sim = await startScaleSim(Number(values.size));
    process.stdout.write(sim.url + '\n');
    await new Promise<void>((r) => process.once('SIGTERM', () => r()));
    await sim.close();
  } else if (cmd === 'scale-ticks') {
    const { values } = parseArgs({ args: rest, options: { size: { type: 'string' }, sim: { type: 'string' }, db: { type: 'string' }, ticks: { type: 'string' } }, strict: true });
    process.stdout.write(JSON.stringify(await measureTicks(values.sim!, values.db!, Number(values.size), Number(values.ticks))) + '\n');
  } else {
    log('usage: npm run bench -- effectiveness [--trace FILE ...] [--config FILE] [--out FILE] [--no-baselines] | scale [--sizes 100,1000,5000] [--out FILE] | gen-traces [--dir DIR]');
    process.exitCode = 2;
  }
}

if (process.argv[1] && resolve(process.argv[1]) === SELF) {
  main(process.argv.slice(2)).catch((e) => {
    process.stderr.write(`${(e as Error).stack ?? e}\n`);
    process.exit(1);
  });
}
