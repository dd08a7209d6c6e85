/**
 * A daemon that dies in the middle of a wake: the try was journaled as `sending` before the boot request went out;
 * the next daemon over the same database re-reads the instance and never boots it twice. The cloud is the simulator
 * behind a small real HTTP proxy that counts boot requests and can hold one (before or after the simulator saw it).
 */
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { parseConfig } from '../../src/config/load.js';
import { openDb, type GuardDb } from '../../src/db/open.js';
import { createGuardCore, type GuardCore } from '../../src/guard.js';
import { startSimulator, type RunningSim } from '../../src/sim/index.js';
import { XgcClient } from '../../src/xgc/index.js';
import { T0 } from '../helpers/guard.js';

const MIN = 60_000;
type Mode = 'pass' | 'hold_before' | 'hold_after';

/** A proxy to the simulator: counts boot requests that reached it; may hold a boot's request or its answer. */
async function startProxy(target: string) {
  const st = { mode: 'pass' as Mode, boots: 0, held: [] as ServerResponse[] };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const isBoot = req.method === 'POST' && req.url === '/open/instance/boot';
      if (isBoot && st.mode === 'hold_before') return void st.held.push(res); // the cloud never sees it
      if (isBoot) st.boots++;
      const headers: Record<string, string> = {};
      for (const k of ['authorization', 'content-type', 'accept']) if (typeof req.headers[k] === 'string') headers[k] = req.headers[k] as string;
      void fetch(target + req.url, { method: req.method, headers, body: req.method === 'POST' ? Buffer.concat(chunks) : undefined }).then(async (r) => {
        const text = await r.text();
        if (isBoot && st.mode === 'hold_after') return void st.held.push(res); // the cloud booted it; the answer never comes
        res.writeHead(r.status, { 'content-type': r.headers.get('content-type') ?? 'application/json' });
        res.end(text);
      });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    st,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      for (const res of st.held) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

let cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const f of cleanup.reverse()) await f();
  cleanup = [];
});

/** A simulator, a proxy in front of it and a database path: what two daemons in a row share. */
async function world() {
  const clock = new ManualClock(T0);
  const sim: RunningSim = await startSimulator({ token: 'T', instances: 0, clock, seed: 7, balance: 1000 });
  const proxy = await startProxy(sim.url);
  const dir = mkdtempSync(join(tmpdir(), 'xgc-wake-restart-'));
  cleanup.push(() => sim.close(), () => proxy.close(), () => rmSync(dir, { recursive: true, force: true }));
  const config = parseConfig({ dry_run: false, policies: [], probes: { heartbeat: { enabled: false } }, xgc: { token: 'T', base_url: proxy.url }, db: { path: join(dir, 'guard.db') } });
  /** Start a daemon's core over the shared database (a "process"). */
  const daemon = (): { core: GuardCore; gdb: GuardDb; crash(): void } => {
    const gdb = openDb(config.db.path);
    const client = new XgcClient({ baseUrl: proxy.url, token: 'T', timeoutMs: 120_000, retries: 0 });
    const core = createGuardCore({ db: gdb.db, config, clock, log: pino({ level: 'silent' }), channels: () => [], client });
    let open = true;
    const crash = () => {
      if (!open) return;
      open = false;
      gdb.close(); // nothing this process does from here on reaches the database
    };
    cleanup.push(async () => {
      await core.probes.stop();
      crash();
    });
    return { core, gdb, crash };
  };
  const add = async (body: unknown) => {
    const r = await fetch(`${sim.url}/sim/instances`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return ((await r.json()) as { id: string }).id;
  };
  const simStatus = async (id: string) => (((await (await fetch(`${sim.url}/sim/state`)).json()) as any).instances.find((i: any) => i.id === id).status as string);
  return { clock, proxy, daemon, add, simStatus };
}

const waitFor = async (cond: () => Promise<boolean> | boolean, what: string) => {
  for (let i = 0; i < 400; i++) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
};

describe('restart in the middle of a wake', () => {
  it('the cloud took the boot, the answer was lost with the process: the next daemon confirms it and never boots again', async () => {
    const w = await world();
    const id = await w.add({ name: 'sd-crash', image: 'WebUI', status: 'shutdown' });
    const first = w.daemon();
    await first.core.ticker.tick(w.clock.now());
    w.proxy.st.mode = 'hold_after';
    const wake = await first.core.waker.wakeNow(id, {}, 'test');
    await waitFor(() => w.proxy.st.boots === 1, 'the boot to reach the cloud');
    expect(await w.simStatus(id)).toBe('booting');
    const sending = first.gdb.sqlite.prepare('select outcome from wake_tries where action_id = ?').all(wake.actionId);
    expect(sending).toEqual([{ outcome: 'sending' }]); // journaled before the request went out
    first.crash();

    w.proxy.st.mode = 'pass';
    const second = w.daemon();
    for (let i = 0; i < 3; i++) {
      w.clock.advance(MIN);
      await second.core.ticker.tick(w.clock.now());
    }
    expect(w.proxy.st.boots).toBe(1);
    expect(await w.simStatus(id)).toBe('running');
    const db = second.gdb.sqlite;
    expect(db.prepare('select state, tries from wakes').get()).toEqual({ state: 'done', tries: 1 });
    expect(db.prepare('select outcome, detail from wake_tries').all()).toEqual([{ outcome: 'sent', detail: 'sent before a restart; confirmed by re-read' }]);
    expect(db.prepare('select state from actions').get()).toEqual({ state: 'confirmed' });
    expect((db.prepare("select count(*) n from outbox_events where type = 'wake_done'").get() as any).n).toBe(1);
  });

  it('the process died before the boot reached the cloud: the next daemon re-reads, sees it still down, and boots it once', async () => {
    const w = await world();
    const id = await w.add({ name: 'sd-crash', image: 'WebUI', status: 'shutdown' });
    const first = w.daemon();
    await first.core.ticker.tick(w.clock.now());
    w.proxy.st.mode = 'hold_before';
    await first.core.waker.wakeNow(id, {}, 'test');
    await waitFor(() => w.proxy.st.held.length === 1, 'the boot request to be on its way');
    first.crash();
    expect(await w.simStatus(id)).toBe('shutdown');

    w.proxy.st.mode = 'pass';
    const second = w.daemon();
    for (let i = 0; i < 3; i++) {
      w.clock.advance(MIN);
      await second.core.ticker.tick(w.clock.now());
    }
    expect(w.proxy.st.boots).toBe(1);
    expect(await w.simStatus(id)).toBe('running');
    const db = second.gdb.sqlite;
    expect(db.prepare('select outcome from wake_tries order by n').all()).toEqual([{ outcome: 'interrupted' }, { outcome: 'sent' }]);
    expect(db.prepare('select state, tries from wakes').get()).toEqual({ state: 'done', tries: 2 });
    expect((db.prepare("select count(*) n from outbox_events where type = 'wake_done'").get() as any).n).toBe(1);
  });
});
