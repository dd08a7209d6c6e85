// Retention (src/jobs/retention.ts): what the nightly prune removes from a real database, and what it keeps.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDb } from '../../src/db/open.js';
import { recordObservation } from '../../src/db/record.js';
import { pruneRaw } from '../../src/jobs/retention.js';
import { loadProbeState, persistProbeResults } from '../../src/probes/runner.js';
import type { Instance } from '../../src/xgc/types.js';
import { T0 } from '../helpers/guard.js';

const D = 86_400_000;
const inst = (id: string): Instance => ({
  id, name: `sd-${id}`, status: 'running', statusKnown: true, gpuModel: 'RTX 4090 D', gpuUsed: 1, pricePerHour: 1.59, basePrice: 1.59, retainPrice: 0.0009, retain: false,
  image: 'SD_WebUI', imageId: 'img', dataCenter: 'zj1', webUrl: '', jupyterUrl: '', sshDomain: '', sshPort: null, createdAt: T0, startedAt: T0, stoppedAt: null, progress: null, autoShutdown: null, autoShutdownAction: null,
});
const answer = (verdict: 'busy' | 'idle') => ({ verdict, since: T0, detail: verdict });

describe('retention', () => {
  it('prunes old ticks and probe changes, and the last answers of instances long unlisted; keeps every listed instance\'s answers', () => {
    const dir = mkdtempSync(join(tmpdir(), 'xgc-retention-'));
    const g = openDb(join(dir, 'guard.db'));
    try {
      const [kept, goneLong, goneLately, neverListed] = ['kept000000000001', 'gonelong00000002', 'gonelate00000003', 'unknown000000004'];
      // day 0: three instances listed, every one answers (and a stranger's answer, e.g. from an older database)
      recordObservation(g.db, T0, [inst(kept), inst(goneLong), inst(goneLately)], 100);
      persistProbeResults(g.db, new Map([kept, goneLong, goneLately, neverListed].map((id) => [id, { jupyter: answer('idle'), gpu: answer('busy') }])), T0);
      // day 1: one is gone; day 39: another, which answered on day 38; the first one still answers only from day 0
      recordObservation(g.db, T0 + D, [inst(kept), inst(goneLately)], 100);
      persistProbeResults(g.db, new Map([[goneLately, { jupyter: answer('busy') }]]), T0 + 38 * D); // a change, kept as one
      recordObservation(g.db, T0 + 39 * D, [inst(kept)], 100);
      const count = (table: string) => (g.sqlite.prepare(`select count(*) n from ${table}`).get() as { n: number }).n;
      const before = { ticks: count('ticks'), changes: count('probe_changes') };
      expect(before.changes).toBeGreaterThan(0);

      const removed = pruneRaw(g.db, T0 + 40 * D, 30 * D);
      const left = loadProbeState(g.db);
      // the listed instance keeps its answers, however old; the instance gone within the horizon keeps its recent one
      expect([...left.keys()].sort()).toEqual([goneLately, kept].sort());
      expect(Object.keys(left.get(kept)!).sort()).toEqual(['gpu', 'jupyter']);
      // gone 39 days ago / never listed, last checked 40 days ago: removed (4 rows); the gone-lately gpu answer of day 0 too
      expect(Object.keys(left.get(goneLately)!)).toEqual(['jupyter']);
      // probe changes: those before the horizon gone, the day-38 one kept
      const changesBefore = (g.sqlite.prepare('select count(*) n from probe_changes where at < ?').get(T0 + 10 * D) as { n: number }).n;
      expect(changesBefore).toBe(0);
      expect(count('probe_changes')).toBeGreaterThan(0);
      expect(removed).toBe(before.ticks - count('ticks') + (before.changes - count('probe_changes')) + 5);
    } finally {
      g.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
