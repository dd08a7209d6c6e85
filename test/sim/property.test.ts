/**
 * Property-based tests (fast-check) over the simulator's Open API and /sim control inputs, over real HTTP: arbitrary
 * JSON bodies and values (huge, negative, fractional, non-numeric, wrong types, malformed JSON, unknown keys) for
 * deploy, boot, shutdown, release, destroy, /sim/balance, /sim/clock/advance and /sim/instances/:id(/activity).
 * Held for every case: each request answers within a timeout, never a 5xx; `/open` always answers the envelope with
 * HTTP 200 (unknown paths included); the balance from /open/balance and /sim/state stays a finite number, and an
 * Open API request never raises it (no credit) nor drives it implausibly low. Fixed seeds; the number of cases
 * run is in the test names and printed at the end.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { startSimulator, type RunningSim } from '../../src/sim/index.js';

const TOKEN = 'tok-property';
const T0 = Date.UTC(2025, 3, 7, 0, 0, 0);
const REQUEST_TIMEOUT_MS = 15_000; // a hang detector (the old simulator never answered), not a speed target
const NUM_RUNS = { open: 180, control: 150 };
const runs: Record<string, number> = {};

let sim: RunningSim;

beforeAll(async () => {
  sim = await startSimulator({ token: TOKEN, clock: new ManualClock(T0), instances: 3, seed: 10, ssh: false });
});
afterAll(async () => {
  const total = Object.values(runs).reduce((a, b) => a + b, 0);
  console.info(`[sim property] cases run: ${total} ${JSON.stringify(runs)}`);
  await sim?.close();
});

/** One request with a deadline; a hang fails the property. */
async function send(method: string, path: string, body: { json?: unknown; raw?: string } | undefined, auth = true) {
  const headers: Record<string, string> = auth ? { authorization: `Bearer ${TOKEN}` } : {};
  let payload: string | undefined;
  if (body) {
    headers['content-type'] = 'application/json';
    payload = body.raw ?? JSON.stringify(body.json);
  }
  const res = await fetch(`${sim.url}${path}`, { method, headers, body: payload, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  const text = await res.text();
  return { status: res.status, text };
}

async function ids(): Promise<string[]> {
  const r = await send('GET', '/open/instances', undefined);
  return (JSON.parse(r.text).data.list as Array<{ id: string }>).map((i) => i.id);
}

/** After every case: both balances are finite numbers. */
async function balancesFinite(): Promise<void> {
  const open = JSON.parse((await send('GET', '/open/balance', undefined)).text);
  expect(open.code).toBe(200);
  expect(Number.isFinite(open.data.balance)).toBe(true);
  const state = JSON.parse((await send('GET', '/sim/state', undefined)).text);
  expect(Number.isFinite(state.balance)).toBe(true);
  for (const i of state.instances) expect(Number.isFinite(i.billed), `billed of ${i.id}`).toBe(true);
}

const bigNumbers = fc.constantFrom(0, -0, 1, -1, 0.5, 8, 9, 2 ** 31, 2 ** 53, 1e9, 1e12, -1e12, 1e300, -1e300, 1e308, -1e308, 5e-324);
const anyValue = fc.oneof(
  { weight: 3, arbitrary: bigNumbers },
  { weight: 2, arbitrary: fc.double() }, // NaN/Infinity become null in JSON
  { weight: 2, arbitrary: fc.integer() },
  { weight: 2, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 1, arbitrary: fc.boolean() },
  { weight: 1, arbitrary: fc.constant(null) },
  { weight: 1, arbitrary: fc.array(fc.integer(), { maxLength: 3 }) },
  { weight: 1, arbitrary: fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 2 }) },
  { weight: 1, arbitrary: bigNumbers.map(String) },
);

/** A body made of some of `keys` (with field-typical and arbitrary values) plus, sometimes, an unknown key. */
function bodyOf(fields: Record<string, fc.Arbitrary<unknown>>): fc.Arbitrary<{ json?: unknown; raw?: string }> {
  const keyed = Object.fromEntries(Object.entries(fields).map(([k, a]) => [k, fc.oneof(a, anyValue)]));
  const obj = fc.record(keyed, { requiredKeys: [] });
  return fc.oneof(
    { weight: 8, arbitrary: fc.tuple(obj, fc.option(fc.tuple(fc.string({ maxLength: 8 }), anyValue), { nil: undefined })).map(([o, extra]) => ({ json: extra ? { ...o, [extra[0]]: extra[1] } : o })) },
    { weight: 1, arbitrary: anyValue.map((v) => ({ json: v })) }, // not an object at all
    { weight: 1, arbitrary: fc.constantFrom('{', '{"id":', 'null', '[]', '"x"', '{"a":1}}', '').map((raw) => ({ raw })) },
  );
}

const GPU_MODELS = fc.constantFrom('NVIDIA GeForce RTX 4090 D', 'NVIDIA GeForce RTX 4090', 'RTX 4090 D 48G', 'NVIDIA H100', '', ' ');
const IMAGES = fc.constantFrom('decbfd43-8963-434a-a42d-9df6ee0bae0f', '02b564d3-9510-4f80-b56d-409900dab8da', '0b1d7f3e-2c4a-4e59-8f61-7d2a9c3e5b10', 'not-a-uuid');

describe('simulator inputs (fast-check, over HTTP)', () => {
  it(`Open API: ${NUM_RUNS.open} arbitrary deploy / boot / shutdown / release / destroy bodies: envelope, no 5xx, no hang, finite balance`, async () => {
    const action = fc.constantFrom('/instance/shutdown', '/instance/shutdown_release_gpu', '/instance/shutdown_destroy', '/instance/destroy');
    const caseArb = fc.oneof(
      bodyOf({
        gpu_model: GPU_MODELS,
        gpu_count: fc.integer({ min: -2, max: 10 }),
        data_center_id: fc.constantFrom(1, 2, 0),
        image: IMAGES,
        image_type: fc.constantFrom('public', 'private', 'community', 'x'),
        storage: fc.boolean(),
        storage_mount_path: fc.constantFrom('/mnt/a', 'rel', '/'),
        ssh_key: fc.string({ maxLength: 8 }),
        system_disk_expand: fc.constantFrom(true, 'true', false),
        system_disk_expand_size: bigNumbers,
        name: fc.string({ maxLength: 80 }),
      }).map((body) => ({ path: '/instance/deploy', body, pick: -1 })),
      fc.tuple(bodyOf({ id: fc.constant('ID'), gpu_model: GPU_MODELS, gpu_count: fc.oneof(fc.integer({ min: -1, max: 9 }), fc.constantFrom('2', '1.5', 'x')) }), fc.nat()).map(([body, pick]) => ({ path: '/instance/boot', body, pick })),
      fc.tuple(action, bodyOf({ id: fc.constant('ID') }), fc.nat()).map(([path, body, pick]) => ({ path, body, pick })),
      // paths the Open API does not have: still the envelope
      fc.tuple(fc.constantFrom('/images', '/instance/saveimage', '/nonexistent', '/instance/'), fc.string({ maxLength: 12 }).map(encodeURIComponent), bodyOf({ id: fc.constant('x') }))
        .map(([path, tail, body]) => ({ path: `${path}${tail}`, body, pick: -1 })),
    );
    // enough money that deploys and boots keep being accepted through the run
    expect((await send('POST', '/sim/balance', { json: { balance: 1e6 } }, false)).status).toBe(200);
    // between requests the world runs on by a valid step (up to 6 h), so what a request set up is billed
    const step = fc.integer({ min: 0, max: 6 * 3600 });
    await fc.assert(
      fc.asyncProperty(caseArb, step, async ({ path, body, pick }, seconds) => {
        runs.open = (runs.open ?? 0) + 1;
        const before = JSON.parse((await send('GET', '/open/balance', undefined)).text).data.balance as number;
        if (pick >= 0 && body.json && typeof body.json === 'object' && (body.json as Record<string, unknown>).id === 'ID') {
          const known = await ids();
          (body.json as Record<string, unknown>).id = known.length > 0 ? known[pick % known.length] : 'ID';
        }
        const r = await send('POST', `/open${path}`, body);
        expect(r.status, `${path} ${r.text}`).toBe(200);
        const env = JSON.parse(r.text);
        expect(env).toHaveProperty('code');
        expect(env).toHaveProperty('msg');
        expect(env).toHaveProperty('success');
        expect(env).toHaveProperty('data');
        expect([200, 1000]).toContain(env.code);
        const adv = await send('POST', '/sim/clock/advance', { json: { seconds } }, false);
        expect(adv.status).toBe(200);
        await balancesFinite();
        // no Open API request credits the account (a negative disk did), and spend stays plausible: an hourly debit
        // that crosses zero destroys everything, so the balance never falls below one hour of a few hundred 8-GPU
        // instances (1e300-byte disks drove it to -2.6e286)
        const after = JSON.parse((await send('GET', '/open/balance', undefined)).text).data.balance as number;
        expect(after).toBeLessThanOrEqual(before);
        expect(after).toBeGreaterThan(-1e6);
      }),
      { numRuns: NUM_RUNS.open, seed: 4101 },
    );
  }, 60_000);

  it(`/sim control: ${NUM_RUNS.control} arbitrary balance / clock / instance bodies: no 5xx, no hang, finite balance`, async () => {
    const caseArb = fc.oneof(
      bodyOf({ balance: bigNumbers }).map((body) => ({ path: '/sim/balance', body, pick: -1 })),
      bodyOf({ seconds: fc.oneof(bigNumbers, fc.integer({ min: 0, max: 30 * 86400 })) }).map((body) => ({ path: '/sim/clock/advance', body, pick: -1 })),
      bodyOf({ speed: bigNumbers }).map((body) => ({ path: '/sim/clock', body, pick: -1 })),
      fc.tuple(bodyOf({ disk_used_gb: bigNumbers, disk_used_bytes: bigNumbers, auto_shutdown: fc.integer({ min: -1, max: 2 }), auto_shutdown_action: fc.integer({ min: -1, max: 4 }) }), fc.nat()).map(([body, pick]) => ({ path: '/sim/instances/ID', body, pick })),
      fc.tuple(bodyOf({ busy: fc.boolean(), kind: fc.constantFrom('app', 'background', 'cpu', 'interactive', 'idle', 'x'), gpu_util: bigNumbers }), fc.nat()).map(([body, pick]) => ({ path: '/sim/instances/ID/activity', body, pick })),
      bodyOf({ name: fc.string({ maxLength: 80 }), gpu_model: GPU_MODELS, gpu_count: bigNumbers, image: fc.constantFrom('ComfyUI', 'WebUI', 'Jupyter', 'x'), status: fc.constantFrom('running', 'shutdown', 'x'), busy: fc.boolean(), gpu_util: bigNumbers }).map((body) => ({ path: '/sim/instances', body, pick: -1 })),
    );
    await fc.assert(
      fc.asyncProperty(caseArb, async ({ path, body, pick }) => {
        runs.control = (runs.control ?? 0) + 1;
        let p = path;
        if (pick >= 0) {
          const known = await ids();
          p = path.replace('ID', pick % 5 === 4 || known.length === 0 ? 'no-such-id' : known[pick % known.length]);
        }
        const r = await send('POST', p, body, false);
        expect(r.status, `${p} ${JSON.stringify(body)} -> ${r.text}`).toBeLessThan(500);
        if (r.status >= 400) {
          const err = JSON.parse(r.text).error;
          expect(typeof err.code).toBe('string');
          expect(typeof err.message).toBe('string');
        }
        await balancesFinite();
      }),
      { numRuns: NUM_RUNS.control, seed: 4102 },
    );
  }, 60_000);
});
