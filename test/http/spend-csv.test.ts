// GET /api/v1/spend?format=csv: read back by Python's csv module, with the JSON answer's rows and figures.
import { afterEach, describe, expect, it } from 'vitest';
import { instances, intervals } from '../../src/db/schema.js';
import { pythonCsv } from '../helpers/python-csv.js';
import { API_TOKEN, bearer, H, makeApp, READ_TOKEN, seedWorld, T0, type TestApp } from './helpers.js';

let t: TestApp | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

/** A name with a comma, a quote, a newline and Chinese characters. */
const ODD_NAME = '渲染, "甲"\n第二行';

async function seeded(): Promise<TestApp> {
  const a = await makeApp();
  seedWorld(a.gdb);
  a.gdb.db
    .insert(instances)
    .values({ id: 'inst-c', name: ODD_NAME, status: 'running', gpuModel: 'RTX 4090', gpuCount: 1, pricePerHour: 3, retainPrice: 0.01, firstSeen: T0 - 30 * H, lastSeen: T0, goneAt: null })
    .run();
  a.gdb.db.insert(intervals).values({ instanceId: 'inst-c', status: 'running', gpuKept: true, gpuCount: 1, rate: 3, from: T0 - 30 * H, to: null }).run();
  return a;
}

const get = (url: string) => t!.app.inject({ url, headers: bearer(API_TOKEN) });

describe('spend as CSV', () => {
  it('by day: text/csv with a BOM, a named header, one row per JSON row with the same figures', async () => {
    t = await seeded();
    const q = 'from=-3d&to=now&by=day&tz=Asia/Shanghai';
    const json = (await get(`/api/v1/spend?${q}`)).json();
    const r = await get(`/api/v1/spend?${q}&format=csv`);
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(r.headers['content-disposition']).toMatch(/^attachment; filename="spend-day-\d{4}-\d\d-\d\d\.csv"$/);
    const p = pythonCsv(r.rawPayload);
    expect(p.bom).toBe(true);
    expect(p.header).toEqual(['day', 'estimated_yuan', 'observed_yuan', 'saved_yuan']);
    expect(p.rows).toHaveLength(json.rows.length);
    expect(json.rows.length).toBeGreaterThan(1);
    p.rows.forEach((row, i) => {
      expect(row[0]).toBe(json.rows[i].key.slice(0, 10));
      expect(Number(row[1])).toBe(json.rows[i].estimated);
      expect(Number(row[2])).toBe(json.rows[i].observed);
      expect(Number(row[3])).toBe(json.rows[i].saved);
      for (const y of row.slice(1)) expect(y).toMatch(/^-?\d+\.\d{2,4}$/);
    });
  });

  it('by instance: names with a comma, quotes, a newline and Chinese characters round-trip', async () => {
    t = await seeded();
    const q = 'from=-3d&to=now&by=instance';
    const json = (await get(`/api/v1/spend?${q}`)).json();
    const p = pythonCsv((await get(`/api/v1/spend?${q}&format=csv`)).rawPayload);
    expect(p.header).toEqual(['instance_id', 'instance_name', 'estimated_yuan', 'saved_yuan']);
    expect(p.rows.map((r) => r[0])).toEqual(json.rows.map((r: { key: string }) => r.key));
    expect(p.rows.find((r) => r[0] === 'inst-c')?.[1]).toBe(ODD_NAME);
    expect(p.rows.find((r) => r[0] === 'inst-a')?.[1]).toBe('sd-a');
    expect(p.rows.reduce((s, r) => s + Number(r[2]), 0)).toBeCloseTo(json.total.estimated, 3);
  });

  it('a bad format is a 400 naming the allowed values; split is refused with csv', async () => {
    t = await seeded();
    const bad = await get('/api/v1/spend?format=xlsx');
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toEqual({ error: { code: expect.any(String), message: expect.stringMatching(/json.*csv/) } });
    const split = await get('/api/v1/spend?format=csv&split=instance');
    expect(split.statusCode).toBe(400);
    expect(split.json().error.message).toMatch(/split/);
  });

  it('the read-only token may download it; no token may not', async () => {
    t = await seeded();
    const read = await t.app.inject({ url: '/api/v1/spend?format=csv', headers: bearer(READ_TOKEN) });
    expect(read.statusCode).toBe(200);
    expect(pythonCsv(read.rawPayload).header[0]).toBe('day');
    expect((await t.app.inject({ url: '/api/v1/spend?format=csv' })).statusCode).toBe(401);
  });
});
