import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { openDb } from '../../src/db/open.js';
import { overrides } from '../../src/db/schema.js';
import { joinNegativeValues } from '../../src/cli.js';
import { runCli, spawnCli, tempDir } from '../helpers/proc.js';
import { startHarness, type Harness } from '../helpers/guard.js';

describe('CLI option parsing', () => {
  it('takes a value that starts with a dash and a digit in the space form', () => {
    const opts = { from: { type: 'string' as const }, json: { type: 'boolean' as const } };
    expect(joinNegativeValues(['--from', '-7d', '--json'], opts)).toEqual(['--from=-7d', '--json']);
    expect(joinNegativeValues(['--json', '-7d'], opts)).toEqual(['--json', '-7d']); // not a string option
    expect(joinNegativeValues(['--from', '--json'], opts)).toEqual(['--from', '--json']);
  });
});

describe('read-only commands and overrides against a database the guard filled from the simulator', { timeout: 90_000 }, () => {
  let h: Harness;
  let env: Record<string, string>;
  let seenId: string;
  beforeAll(async () => {
    h = await startHarness();
    seenId = await h.add({ name: 'sd-forgotten', status: 'running' });
    await h.add({ name: 'train-lora', status: 'running' });
    await h.step(60_000);
    await h.step(60_000);
    env = { GUARD_DB: h.config.db.path, GUARD_TZ: 'UTC' };
  });
  afterAll(async () => h?.close());

  it('spend accepts --from -7d and --to -1m in the space form, as the README writes them', async () => {
    const r = await runCli(['spend', '--from', '-7d', '--to', '-1m', '--by', 'instance'], env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^spend \S+ \.\. \S+ by instance \(UTC\)/);
  });

  it('spend and override list refuse a missing database without creating one', async () => {
    const path = join(tempDir(), 'sub', 'guard.db');
    for (const args of [['spend'], ['override', 'list'], ['override', 'rm', '1']]) {
      const r = await runCli(args, { GUARD_DB: path });
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr.trim()).toBe(`xgc-guard ${args[0]}: no database at ${path}; has the daemon run? (GUARD_DB)`);
    }
    expect(existsSync(path)).toBe(false);
    expect(existsSync(join(path, '..'))).toBe(false);
  });

  it('override add refuses an id or a name the guard has never seen, with a hint, and adds nothing', async () => {
    const unknown = await runCli(['override', 'add', '--instance', 'doesnotexist', '--kind', 'exempt', '--forever', '--reason', 'x'], env);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/--instance: the guard has never seen an instance with id "doesnotexist" \(known: .*sd-forgotten \(/);
    expect(unknown.stderr).toMatch(/pass --force to add it anyway/);
    const byName = await runCli(['override', 'add', '--instance', 'sd-forgotten', '--kind', 'exempt', '--forever', '--reason', 'x'], env);
    expect(byName.code).toBe(1);
    expect(byName.stderr).toMatch(/"sd-forgotten" is a name: use --name "sd-forgotten"/);
    const glob = await runCli(['override', 'add', '--name', 'comfy-*', '--kind', 'exempt', '--forever', '--reason', 'x'], env);
    expect(glob.code).toBe(1);
    expect(glob.stderr).toMatch(/--name: no instance the guard has seen is named like "comfy-\*"/);
    const g = openDb(h.config.db.path, { readonly: true });
    try {
      expect(g.db.select().from(overrides).all()).toEqual([]);
    } finally {
      g.close();
    }
  });

  it('override add takes a seen id or a matching glob, --force insists, and list shows the names', async () => {
    const a = await runCli(['override', 'add', '--instance', seenId, '--kind', 'snooze', '--for', '2h', '--reason', 'rendering'], env);
    expect(a.stderr).toBe('');
    expect(a.stdout).toMatch(new RegExp(`^added override \\d+: snooze sd-forgotten \\(${seenId}\\) until `));
    expect((await runCli(['override', 'add', '--name', 'SD-*', '--kind', 'exempt', '--forever', '--reason', 'sd boxes'], env)).code).toBe(0);
    const forced = await runCli(['override', 'add', '--instance', 'future-box', '--kind', 'exempt', '--forever', '--reason', 'not yet made', '--force'], env);
    expect(forced.code).toBe(0);
    expect(forced.stdout).toMatch(/exempt \(never seen\) \(future-box\) forever/);

    const list = await runCli(['override', 'list'], env);
    expect(list.code).toBe(0);
    const lines = list.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^ID\s+KIND\s+TARGET\s+NAME\s+POLICIES/);
    expect(list.stdout).toMatch(new RegExp(`^\\d+\\s+snooze\\s+${seenId}\\s+sd-forgotten\\s+\\*`, 'm'));
    expect(list.stdout).toMatch(/^\d+\s+exempt\s+name=SD-\*\s+sd-forgotten\s+\*/m);
    expect(list.stdout).toMatch(/^\d+\s+exempt\s+future-box\s+\(never seen\)/m);
    const json = JSON.parse((await runCli(['override', 'list', '--json'], env)).stdout).overrides;
    expect(json.find((o: any) => o.target.instance_id === seenId).instance_name).toBe('sd-forgotten');
  });

  it('override add without a database refuses (creating nothing) unless --force', async () => {
    const path = join(tempDir(), 'guard.db');
    const r = await runCli(['override', 'add', '--instance', 'a1', '--kind', 'exempt', '--forever', '--reason', 'x'], { GUARD_DB: path });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no database at .*; has the daemon run\? \(GUARD_DB\).*--force/);
    expect(existsSync(path)).toBe(false);
    const f = await runCli(['override', 'add', '--instance', 'a1', '--kind', 'exempt', '--forever', '--reason', 'x', '--force'], { GUARD_DB: path });
    expect(f.code).toBe(0);
    expect(existsSync(path)).toBe(true);
  });
});

describe('run under npx/npm start', { timeout: 90_000 }, () => {
  it('a repeated SIGTERM (npm forwards the one the terminal sent) does not cut the shutdown short', async () => {
    const dir = tempDir();
    const p = spawnCli(['run'], { XGC_API_TOKEN: 'tok-twice', XGC_API_BASE_URL: 'http://127.0.0.1:9', GUARD_DB: join(dir, 'g.db'), GUARD_HTTP_PORT: '0' });
    await p.waitFor(/"msg":"http listening"/, 60_000);
    p.child.kill('SIGTERM');
    await p.waitFor(/"msg":"shutting down"/, 30_000);
    p.child.kill('SIGTERM');
    const { code, signal } = await p.exited;
    expect(signal).toBeNull();
    expect(code).toBe(0);
    expect(p.out()).toMatch(/"msg":"stopped"/);
  });
});
