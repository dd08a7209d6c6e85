#!/usr/bin/env node
// Makes each slip of issue 37 (and the rails listed in test/README.md) by hand, one at a time, runs the rail tests and
// says whether a test failed, then puts the file back. Every slip must fail at least one test: exit 1 otherwise, or
// when a slip's code is no longer found (a refactor moved it: update the slip here).
//
//   node scripts/rail-slips.mjs            all slips
//   node scripts/rail-slips.mjs 2 11       only these
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';

const RAIL_TESTS = ['test/core/rails-executor.test.ts', 'test/core/rails-policies.test.ts', 'test/probes/rails-probes.test.ts', 'test/core/rails-edges.test.ts', 'test/probes/judges.test.ts'];

/** [id, rule, file, code as it is, code as the slip makes it] */
const SLIPS = [
  ['1', '#keep re-checked on the act-now path', 'src/actions/executor.ts', 'if (hasKeepMarker(f.name, config.keep_marker) && !req.lastResort)', "if (hasKeepMarker(f.name, config.keep_marker) && !req.lastResort && req.policy !== 'api')"],
  ['2', 'a GPU at exactly gpu_busy_percent is busy', 'src/probes/gpu-signals.ts', 'max >= t.gpuBusyPercent)', 'max > t.gpuBusyPercent)'],
  ['3', 'a GPU sample older than stale_after is unknown', 'src/probes/monitor.ts', 'if (age > g.staleAfterMs) {', 'if (false) {'],
  ['4', 'a wake walks only gpu_models', 'src/wake/waker.ts', '[...new Set(opts.gpuModels.map(fullModelName))]', '[...new Set([...opts.gpuModels.map(fullModelName), fullModelName(inst.gpuModel)])]'],
  ['5', 'destroy needs confirm_destroy too', 'src/config/load.ts', "else if (p.action === 'destroy' && !p.confirm_destroy)", "else if (p.action === 'destroy' && !p.confirm_destroy && !c.allow_destroy)"],
  ['6', 'runway_critical resolves on the balance less the unbilled hour', 'src/policies/runway.ts', 'const resolveCritical: PolicyDecision[] = balance > 0', 'const resolveCritical: PolicyDecision[] = ctx.balance > 0'],
  ['7', 'an idle release needs a fresh GPU sample', 'src/actions/executor.ts', 'if (req.requireGpu && !b.gpuFresh)', 'if (false)'],
  ['8', 'a GPU released since the decision aborts', 'src/actions/executor.ts', 'f.status !== i.status || (f.gpuUsed > 0) !== i.holdsGpu', 'f.status !== i.status'],
  ['9', 'an override since the decision aborts a policy action', 'src/actions/executor.ts', '.find((x) => overrideMatches(x, f, req.policy))', '.find(() => false)'],
  ['10', 'recovery counts an action under way as applied', 'src/actions/executor.ts', 'kind.reached(inst) || kind.underWay(inst)', 'kind.reached(inst)'],
  ['11', 'max_runtime acts at exactly max (the shared due rule)', 'src/policies/decide.ts', 'if (p.warned && ctx.now >= p.at)', 'if (p.warned && ctx.now > p.at)'],
];

const only = process.argv.slice(2);
let bad = 0;
for (const [id, rule, file, from, to] of SLIPS) {
  if (only.length && !only.includes(id)) continue;
  const text = readFileSync(file, 'utf8');
  const at = text.indexOf(from);
  if (at < 0 || text.indexOf(from, at + 1) >= 0) {
    console.log(`slip ${id} (${rule}): code not found once in ${file}: update this script`);
    bad++;
    continue;
  }
  writeFileSync(file, text.replace(from, to));
  try {
    const r = spawnSync('npx', ['vitest', 'run', ...RAIL_TESTS, '--reporter=json'], { encoding: 'utf8', maxBuffer: 64 << 20 });
    const report = JSON.parse(r.stdout.slice(r.stdout.indexOf('{')));
    const failed = report.testResults.flatMap((f) => f.assertionResults.filter((a) => a.status === 'failed').map((a) => `${f.name.replace(`${process.cwd()}/`, '')} > ${a.title}`));
    if (failed.length === 0) bad++;
    console.log(`slip ${id} (${rule}): ${failed.length ? `caught by ${failed.length}` : 'NOT CAUGHT'}`);
    for (const f of failed) console.log(`    ${f}`);
  } finally {
    writeFileSync(file, text);
  }
}
process.exit(bad ? 1 : 0);
