// npm's `prepare` step, run by `npm ci` / `npm install` in a clone: build dist/ so `npx xgc-guard` and `npm start`
// work right away. Skipped where there is nothing to build: no sources (the image's dependency layer) or no
// TypeScript (a production install with --omit=dev), and where dist/ is newer than every source (scripts/build-if-stale.mjs):
// the first `npx xgc-guard` in a checkout links the package into npx's cache, and npm runs `prepare` again then.
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

if (!existsSync('src/cli.ts') || !existsSync('node_modules/typescript/bin/tsc')) {
  console.log('xgc-guard prepare: no sources or no TypeScript here; nothing to build');
  process.exit(0);
}
// imported only here: the image's dependency layer copies this file alone
const { staleReason } = await import('./build-if-stale.mjs');
const why = staleReason(process.cwd());
if (!why) {
  console.log('xgc-guard prepare: dist/ is newer than every source; nothing to build');
  process.exit(0);
}
const r = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
process.exit(r.status ?? 1);
