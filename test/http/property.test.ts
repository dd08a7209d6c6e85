/**
 * Bad input never stored: property-based tests (fast-check) over every write route of the real app, served with
 * the guard core against the simulator (test/helpers/guard.ts), through `app.inject`. The duration, time and number
 * fields get arbitrary strings and numbers (huge, negative, non-finite, malformed), the path params arbitrary text.
 * Held for every case: never a 5xx; a refused request (4xx) changes no table; the read routes stay 200.
 * The total number of cases run is printed at the end (450 per run, fixed seeds).
 */
import fc from 'fast-check';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type App } from '../../src/http/app.js';
import { durationText, numberText, timeText, digits } from '../helpers/arbitraries.js';
import { startHarness, type Harness } from '../helpers/guard.js';

let h: Harness;
let app: App;
let instanceId = '';
const runs: Record<string, number> = {};
const statuses: Record<number, number> = {};
const NUM_RUNS = { routes: 300, overrides: 150 };

beforeAll(async () => {
  h = await startHarness({ dry_run: true, policies: [{ name: 'idle-release', type: 'idle', idle_for: '45m', action: 'release_gpu' }], probes: { gpu: { enabled: false }, heartbeat: { enabled: true } } });
  instanceId = await h.add({ name: 'sd-prop', status: 'running' });
  await h.step(60_000);
  app = await buildApp({ gdb: h.gdb, config: h.config, clock: h.clock, log: pino({ level: 'silent' }), runtime: { dbOpen: true, leader: true, jobsRunning: true, demo: false }, guard: h.core.service });
  await app.ready();
});

afterAll(async () => {
  const total = Object.values(runs).reduce((a, b) => a + b, 0);
  console.info(`[property] cases run: ${total} ${JSON.stringify(runs)}; write statuses ${JSON.stringify(statuses)}`);
  await app?.close();
  await h?.close();
});

/** Every table's rows, in one comparable value. */
function snapshot(): Record<string, unknown[]> {
  const tables = h.gdb.sqlite.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[];
  return Object.fromEntries(tables.map(({ name }) => [name, h.gdb.sqlite.prepare(`SELECT * FROM "${name}"`).all()]));
}

/** Read after every case: the lists a stored row can break. */
const LISTS = ['/api/v1/instances', '/api/v1/overrides?all=1'];
/** Read after each property: every read route over what the cases stored. */
const READS = [...LISTS, '/api/v1/overrides', '/api/v1/alerts', '/api/v1/actions', '/api/v1/spend?from=-30d', '/api/v1/balance', '/api/v1/events'];

async function readsAnswer200(urls: string[], after: string): Promise<void> {
  for (const url of urls) {
    const read = await app.inject({ url });
    expect(read.statusCode, `${url} after ${after}: ${read.body.slice(0, 200)}`).toBe(200);
  }
}

/** A request: method, url, body text and its content type. */
interface Req {
  method: 'POST' | 'DELETE';
  url: string;
  payload?: string;
  type?: string;
}

/** Send `req`, then check the three rules. */
async function holds(req: Req): Promise<void> {
  const before = snapshot();
  const payload = req.payload?.replace('__INSTANCE__', instanceId);
  const r = await app.inject({ method: req.method, url: req.url, payload, headers: req.type ? { 'content-type': req.type } : {} });
  statuses[r.statusCode] = (statuses[r.statusCode] ?? 0) + 1;
  const where = `${req.method} ${req.url} ${payload ?? ''}`.slice(0, 300);
  expect(r.statusCode, `${where} -> ${r.body.slice(0, 200)}`).toBeLessThan(500);
  if (r.statusCode >= 400) expect(snapshot(), `${where} was refused (${r.statusCode}) but changed the DB`).toEqual(before);
  await readsAnswer200(LISTS, where);
}

const junk = fc.oneof(fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v)), fc.string({ maxLength: 10 }).map((s) => JSON.stringify(s)));
const pathText = fc.oneof(fc.string({ maxLength: 20 }), digits, fc.constantFrom('0', '-1', '1e3', '999999999999', '1', '2', '%00', 'sd-prop'));
const maybe = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });

/** A JSON object text from [key, JSON text] pairs, leaving out absent fields. */
function objectText(fields: Record<string, string | undefined>): string {
  return `{${Object.entries(fields)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${JSON.stringify(k)}:${v}`)
    .join(',')}}`;
}
const str = (a: fc.Arbitrary<string>) => a.map((s) => JSON.stringify(s));

const overrideBody = fc
  .record({
    target: fc.oneof(fc.constant(JSON.stringify({ instance_id: 'sd-missing' })), fc.constant(JSON.stringify({ name: 'sd-*' })), junk),
    kind: fc.oneof(fc.constantFrom('"snooze"', '"exempt"'), junk),
    policies: maybe(fc.oneof(fc.constant('["idle-release"]'), junk)),
    for: maybe(fc.oneof(str(durationText), junk)),
    until: maybe(fc.oneof(str(timeText), junk)),
    forever: maybe(fc.oneof(fc.constant('true'), junk)),
    reason: maybe(fc.oneof(fc.constant('"r"'), junk)),
    extra: maybe(junk),
  })
  .map(objectText);

/** One arbitrary request to one write route. */
const request: fc.Arbitrary<{ route: string; req: Req }> = fc.oneof(
  overrideBody.map((payload) => ({ route: 'POST /api/v1/overrides', req: { method: 'POST' as const, url: '/api/v1/overrides', payload, type: 'application/json' } })),
  pathText.map((id) => ({ route: 'DELETE /api/v1/overrides/:id', req: { method: 'DELETE' as const, url: `/api/v1/overrides/${encodeURIComponent(id)}` } })),
  fc
    .record({ instance_id: fc.oneof(fc.constant('"__INSTANCE__"'), str(pathText), junk), gpu_util: maybe(fc.oneof(numberText, junk)), busy: maybe(junk) })
    .map((b) => ({ route: 'POST /api/v1/heartbeat', req: { method: 'POST' as const, url: '/api/v1/heartbeat', payload: objectText(b), type: 'application/json' } })),
  fc
    .tuple(pathText, fc.record({ gpu_models: maybe(junk), gpu_count: maybe(fc.oneof(numberText, junk)), give_up_after: maybe(fc.oneof(str(durationText), junk)) }))
    .map(([id, b]) => ({ route: 'POST /api/v1/instances/:id/wake', req: { method: 'POST' as const, url: `/api/v1/instances/${encodeURIComponent(`x${id}`)}/wake`, payload: objectText(b), type: 'application/json' } })),
  fc
    .record({ instance_id: fc.oneof(str(pathText), junk), action: maybe(fc.oneof(fc.constantFrom('"release_gpu"', '"shutdown"'), junk)), reason: maybe(junk) })
    .map((b) => ({ route: 'POST /api/v1/actions', req: { method: 'POST' as const, url: '/api/v1/actions', payload: objectText(b), type: 'application/json' } })),
  fc
    .tuple(fc.string({ maxLength: 80 }), fc.oneof(fc.constantFrom('h1', 'h2', 'skip'), fc.string({ maxLength: 6 })))
    .map(([t, choice]) => ({ route: 'POST /snooze', req: { method: 'POST' as const, url: '/snooze', payload: new URLSearchParams({ t, choice }).toString(), type: 'application/x-www-form-urlencoded' } })),
);

describe('write routes under arbitrary input (fast-check): nothing a refused request stores, no read breaks', () => {
  it('the issue case: "for": "99999999d" is a 400 naming the limit and stores nothing', async () => {
    const before = snapshot();
    const r = await app.inject({ method: 'POST', url: '/api/v1/overrides', payload: { target: { instance_id: instanceId }, kind: 'snooze', for: '99999999d', reason: 'r' } });
    expect(r.statusCode).toBe(400);
    expect(r.json().error.message).toMatch(/^body\.for: must be at most 365d/);
    expect(snapshot()).toEqual(before);
    expect((await app.inject({ url: '/api/v1/instances' })).statusCode).toBe(200);
  });

  it('every write route: never a 5xx, a refused request changes no table, the reads stay 200', async () => {
    await fc.assert(
      fc.asyncProperty(request, async ({ route, req }) => {
        runs[route] = (runs[route] ?? 0) + 1;
        await holds(req);
      }),
      { numRuns: NUM_RUNS.routes, seed: 39 },
    );
    await readsAnswer200(READS, 'the arbitrary requests');
    expect(Object.keys(runs).sort()).toEqual(['DELETE /api/v1/overrides/:id', 'POST /api/v1/actions', 'POST /api/v1/heartbeat', 'POST /api/v1/instances/:id/wake', 'POST /api/v1/overrides', 'POST /snooze']);
  });

  it('overrides with arbitrary durations and times: accepted ones end within 365 days, the rest are 400s naming for or until', async () => {
    const body = fc.oneof(durationText.map((d) => ({ for: d })), timeText.map((u) => ({ until: u })));
    await fc.assert(
      fc.asyncProperty(body, async (end) => {
        runs['POST /api/v1/overrides (durations, times)'] = (runs['POST /api/v1/overrides (durations, times)'] ?? 0) + 1;
        const payload = JSON.stringify({ target: { instance_id: instanceId }, kind: 'snooze', reason: 'r', ...end });
        await holds({ method: 'POST', url: '/api/v1/overrides', payload, type: 'application/json' });
        const r = await app.inject({ method: 'POST', url: '/api/v1/overrides', payload, headers: { 'content-type': 'application/json' } });
        if (r.statusCode === 201) {
          const until = Date.parse(r.json().override.until);
          expect(until).toBeGreaterThan(h.clock.now() - 1000); // shown to the second
          expect(until).toBeLessThanOrEqual(h.clock.now() + 365 * 86_400_000);
        } else {
          expect(r.statusCode).toBe(400);
          expect(r.json().error.message).toMatch(/^body\.(for|until): /);
        }
      }),
      { numRuns: NUM_RUNS.overrides, seed: 40 },
    );
    await readsAnswer200(READS, 'the arbitrary overrides');
  });
});
