/** The probe runner: concurrency, timeouts, failures, and what persisting stores. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { openDb, type GuardDb } from '../../src/db/open.js';
import { KNOWN_PROBES } from '../../src/config/load.js';
import { createProbeRegistry, probeNames, probeRegistry, UnknownProbeError } from '../../src/probes/registry.js';
import { buildProbes, loadProbeState, persistProbeResults, runProbes, type ProbeResults } from '../../src/probes/runner.js';
import { COMFYUI_DEFAULTS, comfyuiKind } from '../../src/probes/comfyui.js';
import { heartbeatKind } from '../../src/probes/heartbeat.js';
import type { ProbeKind } from '../../src/probes/types.js';
import { access } from './helpers.js';

const T0 = Date.UTC(2025, 5, 1, 8, 0, 0);

/**
 * A ComfyUI-like server whose /queue answers after `delayMs` (never, for paths under /hang), counting requests in
 * flight. With `stats.holdUntil` set, the first requests are held until that many are in flight (or 10 s pass),
 * so a slow machine cannot finish one before the runner has started the rest. Tests that hold give the probes a
 * longer timeout than the hold, so no request is abandoned (and replaced) while held.
 */
function slowQueueServer(delayMs: number) {
  const stats = { inFlight: 0, maxInFlight: 0, total: 0, holdUntil: 0 };
  let held: Array<() => void> = [];
  const server: Server = createServer((req, res) => {
    stats.total++;
    if (req.url?.startsWith('/hang')) return; // never answers
    stats.inFlight++;
    stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight);
    const answer = () =>
      setTimeout(() => {
        stats.inFlight--;
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ queue_running: req.url?.startsWith('/busy') ? [[1, 'p', {}, {}, []]] : [], queue_pending: [] }));
      }, delayMs);
    if (stats.inFlight < stats.holdUntil) {
      const release = () => {
        clearTimeout(timer);
        answer();
      };
      const timer = setTimeout(() => {
        held = held.filter((h) => h !== release);
        answer();
      }, 10_000);
      held.push(release);
      return;
    }
    stats.holdUntil = 0; // the gate opens once
    for (const release of held.splice(0)) release();
    answer();
  });
  return { server, stats };
}

describe('runProbes', () => {
  let g: GuardDb;
  const clock = new ManualClock(T0);
  const { server, stats } = slowQueueServer(150);
  let base = '';

  beforeAll(async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });
  beforeEach(() => {
    g = openDb(':memory:');
    stats.maxInFlight = 0;
    stats.total = 0;
    stats.holdUntil = 0;
  });
  afterEach(() => g.close());

  const comfy = (i: number, path = '') => access({ id: `c${i}`, image: 'SD_ComfyUI_v1', webUrl: `${base}${path}` });

  it('never has more than `concurrency` probes in flight, and still probes every instance', async () => {
    const targets = Array.from({ length: 10 }, (_, i) => comfy(i, i % 2 ? '/busy' : ''));
    stats.holdUntil = 3;
    const results = await runProbes(targets, { comfyui: { enabled: true, timeoutMs: 60_000 } }, { db: g.db, clock, concurrency: 3 });
    expect(stats.maxInFlight).toBe(3);
    expect(stats.total).toBe(10);
    expect([...results.values()].map((r) => r.comfyui.verdict)).toEqual(Array.from({ length: 10 }, (_, i) => (i % 2 ? 'busy' : 'idle')));
  });

  it('uses 8 probes in flight by default', async () => {
    stats.holdUntil = 8;
    await runProbes(Array.from({ length: 12 }, (_, i) => comfy(i)), { comfyui: { timeoutMs: 60_000 } }, { db: g.db, clock });
    expect(stats.maxInFlight).toBe(8);
  });

  it('turns a probe that exceeds its timeout into unknown without holding up the others', async () => {
    const started = performance.now();
    const results = await runProbes([comfy(1, '/hang'), comfy(2)], { comfyui: { timeoutMs: 400 } }, { db: g.db, clock });
    // The hung request never answers, so returning at all means it was abandoned; returning before the 5 s default
    // means the configured 400 ms let go (the only bound here, and a loose one: 12x the timeout).
    expect(performance.now() - started).toBeLessThan(COMFYUI_DEFAULTS.timeoutMs);
    expect(results.get('c1')!.comfyui.verdict).toBe('unknown');
    expect(results.get('c1')!.comfyui.detail).toMatch(/timed out/);
    expect(results.get('c2')!.comfyui.verdict).toBe('idle');
  });

  it('enforces the timeout even on a probe that ignores it, and turns a throwing probe into unknown', async () => {
    const stubborn: ProbeKind = {
      name: 'stubborn',
      create: () => ({ name: 'stubborn', defaultTimeoutMs: 300, appliesTo: () => true, run: () => new Promise(() => undefined) }),
    };
    const broken: ProbeKind = {
      name: 'broken',
      create: () => ({
        name: 'broken',
        defaultTimeoutMs: 1000,
        appliesTo: () => true,
        run: async () => {
          throw new Error('boom with secret hunter2');
        },
      }),
    };
    const registry = createProbeRegistry([stubborn, broken]);
    const warns: unknown[] = [];
    const log = { warn: (o: unknown) => void warns.push(o), info: () => undefined, debug: () => undefined };
    const enabled = { stubborn: {}, broken: {} } as never;
    const r = (await runProbes([access({ id: 'x', password: 'hunter2' })], enabled, { db: g.db, clock, registry, log })).get('x')!;
    expect(r.stubborn).toEqual({ verdict: 'unknown', detail: 'timed out after 300 ms', code: { code: 'probe.timeout', params: { probe: 'stubborn', timeout_ms: 300 } } });
    expect(r.broken.verdict).toBe('unknown');
    expect(r.broken.detail).toMatch(/^probe failed/);
    expect(JSON.stringify([r, warns])).not.toContain('hunter2');
  });

  it('scrubs instance secrets that a probe put into its detail', async () => {
    const leaky: ProbeKind = {
      name: 'leaky',
      create: () => ({
        name: 'leaky',
        defaultTimeoutMs: 1000,
        appliesTo: () => true,
        run: async (a) => ({ verdict: 'idle', detail: `token ${a.jupyterToken} password ${a.password}` }),
      }),
    };
    const r = await runProbes([access({ id: 'x', password: 'pw-secret-1', jupyterToken: 'tok-secret-2' })], { leaky: {} } as never, {
      db: g.db,
      clock,
      registry: createProbeRegistry([leaky]),
    });
    expect(r.get('x')!.leaky.detail).toBe('token *** password ***');
  });

  it('skips disabled probes and probes that do not apply, but lists every target', async () => {
    const results = await runProbes(
      [comfy(1), access({ id: 'plain', image: 'Miniconda3' })],
      { comfyui: { enabled: true }, sdwebui: { enabled: true }, heartbeat: { enabled: false } },
      { db: g.db, clock },
    );
    expect(results.get('c1')).toEqual({ comfyui: expect.objectContaining({ verdict: 'idle' }) });
    expect(results.get('plain')).toEqual({});
  });
});

describe('probe registry', () => {
  it('lists the four built-in polled probes; with the streaming gpu probe, the five names a policy may list', () => {
    expect(probeRegistry.names()).toEqual(['jupyter', 'comfyui', 'sdwebui', 'heartbeat']);
    expect(probeNames()).toEqual(['gpu', 'jupyter', 'comfyui', 'sdwebui', 'heartbeat']);
    expect([...KNOWN_PROBES].sort()).toEqual(probeNames().sort());
  });

  it('rejects duplicate names', () => {
    expect(() => createProbeRegistry([comfyuiKind, heartbeatKind, comfyuiKind])).toThrow(/duplicate probe "comfyui"/);
  });

  it('answers an unknown name with the list of valid ones, also from the runner', () => {
    expect(() => probeRegistry.get('nvml')).toThrow(UnknownProbeError);
    expect(() => probeRegistry.get('nvml')).toThrow('unknown probe "nvml"; valid probes: jupyter, comfyui, sdwebui, heartbeat');
    expect(() => buildProbes({ nvml: { enabled: true } } as never)).toThrow(/valid probes: jupyter/);
  });
});

describe('persistProbeResults', () => {
  let g: GuardDb;
  beforeEach(() => (g = openDb(':memory:')));
  afterEach(() => g.close());
  const round = (entries: Record<string, Record<string, { verdict: 'busy' | 'idle' | 'unknown'; since?: number; detail?: string }>>): ProbeResults =>
    new Map(
      Object.entries(entries).map(([id, probes]) => [
        id,
        Object.fromEntries(Object.entries(probes).map(([p, r]) => [p, { detail: '', ...r }])),
      ]),
    );
  const changes = () => g.sqlite.prepare('select instance_id, probe, verdict, at from probe_changes order by id').all();

  it('records a change row only when the verdict changes, and keeps `since` while it holds', () => {
    persistProbeResults(g.db, round({ a: { comfyui: { verdict: 'busy', detail: 'queue 1' } } }), T0);
    persistProbeResults(g.db, round({ a: { comfyui: { verdict: 'busy', detail: 'queue 2' } } }), T0 + 60_000);
    let s = loadProbeState(g.db).get('a')!.comfyui;
    expect(s).toEqual({ verdict: 'busy', since: T0, detail: 'queue 2', checkedAt: T0 + 60_000 });
    expect(persistProbeResults(g.db, round({ a: { comfyui: { verdict: 'idle' } } }), T0 + 120_000)).toBe(1);
    persistProbeResults(g.db, round({ a: { comfyui: { verdict: 'idle' } } }), T0 + 180_000);
    s = loadProbeState(g.db).get('a')!.comfyui;
    expect(s.since).toBe(T0 + 120_000);
    expect(changes()).toEqual([
      { instance_id: 'a', probe: 'comfyui', verdict: 'busy', at: T0 },
      { instance_id: 'a', probe: 'comfyui', verdict: 'idle', at: T0 + 120_000 },
    ]);
  });

  it("prefers an idle probe's own `since` (real last activity), capped at now", () => {
    persistProbeResults(g.db, round({ a: { jupyter: { verdict: 'busy' } } }), T0);
    persistProbeResults(g.db, round({ a: { jupyter: { verdict: 'idle', since: T0 + 30_000 } } }), T0 + 300_000);
    expect(loadProbeState(g.db).get('a')!.jupyter.since).toBe(T0 + 30_000);
    persistProbeResults(g.db, round({ a: { jupyter: { verdict: 'idle', since: T0 + 90_000 } } }), T0 + 360_000);
    expect(loadProbeState(g.db).get('a')!.jupyter.since).toBe(T0 + 90_000);
    persistProbeResults(g.db, round({ b: { jupyter: { verdict: 'idle', since: T0 + 999_999 } } }), T0 + 400_000);
    expect(loadProbeState(g.db).get('b')!.jupyter.since).toBe(T0 + 400_000);
    expect(changes()).toHaveLength(4);
  });

  it("records the idle answer's start with each row, and a row when that start moves (the stretch restarted)", () => {
    const rows = () => g.sqlite.prepare('select verdict, at, since from probe_changes order by id').all();
    persistProbeResults(g.db, round({ a: { jupyter: { verdict: 'busy' } } }), T0);
    persistProbeResults(g.db, round({ a: { jupyter: { verdict: 'idle', since: T0 + 30_000 } } }), T0 + 60_000);
    persistProbeResults(g.db, round({ a: { jupyter: { verdict: 'idle', since: T0 + 30_000 } } }), T0 + 120_000);
    expect(persistProbeResults(g.db, round({ a: { jupyter: { verdict: 'idle', since: T0 + 150_000 } } }), T0 + 180_000)).toBe(0);
    persistProbeResults(g.db, round({ a: { jupyter: { verdict: 'idle', since: T0 + 150_000 } } }), T0 + 240_000);
    expect(rows()).toEqual([
      { verdict: 'busy', at: T0, since: T0 },
      { verdict: 'idle', at: T0 + 60_000, since: T0 + 30_000 },
      { verdict: 'idle', at: T0 + 180_000, since: T0 + 150_000 },
    ]);
  });

  it('writes all rows of a round in one transaction', () => {
    const bad = round({ a: { comfyui: { verdict: 'busy' } }, b: { comfyui: { verdict: 'idle' } } });
    (bad.get('b')!.comfyui as { detail: unknown }).detail = null; // violates NOT NULL on the second row
    expect(() => persistProbeResults(g.db, bad, T0)).toThrow();
    expect(loadProbeState(g.db).size).toBe(0);
    expect(changes()).toHaveLength(0);
  });

  it('loads the stored answers of chosen instances only', () => {
    persistProbeResults(g.db, round({ a: { ssh: { verdict: 'unknown' } }, b: { ssh: { verdict: 'busy' } } }), T0);
    expect([...loadProbeState(g.db, ['b']).keys()]).toEqual(['b']);
    expect(loadProbeState(g.db, []).size).toBe(0);
    expect(loadProbeState(g.db).size).toBe(2);
  });
});
