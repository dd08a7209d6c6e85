import { defineConfig } from 'vitest/config';

// CI sets VITEST_JSON to a path: the JSON report feeds .ci/run's closing "N passed, N failed" line.
const json = process.env.VITEST_JSON;

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Real servers (simulator, SMTP, sshd, Jupyter, Chromium) start per file; keep the load sane on 2 cores.
    maxWorkers: 2,
    reporters: json ? ['default', ['json', { outputFile: json }]] : ['default'],
  },
});
