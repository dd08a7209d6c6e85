import { defineConfig } from 'vitest/config';

// CI sets VITEST_JSON to a path: the JSON report feeds .ci/run's closing "N passed, N failed" line.
const json = process.env.VITEST_JSON;

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Hang guards, not performance checks (those are benchmarks): sized for a loaded machine, e.g. two copies of
    // the suite at once on 2 cores (scripts/stress-suite), where real processes start 10x slower than when idle.
    testTimeout: 180_000,
    hookTimeout: 300_000,
    pool: 'forks',
    // A worker process runs file after file with the modules it already loaded: files share no state but their
    // own servers and databases, and importing src/ afresh per file cost about 40% of the CPU of the HTTP,
    // foundation and notify folders (27 s vs 46 s wall for those folders on 2 cores).
    isolate: false,
    // Real servers (simulator, SMTP, sshd, Jupyter, Chromium) start per file. Most files wait on real time (ticks,
    // sockets, a demo at 60x) more than they compute: three at once on 2 cores finish sooner with the load still sane.
    maxWorkers: 3,
    reporters: json ? ['default', ['json', { outputFile: json }]] : ['default'],
  },
});
