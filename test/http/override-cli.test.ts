import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { openDb } from '../../src/db/open.js';
import { overrides } from '../../src/db/schema.js';
import { CLI, runCli, tempDir } from '../helpers/proc.js';

beforeAll(() => {
  if (!existsSync(join(CLI, '..', 'commands', 'override.js'))) throw new Error(`${CLI} has no override command: run \`npm run build\` first (npm test does)`);
});

describe('xgc-guard override (the built CLI, a real process)', { timeout: 90_000 }, () => {
  it('adds, lists (table and --json) and removes overrides in the same DB the API uses', async () => {
    const env = { GUARD_DB: join(tempDir(), 'guard.db'), GUARD_TZ: 'UTC' };
    const add = await runCli(['override', 'add', '--instance', 'inst-a', '--kind', 'snooze', '--for', '2h', '--policy', 'nightly', '--reason', 'rendering', '--json', '--force'], env);
    expect(add.stderr).toBe('');
    expect(add.code).toBe(0);
    const created = JSON.parse(add.stdout).override;
    expect(created).toMatchObject({ target: { instance_id: 'inst-a' }, kind: 'snooze', policies: ['nightly'], who: 'cli', reason: 'rendering', state: 'active' });
    expect(created.until).toMatch(/\+00:00$/);

    const ex = await runCli(['override', 'add', '--name', 'sd-*', '--kind', 'exempt', '--forever', '--reason', 'demo box', '--who', 'bob', '--force'], env);
    expect(ex.code).toBe(0);
    expect(ex.stdout).toMatch(/^added override 2: exempt name=sd-\* forever/);

    const list = await runCli(['override', 'list'], env);
    expect(list.code).toBe(0);
    const lines = list.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^ID\s+KIND\s+TARGET\s+NAME\s+POLICIES\s+UNTIL\s+STATE\s+WHO\s+REASON$/);
    expect(lines[1]).toMatch(/^2\s+exempt\s+name=sd-\*\s+\(none seen\)\s+\*\s+forever\s+active\s+bob\s+demo box$/);
    expect(lines[2]).toMatch(/^1\s+snooze\s+inst-a\s+\(never seen\)\s+nightly\s+\S+\s+active\s+cli\s+rendering$/);

    const rm = await runCli(['override', 'rm', String(created.id)], env);
    expect(rm.code).toBe(0);
    expect(rm.stdout.trim()).toBe(`revoked override ${created.id}`);
    const again = await runCli(['override', 'rm', String(created.id)], env);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already revoked/);

    const active = JSON.parse((await runCli(['override', 'list', '--json'], env)).stdout).overrides;
    expect(active.map((o: { id: number }) => o.id)).toEqual([2]);
    const all = JSON.parse((await runCli(['override', 'list', '--all', '--json'], env)).stdout).overrides;
    expect(all.map((o: { id: number; state: string }) => [o.id, o.state])).toEqual([
      [2, 'active'],
      [1, 'revoked'],
    ]);

    const gdb = openDb(env.GUARD_DB);
    try {
      const rows = gdb.db.select().from(overrides).all();
      expect(rows).toHaveLength(2);
      expect(rows[0]).toMatchObject({ instanceId: 'inst-a', kind: 'snooze', who: 'cli' });
      expect(rows[0].revokedAt).not.toBeNull();
    } finally {
      gdb.close();
    }
  });

  it('refuses bad input with exit 1 and a message naming what is wrong', async () => {
    const env = { GUARD_DB: join(tempDir(), 'guard.db') };
    const cases: Array<[string[], RegExp]> = [
      [['override', 'add', '--instance', 'a', '--kind', 'snooze', '--forever', '--reason', 'r'], /forever: a snooze needs until or for/],
      [['override', 'add', '--instance', 'a', '--kind', 'snooze', '--until', '2000-01-01', '--reason', 'r'], /until: must be in the future/],
      [['override', 'add', '--instance', 'a', '--kind', 'snooze', '--for', '1h', '--policy', 'nope', '--reason', 'r'], /unknown policy "nope"/],
      [['override', 'add', '--instance', 'a', '--name', 'b', '--kind', 'exempt', '--forever', '--reason', 'r'], /--instance\/--name: give exactly one/],
      [['override', 'add', '--instance', 'a', '--kind', 'snooze', '--for', '1h'], /--reason: required/],
      [['override', 'rm', '42'], /no override 42/],
      [['override', 'frobnicate'], /expected add, list or rm/],
    ];
    for (const [args, re] of cases) {
      const r = await runCli(args[0] === 'override' && args[1] === 'add' ? [...args, '--force'] : args, env);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr, args.join(' ')).toMatch(re);
    }
  });
});
