import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { tempDir } from '../helpers/proc.js';

const ROOT = resolve(__dirname, '..', '..');
const SCRIPT = join(ROOT, 'scripts', 'build-if-stale.mjs');
const PREPARE = join(ROOT, 'scripts', 'prepare.mjs');

/** Run the script in `cwd` as `npm run demo` does. */
const run = (cwd: string) => spawnSync(process.execPath, [SCRIPT], { cwd, encoding: 'utf8' });

describe('scripts/build-if-stale.mjs (`npm run demo`) and scripts/prepare.mjs compile only when a source is newer than dist/', () => {
  it('builds a missing dist/, then skips while nothing changed, and builds again after an edit under src/', { timeout: 120_000 }, () => {
    // A tiny package with the real TypeScript compiler (the repo's node_modules).
    const dir = tempDir('xgc-guard-stale-');
    mkdirSync(join(dir, 'src'));
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
    // no @types (the repo's would all load): the script's logic is under test, not what tsc compiles
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, types: [], lib: ['ES2022'] } }));
    writeFileSync(join(dir, 'tsconfig.build.json'), JSON.stringify({ extends: './tsconfig.json', compilerOptions: { noEmit: false, rootDir: 'src', outDir: 'dist' }, include: ['src/**/*.ts'] }));
    writeFileSync(join(dir, 'src', 'cli.ts'), 'export const answer: number = 1;\n');

    const first = run(dir);
    expect(first.status, first.stderr).toBe(0);
    expect(first.stderr).toBe('building dist/: dist/cli.js is missing\n');
    expect(readFileSync(join(dir, 'dist', 'cli.js'), 'utf8')).toContain('answer = 1');

    const warm = run(dir);
    expect(warm.status).toBe(0);
    expect(warm.stdout + warm.stderr).toBe('');
    // npm's prepare (npm ci, and again when the first `npx xgc-guard` links the package into npx's cache)
    const prepare = () => spawnSync(process.execPath, [PREPARE], { cwd: dir, encoding: 'utf8' });
    expect(prepare().stdout).toBe('xgc-guard prepare: dist/ is newer than every source; nothing to build\n');

    writeFileSync(join(dir, 'src', 'cli.ts'), 'export const answer: number = 2;\n');
    const later = new Date(Date.now() + 60_000); // newer than dist/ whatever the file system's time resolution
    utimesSync(join(dir, 'src', 'cli.ts'), later, later);
    const edited = run(dir);
    expect(edited.status, edited.stderr).toBe(0);
    expect(edited.stderr).toBe('building dist/: src is newer than dist/\n');
    expect(readFileSync(join(dir, 'dist', 'cli.js'), 'utf8')).toContain('answer = 2');

    // npm's prepare builds by the same rule (after the up-to-date check above it printed that it had nothing to build)
    writeFileSync(join(dir, 'src', 'cli.ts'), 'export const answer: number = 3;\n');
    const latest = new Date(Date.now() + 120_000);
    utimesSync(join(dir, 'src', 'cli.ts'), latest, latest);
    const built = prepare();
    expect(built.status, built.stderr).toBe(0);
    expect(readFileSync(join(dir, 'dist', 'cli.js'), 'utf8')).toContain('answer = 3');
  });
});
