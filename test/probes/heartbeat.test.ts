import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { openDb, type GuardDb } from '../../src/db/open.js';
import { BadRequest } from '../../src/errors.js';
import { createHeartbeatProbe, heartbeatProbe, recordHeartbeat } from '../../src/probes/heartbeat.js';
import type { ProbeContext } from '../../src/probes/types.js';
import { access } from './helpers.js';

const T0 = Date.UTC(2025, 0, 1, 12, 0, 0);

describe('heartbeat probe', () => {
  let g: GuardDb;
  let clock: ManualClock;
  const ctx = (): ProbeContext => ({ now: clock.now(), clock, timeoutMs: 1000, db: g.db });
  const inst = access({ id: 'hb1' });

  beforeEach(() => {
    g = openDb(':memory:');
    clock = new ManualClock(T0);
  });
  afterEach(() => g.close());

  it('answers unknown when the instance never sent a heartbeat', async () => {
    const r = await heartbeatProbe.run(inst, ctx());
    expect(r.verdict).toBe('unknown');
    expect(r.detail).toMatch(/no heartbeat/);
  });

  it('is busy when the agent reports GPU utilisation at or above gpu_busy_percent', async () => {
    recordHeartbeat(g.db, { instanceId: 'hb1', gpuUtil: 10 }, clock.now());
    expect((await heartbeatProbe.run(inst, ctx())).verdict).toBe('busy');
    recordHeartbeat(g.db, { instanceId: 'hb1', gpuUtil: 9.5 }, clock.now());
    const idle = await heartbeatProbe.run(inst, ctx());
    expect(idle.verdict).toBe('idle');
    expect(idle.metrics?.gpu_util).toBe(9.5);
    const strict = createHeartbeatProbe({ gpuBusyPercent: 5 });
    expect((await strict.run(inst, ctx())).verdict).toBe('busy');
  });

  it('is busy when the agent says busy=true even at 0% GPU', async () => {
    recordHeartbeat(g.db, { instanceId: 'hb1', gpuUtil: 0, busy: true }, clock.now());
    expect((await heartbeatProbe.run(inst, ctx())).verdict).toBe('busy');
  });

  it('keeps only the latest heartbeat per instance', async () => {
    recordHeartbeat(g.db, { instanceId: 'hb1', gpuUtil: 90 }, clock.now());
    clock.advance(60_000);
    recordHeartbeat(g.db, { instanceId: 'hb1', gpuUtil: 0 }, clock.now());
    const rows = g.sqlite.prepare('select * from heartbeats').all() as { at: number }[];
    expect(rows).toHaveLength(1);
    expect(rows[0].at).toBe(T0 + 60_000);
    expect((await heartbeatProbe.run(inst, ctx())).verdict).toBe('idle');
  });

  it('turns unknown once the last heartbeat is older than stale_after (default 3 minutes)', async () => {
    recordHeartbeat(g.db, { instanceId: 'hb1', gpuUtil: 95 }, clock.now());
    clock.advance(180_000);
    expect((await heartbeatProbe.run(inst, ctx())).verdict).toBe('busy');
    clock.advance(1);
    const stale = await heartbeatProbe.run(inst, ctx());
    expect(stale.verdict).toBe('unknown');
    expect(stale.detail).toMatch(/stale/);
    const lenient = createHeartbeatProbe({ staleAfterMs: 600_000 });
    expect((await lenient.run(inst, ctx())).verdict).toBe('busy');
  });

  it('rejects invalid heartbeats with BadRequest naming the field', () => {
    expect(() => recordHeartbeat(g.db, { instanceId: '' }, T0)).toThrow(BadRequest);
    expect(() => recordHeartbeat(g.db, { instanceId: 'x', gpuUtil: 150 }, T0)).toThrow(/gpu_util/);
    expect(() => recordHeartbeat(g.db, { instanceId: 'x', gpuUtil: Number.NaN }, T0)).toThrow(/gpu_util/);
    expect(() => recordHeartbeat(g.db, { instanceId: 'x', busy: 'yes' as unknown as boolean }, T0)).toThrow(/busy/);
    expect(g.sqlite.prepare('select count(*) as n from heartbeats').get()).toEqual({ n: 0 });
  });
});
