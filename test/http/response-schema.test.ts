// Every answer goes out through its route's declared response schema (fastify's serializer from the zod type
// provider): an answer that does not fit is never sent; the client gets a 500 with the error shape instead.
import { eq } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import { instances } from '../../src/db/schema.js';
import { API_TOKEN, bearer, makeApp, seedWorld, type TestApp } from './helpers.js';

let t: TestApp | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

describe('answers checked against their response schema', () => {
  it('the instance list fits its schema, and a row that does not fit (a fractional GPU count) is a 500, not a body', async () => {
    t = await makeApp();
    seedWorld(t.gdb);
    const ok = await t.app.inject({ url: '/api/v1/instances', headers: bearer(API_TOKEN) });
    expect(ok.statusCode).toBe(200);
    t.gdb.db.update(instances).set({ gpuCount: 1.5 }).where(eq(instances.id, 'inst-a')).run();
    const bad = await t.app.inject({ url: '/api/v1/instances', headers: bearer(API_TOKEN) });
    expect(bad.statusCode).toBe(500);
    expect(bad.json()).toEqual({ error: { code: expect.any(String), message: expect.any(String) } });
    expect(bad.body).not.toContain('1.5');
  });

  it('the savings answer carries only the fields its schema declares', async () => {
    t = await makeApp();
    seedWorld(t.gdb);
    const r = await t.app.inject({ url: '/api/v1/savings?from=-7d', headers: bearer(API_TOKEN) });
    expect(r.statusCode).toBe(200);
    expect(Object.keys(r.json()).sort()).toEqual(['actions', 'by_day', 'by_instance', 'by_policy', 'cap_days', 'currency', 'from', 'to', 'total', 'tz']);
  });
});
