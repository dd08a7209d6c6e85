import { describe, expect, it } from 'vitest';
import { defaultEffectivenessConfig, replay, runEffectiveness, scoreReleases } from '../../src/bench/effectiveness.js';
import { effectivenessMarkdown, tuneCheckMarkdown } from '../../src/bench/index.js';
import { tuneCheck } from '../../src/bench/tune-check.js';
import { idleStretches, parseTrace } from '../../src/bench/trace.js';

const H = 3600;
const M = 60;

/** Three hours: a WebUI session with a 10-minute break and a forgotten end; a ComfyUI box left idle after a job. */
const tiny = parseTrace({
  name: 'tiny',
  duration_s: 3 * H,
  tick_s: 60,
  instances: [
    { name: 'sd', gpu_model: 'RTX 4090 D', price_per_hour: 1.59, image: 'WebUI', sessions: [{ start_s: 5 * M + 7, end_s: null, busy: [[10 * M, 30 * M + 11], [40 * M + 3, 55 * M]] }] },
    { name: 'comfy', gpu_model: 'RTX 4090', price_per_hour: 1.89, image: 'ComfyUI', sessions: [{ start_s: 0, end_s: 2 * H + 30 * M, busy: [[2 * M, 20 * M + 41]] }] },
  ],
});

describe('effectiveness benchmark', () => {
  it('replays a tiny trace through the simulator and the real tick path and reports every field', async () => {
    const r = await runEffectiveness(tiny);
    for (const k of ['oracle_saved', 'guard_saved', 'capture_ratio', 'false_releases', 'missed_stretches', 'detection_delay_s', 'disruptions', 'api_calls', 'wall_s'])
      expect(r).toHaveProperty(k);
    expect(Object.keys(r.runs).sort()).toEqual(['guard', 'max_runtime', 'nightly', 'oracle', 'platform_4h']);
    // three hours is too short for the platform's 4 h auto-shutdown: it never acts, saves nothing
    expect(r.runs.platform_4h.releases).toBe(0);
    expect(r.platform_4h_saved).toBe(0);
    // Both forgotten idle stretches are long: the oracle and the guard release each once, never while busy.
    expect(r.runs.oracle.long_stretches).toBe(2);
    expect(r.runs.oracle.releases).toBe(2);
    expect(r.oracle_saved).toBeGreaterThan(0);
    expect(r.guard_saved).toBeGreaterThan(0);
    expect(r.false_releases).toBe(0);
    expect(r.runs.guard.early).toEqual([]); // never before idle_for of seen idleness
    expect(r.missed_stretches).toBe(0);
    expect(r.runs.guard.ticks).toBe(3 * 60 + 1);
    expect(r.api_calls).toBeGreaterThanOrEqual(2 * r.runs.guard.ticks);
    // The guard's own savings report agrees with the simulator's ledger over the same stretches.
    expect(r.ledger_saved).toBeGreaterThan(1);
    expect(r.guard_reported_saved).toBeGreaterThan(1);
    expect(Math.abs(r.savings_error!)).toBeLessThan(0.001); // counting from the request instead of the stop is 0.2% off here
    expect(effectivenessMarkdown([r])).toContain('| tiny | 2 |');
  }, 240_000);

  it("the platform baseline releases 4 h after the last GPU compute, and CPU work does not hold it off", async () => {
    const trace = parseTrace({
      name: 'platform',
      duration_s: 12 * H,
      tick_s: 60,
      instances: [
        // a WebUI job, then forgotten: released 4 h after the job ended
        { name: 'sd', gpu_model: 'RTX 4090 D', price_per_hour: 1.59, image: 'WebUI', sessions: [{ start_s: 0, end_s: null, busy: [[5 * M, H]] }] },
        // data preparation on the CPU for 5 h: the platform sees no GPU compute and releases it under the user
        { name: 'prep', gpu_model: 'RTX 4090 D', price_per_hour: 1.59, image: 'WebUI', sessions: [{ start_s: 0, end_s: 6 * H, busy: [[10 * M, 5 * H, 'cpu']] }] },
      ],
    });
    const reference = await replay(trace, { kind: 'reference' });
    const platform = await replay(trace, { kind: 'platform', idleForS: 4 * H });
    const sd = platform.releases.filter((x) => x.instance === 0);
    expect(sd).toEqual([{ instance: 0, t: 5 * H, policy: 'platform' }]);
    const prep = platform.releases.filter((x) => x.instance === 1);
    expect(prep[0]).toEqual({ instance: 1, t: 4 * H, policy: 'platform' }); // 4 h after boot, in the middle of the CPU work
    expect(platform.disruptions).toBe(1); // the user at work boots it again
    const stretches = idleStretches(trace, 20);
    expect(scoreReleases(trace, stretches, platform.releases, 4 * H).false_releases).toBe(1);
    expect(reference.billed - platform.billed).toBeGreaterThan(6 * 1.59); // sd's 7 forgotten hours, less the disk
  }, 60_000);

  it('scores releases: while busy is false, before idle_for is early, an unreleased long stretch is missed', () => {
    const stretches = idleStretches(tiny, 20);
    const score = scoreReleases(
      tiny,
      stretches,
      [
        { instance: 0, t: 15 * M, policy: 'x' }, // busy
        { instance: 1, t: 30 * M, policy: 'x' }, // idle since 20:41, idle_for not over
      ],
      30 * M,
    );
    expect(score.false_releases).toBe(1);
    expect(score.early_releases).toBe(1);
    expect(score.early).toEqual([{ instance: 1, t: 30 * M, by_s: 20 * M + 41 }]); // idle since 20:41, due at 50:41
    expect(score.missed_stretches).toBe(1);
    const onTime = scoreReleases(tiny, stretches, [{ instance: 0, t: 55 * M + 30 * M + 42, policy: 'x' }], 30 * M);
    expect(onTime.detection_delay_s.p50).toBe(42);
  });
});

/**
 * Two hours on a Jupyter instance: a download, then nohup training the notebook does not show, then forgotten.
 * The training stops 41 s after a tick: the GPU was last seen busy 41 s before it stopped.
 */
const nohup = parseTrace({
  name: 'nohup',
  duration_s: 2 * H,
  tick_s: 60,
  instances: [
    { name: 'train', gpu_model: 'RTX 4090 D', price_per_hour: 1.59, image: 'Jupyter', sessions: [{ start_s: 0, end_s: null, busy: [[60, 5 * M, 'cpu'], [5 * M + 7, 70 * M + 41, 'background']] }] },
  ],
});

describe('tune-check', () => {
  it("tune's configured window equals what the guard saved on the replay; other windows come near their own replays", async () => {
    // and a user who releases the instance 22 minutes after the last work and boots it again at 2 h: a 15m guard
    // releases it first, and its savings report credits that release until the boot, as tune's saved_yuan must
    const leaves = { name: 'sd-leaves', gpu_model: 'RTX 4090 D', price_per_hour: 1.59, image: 'WebUI', sessions: [{ start_s: 0, end_s: 32 * M, busy: [[M, 10 * M]] }, { start_s: 2 * H, end_s: null, busy: [[2 * H + M, 2 * H + 20 * M]] }] };
    const trace = parseTrace({ ...tiny, instances: [...tiny.instances, leaves] });
    const rows = await tuneCheck(trace, ['15m', '60m']);
    expect(rows.map((r) => [r.idle_for, r.current])).toEqual([
      ['30m', true],
      ['15m', false],
      ['1h', false],
    ]);
    const [cur, w15, w60] = rows;
    expect(cur.replay_reported).toBeGreaterThan(1);
    expect(Math.abs(cur.error!)).toBeLessThan(0.02);
    for (const r of [w15, w60]) expect(Math.abs(r.error!)).toBeLessThan(0.05);
    expect(w15.tune_saved).toBeGreaterThan(cur.tune_saved);
    // against the recording the 15m window's extra is smaller than the report's: the user's own release came soon
    expect(w15.tune_more).toBeGreaterThan(0);
    expect(w15.tune_more).toBeLessThan(w15.tune_saved - cur.tune_saved);
    expect(tuneCheckMarkdown(rows)).toContain('| tiny | 30m (configured) |');
  }, 240_000);
});

describe('kinds of work in traces', () => {
  it('a busy interval takes an optional kind; two-element intervals stay app; an unknown kind names its path', () => {
    expect(nohup.instances[0].sessions[0].busy[1]).toEqual([5 * M + 7, 70 * M + 41, 'background']);
    expect(tiny.instances[0].sessions[0].busy[0]).toEqual([10 * M, 30 * M + 11]);
    const bad = { ...nohup, instances: [{ ...nohup.instances[0], sessions: [{ start_s: 0, end_s: null, busy: [[1, 2, 'mining']] }] }] };
    expect(() => parseTrace(bad)).toThrow(/instances\.0\.sessions\.0\.busy\.0\.2: /);
  });

  it('a release during any kind of busy work is a false release, counted by kind', () => {
    const score = scoreReleases(nohup, idleStretches(nohup, 20), [{ instance: 0, t: 2 * M, policy: 'x' }, { instance: 0, t: 40 * M, policy: 'x' }], 30 * M);
    expect(score.false_releases).toBe(2);
    expect(score.false_releases_by_kind).toEqual({ app: 0, background: 1, cpu: 1, interactive: 0 });
  });

  it('the replay runs each interval as its kind in the simulator: only a probe that sees the GPU keeps nohup training', async () => {
    const withGpu = defaultEffectivenessConfig();
    const appsOnly = { ...withGpu, probes: { gpu: { enabled: false } } };
    const blind = await replay(nohup, { kind: 'guard', config: appsOnly });
    // Jupyter shows nothing during background work: the apps-only guard releases the GPU under the training run.
    expect(blind.releases.length).toBeGreaterThan(0);
    expect(scoreReleases(nohup, idleStretches(nohup, 20), blind.releases, 30 * M).false_releases_by_kind.background).toBeGreaterThan(0);
    // The same replay with the default probes streams nvidia-smi over the simulator's SSH: no false release.
    const seeing = await replay(nohup, { kind: 'guard', config: withGpu });
    const score = scoreReleases(nohup, idleStretches(nohup, 20), seeing.releases, 30 * M);
    expect(score.false_releases).toBe(0);
    expect(score.early).toEqual([]); // idle counts from the first sample that saw the GPU stopped, not the last busy one
    expect(score.missed_stretches).toBe(0); // the forgotten hour after training is still released
  }, 180_000);
});
