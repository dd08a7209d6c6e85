/** Spend groups: the `groups:` config, first-match membership, and `by=group` / `spend --by group` summing the by-instance rows. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigErrors } from '../../src/errors.js';
import { parseConfig } from '../../src/config/index.js';
import { openDb } from '../../src/db/open.js';
import { instances, intervals } from '../../src/db/schema.js';
import { groupOf } from '../../src/groups.js';
import { runCli, tempDir } from '../helpers/proc.js';
import { API_TOKEN, H, T0, bearer, makeApp, seedWorld, type TestApp } from '../http/helpers.js';

/** Config error lines of `raw`, or [] when it parses. */
function errorsOf(raw: unknown): string[] {
  try {
    parseConfig(raw);
  } catch (e) {
    if (e instanceof ConfigErrors) return e.errors.map((x) => x.message);
    throw e;
  }
  return [];
}

const GROUPS = [
  { name: 'render', match: { name: 'sd-*' } },
  { name: 'render-4090', match: { name: 'sd-*', gpu_model: '*4090*' } }, // never reached: "render" matches first
  { name: 'big', match: { id: 'inst-c' } },
];

/** seedWorld's sd-a and train-b, plus sd-c (id inst-c: "render" by name before "big" by id) and lab-d (no group). */
function seed(gdb: ReturnType<typeof openDb>): void {
  seedWorld(gdb);
  const inst = (id: string, name: string) => ({ id, name, status: 'running', gpuModel: 'A100', gpuCount: 1, pricePerHour: 3, retainPrice: 0.01, firstSeen: T0 - 10 * H, lastSeen: T0, goneAt: null });
  gdb.db.insert(instances).values([inst('inst-c', 'sd-c'), inst('inst-d', 'lab-d')]).run();
  gdb.db
    .insert(intervals)
    .values([
      { instanceId: 'inst-c', status: 'running', gpuKept: true, gpuCount: 1, rate: 3, from: T0 - 3 * H, to: null },
      { instanceId: 'inst-d', status: 'running', gpuKept: true, gpuCount: 1, rate: 1.5, from: T0 - 2 * H, to: null },
    ])
    .run();
}

const sum = (rows: Array<{ estimated: number }>) => Math.round(rows.reduce((s, r) => s + r.estimated, 0) * 1e4) / 1e4;

describe('groups config', () => {
  it('defaults to no groups', () => {
    expect(parseConfig({}).groups).toEqual([]);
  });

  it.each([
    [{ groups: [{ name: 'a', match: { name: 'x*' } }, { name: 'a', match: { name: 'y*' } }] }, 'groups[1].name: duplicate group name "a" (also groups[0])'],
    [{ groups: [{ name: 'a', match: { name: 'x*' } }, { name: '', match: { name: 'y*' } }] }, 'groups[1].name'],
    [{ groups: [{ name: '  ', match: { name: 'y*' } }] }, 'groups[0].name'],
    [{ groups: [{ name: 'ok', match: {} }, { name: 'other', match: { name: 'y*' } }] }, 'groups[1].name: "other" is reserved'],
    [{ groups: [{ name: 'a', match: { nmae: 'x*' } }] }, 'groups[0].match.nmae: unknown key'],
    [{ groups: [{ name: 'a' }] }, 'groups[0].match'],
  ])('rejects %j naming the key path', (raw, expected) => {
    expect(errorsOf(raw).join('\n')).toContain(expected);
  });

  it('puts an instance in the first group that matches, else "other"', () => {
    const { groups } = parseConfig({ groups: GROUPS });
    expect(groupOf(groups, { id: 'inst-c', name: 'SD-C', gpuModel: 'RTX 4090' })).toBe('render');
    expect(groupOf(groups, { id: 'inst-c', name: 'lab', gpuModel: '' })).toBe('big');
    expect(groupOf(groups, { id: 'inst-x', name: 'train-b', gpuModel: 'RTX 4090' })).toBe('other');
    expect(groupOf([], { id: 'inst-c', name: 'sd-c', gpuModel: '' })).toBe('other');
  });
});

describe('GET /api/v1/spend?by=group', () => {
  let t: TestApp;
  let plain: TestApp;
  beforeAll(async () => {
    t = await makeApp({ raw: { groups: GROUPS } });
    seed(t.gdb);
    plain = await makeApp();
    seed(plain.gdb);
  });
  afterAll(async () => {
    await t.close();
    await plain.close();
  });
  const get = (app: TestApp, url: string) => app.app.inject({ url, headers: bearer(API_TOKEN) });

  it('sums the by-instance rows by group, to the same total', async () => {
    const byInstance = (await get(t, '/api/v1/spend?by=instance&from=-5h')).json();
    const r = await get(t, '/api/v1/spend?by=group&from=-5h');
    expect(r.statusCode).toBe(200);
    const byGroup = r.json();
    expect(byGroup.by).toBe('group');
    expect(byGroup.total).toEqual(byInstance.total);
    // sd-a 5h x 2 + sd-c 3h x 3 = 19; train-b 4.02 + lab-d 3 = 7.02; "big" and "render-4090" take nothing
    expect(byGroup.rows).toEqual([
      { key: 'render', estimated: 19, observed: null, saved: 0 },
      { key: 'other', estimated: 7.02, observed: null, saved: 3.98 },
    ]);
    expect(sum(byGroup.rows)).toBe(sum(byInstance.rows));
    expect(sum(byGroup.rows)).toBe(byInstance.total.estimated);
  });

  it('format=csv by group: a header row named group, one row per group', async () => {
    const r = await get(t, '/api/v1/spend?by=group&from=-5h&format=csv');
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toMatch(/^text\/csv/);
    expect(r.body.replace(/^\uFEFF/, '').trim().split('\r\n')).toEqual(['group,estimated_yuan,saved_yuan', 'render,19.00,0.00', 'other,7.02,3.98']);
  });

  it('without groups, everything is "other"', async () => {
    const byInstance = (await get(plain, '/api/v1/spend?by=instance&from=-5h')).json();
    const byGroup = (await get(plain, '/api/v1/spend?by=group&from=-5h')).json();
    expect(byGroup.rows).toEqual([{ key: 'other', estimated: byInstance.total.estimated, observed: null, saved: byInstance.total.saved }]);
  });

  it('split=group: each day row carries its estimated spend per group, summing to the row', async () => {
    const r = await get(t, '/api/v1/spend?by=day&from=-5h&split=group');
    expect(r.statusCode).toBe(200);
    const rows = r.json().rows as Array<{ estimated: number; instances: Record<string, number> }>;
    expect(rows.map((x) => x.instances)).toEqual([{ render: 19, other: 7.02 }]);
    for (const x of rows) expect(sum(Object.values(x.instances).map((estimated) => ({ estimated })))).toBe(x.estimated);
    const session = (await get(t, '/api/v1/session')).json();
    expect(session.groups).toEqual(['render', 'render-4090', 'big']);
    expect((await get(plain, '/api/v1/session')).json().groups).toEqual([]);
  });

  it('still answers 400 for a by outside the allowed set', async () => {
    const r = await get(t, '/api/v1/spend?by=project&from=-5h');
    expect(r.statusCode).toBe(400);
    expect(JSON.stringify(r.json())).toContain('by');
  });
});

describe('xgc-guard spend --by group (dist/cli.js)', () => {
  it('prints group rows summing to the --by instance total, in JSON and as a table', async () => {
    const dir = tempDir();
    const gdb = openDb(join(dir, 'guard.db'));
    seed(gdb);
    gdb.close();
    const cfg = join(dir, 'c.yaml');
    writeFileSync(cfg, `db: { path: ${join(dir, 'guard.db')} }\ntimezone: UTC\ngroups: ${JSON.stringify(GROUPS)}\n`);
    const range = ['--from', new Date(T0 - 5 * H).toISOString(), '--to', new Date(T0).toISOString()];
    const inst = await runCli(['spend', '--config', cfg, ...range, '--by', 'instance', '--json']);
    const grp = await runCli(['spend', '--config', cfg, ...range, '--by', 'group', '--json']);
    expect(grp.code, grp.stderr).toBe(0);
    const i = JSON.parse(inst.stdout);
    const g = JSON.parse(grp.stdout);
    expect(g.total).toEqual(i.total);
    expect(g.rows.map((r: { key: string }) => r.key)).toEqual(['render', 'other']);
    expect(sum(g.rows)).toBe(sum(i.rows));
    const table = await runCli(['spend', '--config', cfg, ...range, '--by', 'group']);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^group\s+estimated/m);
    expect(table.stdout).toMatch(/^render\s+¥19\.00\s+—\s+¥0\.00$/m);
    expect(table.stdout).toMatch(/^other\s+¥7\.02\s+—\s+¥3\.98$/m);
    expect(table.stdout).toMatch(/^total\s+¥26\.02/m);
    const bad = await runCli(['spend', '--config', cfg, '--by', 'project']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/--by: expected day, hour, instance or group/);
  }, 60_000);
});
