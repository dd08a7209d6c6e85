// Build dist/ only when a source is newer than it: `npm run demo` starts from the dist/ that `npm ci` built (the
// prepare script) and compiles again only after an edit under src/ or of a tsconfig.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The build's inputs, relative to the package root. */
export const SOURCES = ['src', 'tsconfig.json', 'tsconfig.build.json'];

/** The newest modification time (ms) of a file or of any file under a directory; 0 when it does not exist. */
export function newestMtime(path) {
  if (!existsSync(path)) return 0;
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = 0;
  for (const name of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, name)));
  return newest;
}

/** Why dist/ under `root` needs a build, or null when it is up to date. */
export function staleReason(root) {
  if (!existsSync(join(root, 'dist', 'cli.js'))) return 'dist/cli.js is missing';
  const built = newestMtime(join(root, 'dist'));
  const changed = SOURCES.find((s) => newestMtime(join(root, s)) > built);
  return changed ? `${changed} is newer than dist/` : null;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const why = staleReason(process.cwd());
  if (why) {
    console.error(`building dist/: ${why}`);
    const r = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
    process.exit(r.status ?? 1);
  }
}
