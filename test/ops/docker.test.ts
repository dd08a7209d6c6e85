/**
 * The image, statically (scripts/smoke-image builds and runs it for real in CI, where .ci/run starts Docker): a supported Node on every stage, dependencies installed and the
 * native addon built once, no init of its own (compose `init: true` brings one), a HEALTHCHECK through
 * `xgc-guard health`, a .dockerignore, and scripts/smoke-prod copying exactly what the Dockerfile copies.
 * `xgc-guard health` itself runs against a real daemon whose port is set only in its config file.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import semver from 'semver';
import { parse as parseYaml } from 'yaml';
import { startNodeFlags } from '../../src/bench/scale-daemon.js';
import { runCli, spawnCli, tempDir } from '../helpers/proc.js';
import { freePort } from '../notify/helpers.js';

const ROOT = resolve(__dirname, '..', '..');
const read = (f: string) => readFileSync(join(ROOT, f), 'utf8');

interface Stage {
  from: string;
  name?: string;
  lines: string[];
}

/** Dockerfile stages with their instructions (comments dropped, continuations joined). */
function stages(text: string): Stage[] {
  const out: Stage[] = [];
  for (const line of text.replace(/\\\n\s*/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'))) {
    const from = /^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/i.exec(line);
    if (from) out.push({ from: from[1], name: from[2], lines: [] });
    else out.at(-1)!.lines.push(line);
  }
  return out;
}

/** What a stage copies: `build:path` for COPY --from=build /app/path, `ctx:path` for the build context. */
function copies(stage: Stage): string[] {
  const out: string[] = [];
  for (const l of stage.lines) {
    const m = /^COPY\s+(--from=(\S+)\s+)?(.+)\s+\S+$/.exec(l);
    if (!m) continue;
    for (const src of m[3].split(/\s+/)) out.push(m[2] ? `${m[2]}:${src.replace(/^\/app\//, '')}` : `ctx:${src.replace(/\/$/, '')}`);
  }
  return out.sort();
}

/** What scripts/smoke-prod copies into a folder variable ($build or $app): `build:x` from $build, `ctx:x` from $root. */
function smokeCopies(script: string, into: 'build' | 'app'): string[] {
  const out: string[] = [];
  for (const l of script.split('\n')) {
    if (!/^\s*cp\b/.test(l) || !new RegExp(`"\\$${into}(/[^"]*)?"\\s*$`).test(l)) continue;
    const args = [...l.matchAll(/"\$(root|build)\/([^"]+)"/g)].filter((m) => !(m[1] === into));
    for (const [, base, path] of args) out.push(`${base === 'root' ? 'ctx' : 'build'}:${path}`);
  }
  return out.sort();
}

describe('Docker image and its production install', () => {
  const docker = stages(read('Dockerfile'));
  const build = docker.find((s) => s.name === 'build')!;
  const runtime = docker.at(-1)!;

  it('runs every stage on a current Node LTS that package.json engines and every runtime dependency accept', () => {
    const pkg = JSON.parse(read('package.json'));
    const lock = JSON.parse(read('package-lock.json'));
    for (const s of docker) expect(s.from).toMatch(/^node:(22|24)-bookworm-slim$/);
    const imageMajor = Number(/^node:(\d+)/.exec(runtime.from)![1]);
    expect(semver.satisfies(`${imageMajor}.0.0`, pkg.engines.node)).toBe(true);
    const ours = semver.minVersion(pkg.engines.node)!;
    const tooOld = Object.entries(lock.packages as Record<string, { dev?: boolean; engines?: { node?: string } }>)
      .filter(([k, v]) => k && !v.dev && v.engines?.node)
      .filter(([, v]) => !semver.satisfies(ours, v.engines!.node!) || !semver.satisfies(`${imageMajor}.0.0`, v.engines!.node!))
      .map(([k, v]) => `${k}: ${v.engines!.node}`);
    expect(tooOld, `engines.node ${pkg.engines.node} allows a Node these dependencies refuse`).toEqual([]);
  });

  it('installs dependencies once (in the build stage) and compiles nothing in the runtime stage', () => {
    const npmCi = docker.flatMap((s) => s.lines).filter((l) => /\bnpm (ci|install)\b/.test(l));
    expect(npmCi).toHaveLength(1);
    expect(build.lines).toContain(npmCi[0]);
    expect(build.lines.some((l) => /npm prune --omit=dev/.test(l))).toBe(true);
    expect(runtime.lines.filter((l) => /^RUN\b/.test(l) && /\b(npm|node-gyp|apt-get|make|g\+\+)\b/.test(l))).toEqual([]);
    expect(copies(runtime)).toEqual(['build:dist', 'build:node_modules', 'ctx:migrations', 'ctx:package.json', 'ctx:public']);
  });

  it('has a HEALTHCHECK through `xgc-guard health` and no init of its own (compose brings one with init: true)', () => {
    expect(runtime.lines.find((l) => l.startsWith('HEALTHCHECK'))).toMatch(/CMD \["node", "dist\/cli\.js", "health"\]$/);
    const entry = runtime.lines.find((l) => l.startsWith('ENTRYPOINT'))!;
    expect(entry).not.toMatch(/tini|dumb-init/);
    expect(runtime.lines.filter((l) => /^ENV\b/.test(l)).join(' ')).not.toMatch(/GUARD_HTTP_PORT/); // the port is the config's
    const compose = parseYaml(read('docker-compose.yml'));
    expect(compose.services['xgc-guard'].init).toBe(true);
  });

  it('starts node with the flags of `npm start` (the ones the scale benchmark starts the daemon with)', () => {
    const entry = runtime.lines.find((l) => l.startsWith('ENTRYPOINT'))!;
    const argv = JSON.parse(entry.replace(/^ENTRYPOINT\s+/, '')) as string[];
    expect(argv[0]).toBe('node');
    expect(argv.at(-1)).toBe('dist/cli.js');
    const flags = startNodeFlags(JSON.parse(read('package.json')).scripts.start);
    expect(flags.length).toBeGreaterThan(0);
    expect(argv.slice(1, -1)).toEqual(flags);
  });

  it('keeps local installs, databases, secrets and history out of the build context, but nothing the build copies', () => {
    const ignore = read('.dockerignore').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    for (const must of ['.git', 'node_modules', 'dist', 'data', '*.db', 'secrets', 'guard.yaml']) expect(ignore).toContain(must);
    const copied = [...copies(build), ...copies(runtime)].filter((c) => c.startsWith('ctx:')).map((c) => c.slice(4));
    for (const c of copied) expect(ignore.some((i) => i === c || i === c.split('/')[0]), `${c} is ignored but copied`).toBe(false);
  });

  it('scripts/smoke-prod copies exactly what the Dockerfile copies, and runs its install steps', () => {
    const smoke = read('scripts/smoke-prod');
    expect(smokeCopies(smoke, 'build')).toEqual(copies(build));
    expect(smokeCopies(smoke, 'app')).toEqual(copies(runtime));
    for (const step of ['npm ci', 'npm run build', 'npm prune --omit=dev', 'dist/cli.js health']) expect(smoke).toContain(step);
  });

  it('`xgc-guard health` asks the port the config file sets: 0 for a live daemon, 1 naming the URL when nothing answers', async () => {
    const dir = tempDir();
    const port = await freePort();
    const cfg = join(dir, 'guard.yaml');
    writeFileSync(cfg, `http: { port: ${port} }\n`);
    const env = { XGC_API_TOKEN: 'tok-health', XGC_API_BASE_URL: 'http://127.0.0.1:9', GUARD_DB: join(dir, 'g.db'), GUARD_CONFIG: cfg };
    const down = await runCli(['health'], env);
    expect(down.code).toBe(1);
    expect(down.stderr.trim()).toBe(`config: ${cfg}\nunhealthy: http://127.0.0.1:${port}/healthz did not answer (ECONNREFUSED)`);
    const p = spawnCli(['run'], env);
    try {
      await p.waitFor(/"msg":"http listening"/, 60_000);
      const up = await runCli(['health'], { GUARD_CONFIG: cfg }); // no token needed to ask
      expect(up.stdout.trim()).toBe(`ok http://127.0.0.1:${port}/healthz`);
      expect(up.code).toBe(0);
    } finally {
      p.child.kill('SIGTERM');
      await p.exited;
    }
  }, 150_000);
});
