// What the daemon loads at start, seen by a module-load hook in a child process: drizzle-orm through its CommonJS
// build only (its ES modules made ~80 MB of garbage on Node 24, src/db/orm.ts), and nodemailer not at all until the
// first email (src/notify/channels/email.ts).
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CLI, tempDir } from '../helpers/proc.js';

describe('modules the daemon loads at start', () => {
  it('take drizzle-orm through its CommonJS build and leave nodemailer for the first email', () => {
    const dir = tempDir();
    const log = join(dir, 'loaded.txt');
    writeFileSync(log, '');
    // The hook runs on the loader's own thread: it appends every URL the ES module loader loads (ES modules, and
    // CommonJS modules reached by `import`) to the log.
    writeFileSync(
      join(dir, 'hooks.mjs'),
      `import { appendFileSync } from 'node:fs';
export async function load(url, context, next) {
  appendFileSync(${JSON.stringify(log)}, url + '\\n');
  return next(url, context);
}`,
    );
    writeFileSync(join(dir, 'register.mjs'), `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(join(dir, 'hooks.mjs')).href)});\n`);
    const run = pathToFileURL(resolve(CLI, '..', 'commands', 'run.js')).href;
    const r = spawnSync(process.execPath, ['--import', pathToFileURL(join(dir, 'register.mjs')).href, '--input-type=module', '-e', `await import(${JSON.stringify(run)});`], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.stderr).not.toMatch(/Error/);
    expect(r.status).toBe(0);
    const urls = readFileSync(log, 'utf8').split('\n').filter(Boolean);
    // the hook saw the daemon's own modules and its dependencies
    expect(urls).toContain(run);
    expect(urls.some((u) => u.includes('/node_modules/fastify/'))).toBe(true);
    expect(urls.some((u) => u.endsWith('/dist/db/orm.js'))).toBe(true);
    expect(urls.filter((u) => /\/node_modules\/drizzle-orm\/.*\.js$/.test(u))).toEqual([]);
    expect(urls.filter((u) => u.includes('/node_modules/nodemailer/'))).toEqual([]);
  });
});
