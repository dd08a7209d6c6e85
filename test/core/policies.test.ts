import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { openDb } from '../../src/db/open.js';
import { storedProbeViews } from '../../src/jobs/assess.js';
import { persistProbeResults } from '../../src/probes/runner.js';
import { createOverride, activeOverrides } from '../../src/db/overrides.js';
import { evaluatePolicies, nextActions, type EngineInput } from '../../src/policies/engine.js';
import { balanceKey } from '../../src/policies/balance.js';
import { releaseOrder } from '../../src/policies/runway.js';
import type { Decision, InstanceState, ProbeView } from '../../src/policies/types.js';
import { raise, resolve } from '../../src/notify/index.js';
import { instanceAt } from '../helpers/policy-input.js';
import { formatReason, type ReasonCode } from '../../src/notify/reasons.js';

const MIN = 60_000;
const H = 60 * MIN;
const NOW = Date.UTC(2026, 10, 26, 10, 0, 0); // 18:00 in Asia/Shanghai

const inst = (over: Partial<InstanceState> = {}) => instanceAt(NOW, over);

const idle = (sinceAgo: number, detail = 'no activity'): ProbeView => ({ verdict: 'idle', since: NOW - sinceAgo, detail });
const busy: ProbeView = { verdict: 'busy', since: NOW - MIN, detail: 'kernel busy' };
const unknown: ProbeView = { verdict: 'unknown', since: NOW - MIN, detail: 'timeout' };
/** The GPU seen idle for hours: app signals decide alone when it is. */
const seen = { gpu: idle(6 * H, 'GPU at most 2%') };

function input(policies: unknown[], over: Partial<EngineInput> = {}, extra: Record<string, unknown> = {}): EngineInput {
  const config = parseConfig({ policies, ...extra });
  return {
    now: NOW,
    config,
    instances: [inst()],
    probes: new Map(),
    balance: 500,
    spend: { today: 0, month: 0, dayStart: NOW - 2 * H, monthStart: NOW - 25 * 24 * H },
    overrides: [],
    cooldownUntil: new Map(),
    ...over,
  };
}

const kinds = (ds: Decision[]) => ds.map((d) => `${d.kind}:${d.policy}${'instance' in d ? `:${d.instance.name}` : ''}`);
const idlePolicy = { name: 'idle', type: 'idle', idle_for: '45m', min_uptime: '10m', warn_before: '10m' };

describe('idle policy', () => {
  it.each<[string, Record<string, ProbeView> | undefined, Partial<InstanceState>, string[]]>([
    ['releases the GPU after idle_for when every probe says idle', { ...seen, jupyter: idle(47 * MIN), sdwebui: idle(50 * MIN) }, {}, ['act:idle:sd-one']],
    ['measures idle time from the latest idle start among probes', { ...seen, jupyter: idle(47 * MIN), sdwebui: idle(30 * MIN) }, {}, []],
    ['warns within warn_before of the planned release', { ...seen, jupyter: idle(40 * MIN) }, {}, ['warn:idle:sd-one']],
    ['never releases while any probe says busy', { ...seen, jupyter: idle(5 * H), comfyui: busy }, {}, []],
    ['never releases while the GPU says busy and every app says idle (nohup/tmux training)', { gpu: busy, jupyter: idle(5 * H) }, {}, []],
    ['ignores unknown app answers but needs at least one opinion', { ...seen, jupyter: idle(2 * H), heartbeat: unknown }, {}, ['act:idle:sd-one']],
    ['never releases when every probe is unknown', { jupyter: unknown, gpu: unknown }, {}, []],
    ['never releases without any probe answer', undefined, {}, []],
    ['waits for min_uptime after a boot', { ...seen, jupyter: idle(2 * H) }, { runningSince: NOW - 5 * MIN }, []],
    ['counts idle time from the boot when the last activity was before it', { ...seen, jupyter: idle(5 * H) }, { runningSince: NOW - 20 * MIN }, []],
    ['leaves instances that hold no GPU alone', { ...seen, jupyter: idle(2 * H) }, { status: 'shutdown', gpuUsed: 0, holdsGpu: false, rate: 0.0009 }, []],
    ['leaves #keep instances alone', { ...seen, jupyter: idle(2 * H) }, { name: 'train #keep' }, []],
  ])('%s', (_name, probes, over, want) => {
    const i = inst(over);
    const { decisions } = evaluatePolicies(input([idlePolicy], { instances: [i], probes: new Map(probes ? [[i.id, probes]] : []) }));
    expect(kinds(decisions)).toEqual(want);
  });

  it('gives a human reason and a key tied to the idle stretch', () => {
    const i = inst();
    const { decisions } = evaluatePolicies(input([idlePolicy], { probes: new Map([[i.id, { jupyter: idle(47 * MIN, 'no busy kernel'), ...seen }]]) }));
    const d = decisions[0] as Extract<Decision, { kind: 'act' }>;
    expect(d.reason).toMatch(/^idle 47m >= 45m since 2026-11-26 17:13 \(Asia\/Shanghai\); jupyter: no busy kernel; gpu: GPU at most 2%$/);
    expect(d.key).toBe(`idle:${i.id}:${NOW - 47 * MIN}`);
    expect(d.requireIdle).toBe(true);
    expect(d.requireGpu).toBe(true);
  });

  it('gives the reason as a code that renders in Chinese without English words', () => {
    const i = inst();
    const gpuCode: ReasonCode = { code: 'gpu.idle_window', params: { util_pct: 2 }, details: [{ code: 'gpu.part_load', params: { load: '0.10' } }, { code: 'gpu.part_no_login', params: {} }] };
    const probes = new Map([[i.id, { gpu: { ...seen.gpu, code: gpuCode }, jupyter: { ...idle(47 * MIN), code: { code: 'jupyter.idle', params: { idle_ms: 47 * MIN, kernels: 1, terminals: 0 } } } }]]);
    const d = evaluatePolicies(input([idlePolicy], { probes })).decisions[0] as Extract<Decision, { kind: 'act' }>;
    const zh = formatReason(d.reasonCode!, 'zh-CN')!;
    expect(zh).toMatch(/^已空闲 47 分钟（≥ 45 分钟），自 2026-11-26 17:13/);
    expect(zh).toContain('Jupyter：47 分钟无活动');
    expect(zh).not.toMatch(/\b(idle|since|no|activity|kernels?|load|login)\b/i);
    expect(formatReason(d.reasonCode!, 'en')).toMatch(/^idle 47m ≥ 45m since/);
  });

  it('only listens to the probes the policy lists', () => {
    const i = inst();
    const probes = new Map([[i.id, { ...seen, jupyter: idle(2 * H), heartbeat: busy }]]);
    expect(kinds(evaluatePolicies(input([idlePolicy], { probes })).decisions)).toEqual([]);
    expect(kinds(evaluatePolicies(input([{ ...idlePolicy, probes: ['gpu', 'jupyter'] }], { probes })).decisions)).toEqual(['act:idle:sd-one']);
  });

  it('tells "idle 12m of 45m" as the next action', () => {
    const i = inst();
    const n = nextActions(input([idlePolicy], { probes: new Map([[i.id, { ...seen, jupyter: idle(12 * MIN) }]]) })).get(i.id)!;
    expect(n).toMatchObject({ policy: 'idle', action: 'release_gpu', at: NOW + 33 * MIN, reason: 'idle 12m of 45m' });
  });
});

describe('idle policy when the GPU cannot be seen', () => {
  const i = inst();
  const key = `idle:${i.id}:${NOW - 2 * H}`;
  const noGpu = new Map([[i.id, { jupyter: idle(2 * H), gpu: { verdict: 'unknown' as const, since: null, detail: 'GPU not seen: SSH connection refused' } }]]);
  const plain = { ...idlePolicy, warn_before: undefined };
  const decide = (over: Partial<EngineInput> = {}, p: object = plain) => evaluatePolicies(input([p], { probes: noGpu, ...over })).decisions;

  it('warns first, 15 minutes ahead by default, and says the GPU was not seen', () => {
    const [d] = decide();
    expect(d).toMatchObject({ kind: 'warn', key, plannedAt: NOW + 15 * MIN });
    expect((d as { reason: string }).reason).toMatch(/; GPU not seen \(SSH connection refused\)$/);
  });
  it('keeps warning until the first warning is 15 minutes old, then acts (the act says why)', () => {
    expect(decide({ warnedAt: new Map([[key, NOW - 10 * MIN]]) })).toMatchObject([{ kind: 'warn', plannedAt: NOW + 5 * MIN }]);
    const [d] = decide({ warnedAt: new Map([[key, NOW - 15 * MIN]]) });
    expect(d).toMatchObject({ kind: 'act', key, requireGpu: false });
    expect((d as { reason: string }).reason).toMatch(/GPU not seen \(SSH connection refused\)$/);
  });
  it('an instance whose GPU is not among the policy probes is treated as unseen too', () => {
    const seenButIgnored = new Map([[i.id, { jupyter: idle(2 * H), ...seen }]]);
    expect(kinds(evaluatePolicies(input([{ ...plain, probes: ['jupyter'] }], { probes: seenButIgnored })).decisions)).toEqual(['warn:idle:sd-one']);
  });
  it('a configured warn_before is the lead for unseen decisions', () => {
    expect(decide({}, { ...idlePolicy, warn_before: '30m' })).toMatchObject([{ kind: 'warn', plannedAt: NOW + 30 * MIN }]);
  });
  it('a warning from an earlier unseen stretch does not count once the GPU was seen in between: it warns again', () => {
    // warned 20 minutes ago while the GPU was unseen since 30 minutes ago; then it was seen (busy), and now it is
    // unseen again since a minute ago: a fresh 15-minute warning, no release at this blind moment
    const unseenAgain = (since: number) =>
      new Map([[i.id, { jupyter: idle(2 * H), gpu: { verdict: 'unknown' as const, since, detail: 'GPU not seen: last sample 40s ago' } }]]);
    const earlier = `${key}:unseen@${NOW - 30 * MIN}`;
    expect(decide({ probes: unseenAgain(NOW - 30 * MIN), warnedAt: new Map([[earlier, NOW - 20 * MIN]]) })).toMatchObject([{ kind: 'act', key: earlier }]);
    const [d] = decide({ probes: unseenAgain(NOW - MIN), warnedAt: new Map([[earlier, NOW - 20 * MIN]]) });
    expect(d).toMatchObject({ kind: 'warn', key: `${key}:unseen@${NOW - MIN}`, plannedAt: NOW + 15 * MIN });
  });
  it('a stored answer gone stale is unknown since it went stale, so each blind stretch after a seen one is new', () => {
    const g = openDb(':memory:');
    persistProbeResults(g.db, new Map([[i.id, { gpu: { verdict: 'busy', detail: 'GPU 97%' } }]]), NOW);
    const view = (now: number) => storedProbeViews(g.db, [i.id], now, { gpu: 30_000 }).get(i.id)!.gpu;
    expect(view(NOW + 20_000)).toMatchObject({ verdict: 'busy' });
    expect(view(NOW + 40_000)).toMatchObject({ verdict: 'unknown', since: NOW + 30_000 });
    persistProbeResults(g.db, new Map([[i.id, { gpu: { verdict: 'busy', detail: 'GPU 97%' } }]]), NOW + 5 * MIN);
    expect(view(NOW + 6 * MIN)).toMatchObject({ verdict: 'unknown', since: NOW + 5 * MIN + 30_000 });
    g.close();
  });
  it('the next action tells it will come after a warning', () => {
    expect(nextActions(input([plain], { probes: noGpu })).get(i.id)).toMatchObject({ at: NOW + 15 * MIN, reason: 'idle 2h of 45m, GPU not seen: after a warning' });
  });
});

describe('schedule policy', () => {
  const nightly = { name: 'nightly', type: 'schedule', cron: '0 2 * * *', warn_before: '30m', catch_up: '1h' };
  const at2 = Date.UTC(2026, 10, 26, 18, 0, 0); // 02:00 on the 27th in Asia/Shanghai

  it.each<[string, number, Partial<InstanceState>, string[]]>([
    ['fires at the occurrence for instances holding the GPU since before it', at2 + MIN, {}, ['act:nightly:sd-one']],
    ['catches up an occurrence missed while the daemon was down, within catch_up', at2 + 50 * MIN, {}, ['act:nightly:sd-one']],
    ['does not catch up beyond catch_up', at2 + 61 * MIN, {}, []],
    ['leaves an instance the user booted after the occurrence until the next one', at2 + 20 * MIN, { billedSince: at2 + 10 * MIN }, []],
    ['warns warn_before ahead', at2 - 20 * MIN, {}, ['warn:nightly:sd-one']],
    ['is quiet outside the windows', at2 - 3 * H, {}, []],
  ])('%s', (_n, now, over, want) => {
    const { decisions } = evaluatePolicies(input([nightly], { now, instances: [inst({ billedSince: at2 - 5 * H, ...over })] }));
    expect(kinds(decisions)).toEqual(want);
  });

  it('keys each occurrence, so an occurrence is acted on once and the next one again', () => {
    const a = evaluatePolicies(input([nightly], { now: at2 + MIN, instances: [inst({ billedSince: at2 - H })] })).decisions[0] as any;
    const b = evaluatePolicies(input([nightly], { now: at2 + 24 * H + MIN, instances: [inst({ billedSince: at2 - H })] })).decisions[0] as any;
    expect(a.key).not.toBe(b.key);
    expect(a.reason).toContain('2026-11-27 02:00 (Asia/Shanghai)');
  });

  it('honours the policy time zone', () => {
    const utcNight = { ...nightly, timezone: 'UTC' };
    const t = Date.UTC(2026, 10, 27, 2, 1, 0);
    expect(kinds(evaluatePolicies(input([utcNight], { now: t, instances: [inst({ billedSince: t - 3 * H })] })).decisions)).toEqual(['act:nightly:sd-one']);
  });

  it('only touches instances its selector matches', () => {
    const i = inst({ name: 'train-big', billedSince: at2 - H });
    expect(evaluatePolicies(input([{ ...nightly, match: { name: 'sd-*' } }], { now: at2 + MIN, instances: [i] })).decisions).toEqual([]);
    expect(evaluatePolicies(input([{ ...nightly, exclude: { gpu_model: 'RTX 4090*' } }], { now: at2 + MIN, instances: [inst({ billedSince: at2 - H })] })).decisions).toEqual([]);
  });
});

describe('max_runtime policy', () => {
  it.each<[string, number, string[]]>([
    ['acts after max continuous billed time', 12 * H + MIN, ['act:runaway:sd-one']],
    ['warns before', 11 * H + 45 * MIN, ['warn:runaway:sd-one']],
    ['waits below max', 6 * H, []],
  ])('%s', (_n, ran, want) => {
    const p = { name: 'runaway', type: 'max_runtime', max: '12h', warn_before: '30m' };
    expect(kinds(evaluatePolicies(input([p], { instances: [inst({ billedSince: NOW - ran })] })).decisions)).toEqual(want);
  });
});

describe('balance policy', () => {
  const p = { name: 'low', type: 'balance', below: [100, 30], repeat: '6h' };
  it.each<[number | null, string, string | undefined]>([
    [150, 'resolve', undefined],
    [80, 'alert', '100'],
    [20, 'alert', '30'],
    [null, 'none', undefined],
    [0, 'alert', '0'],
    [-0.23, 'alert', '0'],
  ])('balance %s -> %s (threshold %s)', (balance, kind, fp) => {
    const ds = evaluatePolicies(input([p], { balance })).decisions;
    expect(ds[0]?.kind ?? 'none').toBe(kind);
    if (fp) expect((ds[0] as any).event.fingerprint).toBe(fp);
  });

  it('alerts once per crossing, repeats while below, re-arms after a recharge', () => {
    const g = openDb(':memory:');
    const sent: string[] = [];
    const run = (balance: number, now: number) => {
      for (const d of evaluatePolicies(input([p], { balance, now })).decisions) {
        if (d.kind === 'alert') {
          const r = raise(g.db, d.event, { now, channels: ['email'], repeatMs: d.repeatMs });
          if (r.sent) sent.push(`${balance}:${r.reason}`);
        } else if (d.kind === 'resolve' && resolve(g.db, d.dedupKey, { now, channels: ['email'] })) sent.push(`${balance}:resolved`);
      }
    };
    run(90, NOW);
    run(85, NOW + H);
    run(25, NOW + 2 * H);
    run(24, NOW + 9 * H);
    run(300, NOW + 10 * H); // recharge
    run(300, NOW + 11 * H);
    run(95, NOW + 12 * H);
    expect(sent).toEqual(['90:first', '25:changed', '24:repeat', '300:resolved', '95:first']);
    expect(balanceKey('low')).toBe('balance_low:low');
    g.close();
  });
});

describe('runway policy', () => {
  const p = { name: 'runway', type: 'runway', warn_hours: 12, act_hours: 2 };
  const a = inst({ id: 'a000000000000000', name: 'a', rate: 1.59, pricePerHour: 1.59 });
  const b = inst({ id: 'b000000000000000', name: 'b', rate: 3.78, pricePerHour: 3.78, gpuUsed: 2 });
  const c = inst({ id: 'c000000000000000', name: 'c', rate: 1.89, pricePerHour: 1.89 });

  it('warns under warn_hours', () => {
    // (and resolves a critical alert: nothing protected burns)
    expect(kinds(evaluatePolicies(input([p], { instances: [a], balance: 10 })).decisions)).toEqual(['alert:runway', 'resolve:runway', 'resolve:runway']);
  });
  it('resolves at or above warn_hours', () => {
    expect(kinds(evaluatePolicies(input([p], { instances: [a], balance: 100 })).decisions)).toEqual(['resolve:runway', 'resolve:runway', 'resolve:runway']);
  });
  it('under act_hours releases the highest rate first until the runway is back above act_hours', () => {
    // burn 7.26/h, balance 12 -> 1.65h; releasing b (3.78) leaves 3.48/h -> 3.4h >= 2h
    const ds = evaluatePolicies(input([p], { instances: [a, b, c], balance: 12 })).decisions;
    expect(kinds(ds)).toEqual(['alert:runway', 'act:runway:b', 'resolve:runway']);
  });
  it('releases more when one is not enough', () => {
    // balance 5: burn must drop below 2.5/h -> release b (3.78) and c (1.89), leaving 1.59
    const ds = evaluatePolicies(input([p], { instances: [a, b, c], balance: 5 })).decisions;
    expect(kinds(ds)).toEqual(['alert:runway', 'act:runway:b', 'act:runway:c', 'resolve:runway']);
  });
  it('follows an explicit priority list before rates', () => {
    expect(releaseOrder([a, b, c], ['c', 'a']).map((i) => i.name)).toEqual(['c', 'a', 'b']);
    // releasing a alone leaves 5.67/h -> 2.1h >= act_hours: b keeps running
    const ds = evaluatePolicies(input([{ ...p, priority: ['a'] }], { instances: [a, b, c], balance: 12 })).decisions;
    expect(kinds(ds)).toEqual(['alert:runway', 'act:runway:a', 'resolve:runway']);
  });

  const keep = inst({ id: 'k000000000000000', name: 'train #keep', rate: 3.78, pricePerHour: 3.78, gpuUsed: 2 });
  const critical = (ds: Decision[]) => ds.find((d) => d.kind === 'alert' && d.event.type === 'runway_critical') as Extract<Decision, { kind: 'alert' }> | undefined;
  it('when only protected instances burn: runway_critical with the ¥0 time, what will be destroyed and the top-up; repeats faster in the last hour', () => {
    // 3.78/h, balance 5 -> 1.32h < act_hours 2, nothing the guard may release
    const ds = evaluatePolicies(input([p], { instances: [keep], balance: 5 })).decisions;
    expect(kinds(ds)).toEqual(['alert:runway', 'alert:runway']);
    const c = critical(ds)!;
    expect(c.event.dedupKey).toBe('runway_critical:runway');
    expect(c.event.data).toMatchObject({ balance: 5, burn_per_hour: 3.78, hours_left: 1.32, instances: [{ id: keep.id, name: 'train #keep', status: 'running' }], top_up: 40.36, top_up_hours: 12 });
    expect((c.event.data as any).empty_at).toBeCloseTo(NOW + (5 / 3.78) * H, -3);
    expect((c.event.data as any).last_resort_at).toBeCloseTo(NOW + (5 / 3.78) * H - 30 * MIN, -3);
    expect(c.repeatMs).toBe(30 * MIN);
    expect(critical(evaluatePolicies(input([p], { instances: [keep], balance: 3 })).decisions)!.repeatMs).toBe(10 * MIN);
    // formatted in Chinese from its code
    expect(formatReason((c.event.data as any).reason_code, 'zh-CN')).toMatch(/平台将销毁所有实例/);
  });
  it('a release the guard may make that is enough leaves nothing critical', () => {
    // burn 3.78 + 3.78 = 7.56, balance 12 -> 1.6h; releasing b leaves the #keep 3.78/h -> 3.2h >= 2h
    expect(kinds(evaluatePolicies(input([p], { instances: [keep, b], balance: 12 })).decisions)).toEqual(['alert:runway', 'act:runway:b', 'resolve:runway']);
  });
  it('at last_resort the protected instances are released too, highest rate first, as policy last-resort', () => {
    const small = inst({ id: 'm000000000000000', name: 'notes #keep', rate: 1.59, pricePerHour: 1.59 });
    // 5.37/h, balance 2 -> 22m <= 30m: release keep (3.78) -> 1.59/h -> 1.26h, still < 2h: release small too
    const ds = evaluatePolicies(input([p], { instances: [small, keep], balance: 2 })).decisions;
    expect(kinds(ds)).toEqual(['alert:runway', 'alert:runway', 'act:last-resort:train #keep', 'act:last-resort:notes #keep']);
    const act = ds[2] as Extract<Decision, { kind: 'act' }>;
    expect(act).toMatchObject({ lastResort: true, action: 'release_gpu', reasonCode: { code: 'runway.last_resort' } });
    // above last_resort: only the alert
    expect(kinds(evaluatePolicies(input([p], { instances: [small, keep], balance: 3 })).decisions)).toEqual(['alert:runway', 'alert:runway']);
    // last_resort: off never releases them; action notify neither
    expect(kinds(evaluatePolicies(input([{ ...p, last_resort: 'off' }], { instances: [small, keep], balance: 2 })).decisions)).toEqual(['alert:runway', 'alert:runway']);
    expect(kinds(evaluatePolicies(input([{ ...p, action: 'notify' }], { instances: [small, keep], balance: 2 })).decisions)).toEqual(['alert:runway', 'alert:runway']);
  });
  it('a snooze or a selector protects like #keep', () => {
    const g = openDb(':memory:');
    createOverride(g.db, { target: { instance_id: a.id }, kind: 'exempt', forever: true, reason: 'prod', who: 'test' }, NOW);
    const ds = evaluatePolicies(input([{ ...p, match: { name: 'zzz-*' } }], { instances: [a, c], balance: 0.5, overrides: activeOverrides(g.db, NOW) })).decisions;
    // 3.48/h, balance 0.5 -> 9m: both go (c first, the higher rate)
    expect(kinds(ds)).toEqual(['alert:runway', 'alert:runway', 'act:last-resort:c', 'act:last-resort:a']);
    g.close();
  });
  it('at or below ¥0 the runway is 0 whatever burns: nothing is resolved after the platform destroyed what burned', () => {
    expect(kinds(evaluatePolicies(input([p], { instances: [], balance: -0.23 })).decisions)).toEqual(['alert:runway']);
    expect((evaluatePolicies(input([p], { instances: [], balance: 0 })).decisions[0] as any).event.data.hours_left).toBe(0);
    // a recharge resolves both
    expect(kinds(evaluatePolicies(input([p], { instances: [], balance: 50 })).decisions)).toEqual(['resolve:runway', 'resolve:runway', 'resolve:runway']);
  });
  it('rejects a bad last_resort with its key path', () => {
    expect(() => input([{ ...p, last_resort: 'soon' }])).toThrow(/policies\[0\]\.last_resort: expected a duration such as 30m, or off/);
  });
});

describe('stopped_with_gpu policy', () => {
  const p = { name: 'held-gpu', type: 'stopped_with_gpu', after: '30m', warn_before: '10m' };
  const stopped = (ago: number, over: Partial<InstanceState> = {}) => inst({ status: 'shutdown', runningSince: null, stoppedSince: NOW - ago, rate: 3.18, pricePerHour: 3.18, gpuUsed: 2, ...over });
  it('warns within warn_before of `after`, releases after `after` once warned', () => {
    expect(kinds(evaluatePolicies(input([p], { instances: [stopped(10 * MIN)] })).decisions)).toEqual([]);
    const w = evaluatePolicies(input([p], { instances: [stopped(20 * MIN)] })).decisions[0] as Extract<Decision, { kind: 'warn' }>;
    expect(w).toMatchObject({ kind: 'warn', plannedAt: NOW + 10 * MIN, key: `held-gpu:${inst().id}:${NOW - 20 * MIN}` });
    // a first warning that comes late moves the release: it is always out warn_before ahead
    expect(evaluatePolicies(input([p], { instances: [stopped(25 * MIN)] })).decisions[0]).toMatchObject({ kind: 'warn', plannedAt: NOW + 10 * MIN });
    const ds = evaluatePolicies(input([p], { instances: [stopped(31 * MIN)], warnedAt: new Map([[`held-gpu:${inst().id}:${NOW - 31 * MIN}`, NOW - 11 * MIN]]) })).decisions;
    expect(ds[0]).toMatchObject({ kind: 'act', action: 'release_gpu', requireIdle: false, reasonCode: { code: 'stopped_with_gpu.release' } });
    expect((ds[0] as any).reason).toMatch(/stopped 31m .* still billed at ¥3\.18\/h/);
  });
  it('found stopped long ago: warns first, acts warn_before later', () => {
    const i = stopped(5 * H);
    const ds = evaluatePolicies(input([p], { instances: [i] })).decisions;
    expect(ds[0]).toMatchObject({ kind: 'warn', plannedAt: NOW + 10 * MIN });
    const key = (ds[0] as any).key;
    expect(kinds(evaluatePolicies(input([p], { instances: [i], now: NOW + 9 * MIN, warnedAt: new Map([[key, NOW]]) })).decisions)).toEqual(['warn:held-gpu:sd-one']);
    expect(kinds(evaluatePolicies(input([p], { instances: [i], now: NOW + 10 * MIN, warnedAt: new Map([[key, NOW]]) })).decisions)).toEqual(['act:held-gpu:sd-one']);
  });
  it('leaves running, released, #keep and unknown-stop instances alone; next_action shows the release', () => {
    for (const i of [inst(), stopped(H, { holdsGpu: false, gpuUsed: 0, rate: 0.0009 }), stopped(H, { name: 'x #keep' }), stopped(H, { stoppedSince: null })])
      expect(evaluatePolicies(input([p], { instances: [i] })).decisions).toEqual([]);
    const n = nextActions(input([p], { instances: [stopped(5 * MIN)] })).get(inst().id);
    expect(n).toMatchObject({ policy: 'held-gpu', action: 'release_gpu', at: NOW + 25 * MIN });
  });
  it('is in the default policy set', () => {
    const cfg = parseConfig({});
    expect(cfg.policies.find((x) => x.type === 'stopped_with_gpu')).toMatchObject({ name: 'held-gpu', after: 30 * MIN, warn_before: 10 * MIN });
    expect(cfg.policies.find((x) => x.type === 'runway')).toMatchObject({ last_resort: 30 * MIN });
  });
});

describe('budget policy', () => {
  it('notifies once per period over the limit', () => {
    const p = { name: 'cap', type: 'budget', per: 'day', limit: 80 };
    const spend = { today: 81, month: 81, dayStart: NOW - 2 * H, monthStart: NOW - 25 * 24 * H };
    const ds = evaluatePolicies(input([p], { spend })).decisions;
    expect(kinds(ds)).toEqual(['alert:cap']);
    expect((ds[0] as any).event.dedupKey).toBe(`budget:cap:${NOW - 2 * H}`);
    expect(evaluatePolicies(input([p], { spend: { ...spend, today: 79 } })).decisions).toEqual([]);
  });
  it('acts on the matching GPU holders when its action is release_gpu', () => {
    const p = { name: 'cap', type: 'budget', per: 'month', limit: 500, action: 'release_gpu' };
    const ds = evaluatePolicies(input([p], { spend: { today: 0, month: 501, dayStart: 0, monthStart: 0 } })).decisions;
    expect(kinds(ds)).toEqual(['alert:cap', 'act:cap:sd-one']);
  });
});

describe('overrides and rails in the engine', () => {
  it('a snooze hides an instance from the policy until it expires mid-way', () => {
    const g = openDb(':memory:');
    const i = inst();
    createOverride(g.db, { target: { instance_id: i.id }, kind: 'snooze', policies: ['idle'], for: 2 * H, reason: 'rendering', who: 'test' }, NOW);
    const probes = new Map([[i.id, { ...seen, jupyter: idle(5 * H) }]]);
    const at = (now: number) => kinds(evaluatePolicies(input([idlePolicy], { now, probes, overrides: activeOverrides(g.db, now) })).decisions);
    expect(at(NOW + H)).toEqual([]);
    expect(at(NOW + 2 * H + MIN)).toEqual(['act:idle:sd-one']);
    g.close();
  });
  it('a snoozed instance still shows what follows the snooze; a forever exemption shows nothing', () => {
    const g = openDb(':memory:');
    const i = inst();
    const o = createOverride(g.db, { target: { instance_id: i.id }, kind: 'snooze', policies: ['idle'], for: H, reason: 'rendering', who: 'test' }, NOW);
    const probes = new Map([[i.id, { ...seen, jupyter: idle(5 * H) }]]);
    // idle long enough already: the release comes the moment the snooze ends
    const n = nextActions(input([idlePolicy], { probes, overrides: activeOverrides(g.db, NOW) })).get(i.id)!;
    expect(n).toMatchObject({ policy: 'idle', action: 'release_gpu', at: NOW + H, heldBy: { kind: 'snooze', until: NOW + H, overrideId: o.id } });
    // the cooldown after a boot holds the same way
    const c = nextActions(input([idlePolicy], { probes, cooldownUntil: new Map([[i.id, NOW + 20 * MIN]]) })).get(i.id)!;
    expect(c).toMatchObject({ at: NOW + 20 * MIN, heldBy: { kind: 'cooldown', until: NOW + 20 * MIN } });
    createOverride(g.db, { target: { instance_id: i.id }, kind: 'exempt', forever: true, reason: 'prod', who: 'test' }, NOW);
    expect(nextActions(input([idlePolicy], { probes, overrides: activeOverrides(g.db, NOW) })).get(i.id)).toBeNull();
    expect(nextActions(input([idlePolicy], { probes, instances: [inst({ name: 'train #keep' })] })).get(i.id)).toBeNull();
    g.close();
  });
  it('an exemption by name glob covers matching instances for every policy', () => {
    const g = openDb(':memory:');
    createOverride(g.db, { target: { name: 'sd-*' }, kind: 'exempt', forever: true, reason: 'prod', who: 'test' }, NOW);
    const i = inst();
    const ds = evaluatePolicies(input([idlePolicy, { name: 'r', type: 'max_runtime', max: '1h' }], { probes: new Map([[i.id, { jupyter: idle(5 * H) }]]), overrides: activeOverrides(g.db, NOW) })).decisions;
    expect(ds).toEqual([]);
    g.close();
  });
  it('leaves an instance alone during the cooldown after the user booted it again', () => {
    const i = inst();
    const probes = new Map([[i.id, { ...seen, jupyter: idle(5 * H) }]]);
    expect(evaluatePolicies(input([idlePolicy], { probes, cooldownUntil: new Map([[i.id, NOW + MIN]]) })).decisions).toEqual([]);
    expect(kinds(evaluatePolicies(input([idlePolicy], { probes, cooldownUntil: new Map([[i.id, NOW - MIN]]) })).decisions)).toEqual(['act:idle:sd-one']);
  });
});
