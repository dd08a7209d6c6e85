/** Table tests of the pure decision functions behind the probes. */
import { describe, expect, it } from 'vitest';
import { judgeComfyQueue } from '../../src/probes/comfyui.js';
import { judgeJupyter, jupyterBase } from '../../src/probes/jupyter.js';
import { judgeSdProgress } from '../../src/probes/sdwebui.js';
import { GPU_SIGNAL_DEFAULTS, GpuBlockReader, judgeGpuWindow, parseGpuLine, parseLoadavg, parseNetDev, parseWho, type GpuSample } from '../../src/probes/gpu-signals.js';

const NOW = Date.UTC(2025, 0, 1, 12, 0, 0);
const ago = (ms: number) => new Date(NOW - ms).toISOString();
const W = { activeWindowMs: 120_000, countConnections: true };

describe('judgeJupyter', () => {
  const cases: [string, Parameters<typeof judgeJupyter>[0], typeof W, string][] = [
    ['busy kernel, old activity', { kernels: [{ id: 'k', execution_state: 'busy', last_activity: ago(3_600_000) }], sessions: [], terminals: [] }, W, 'busy'],
    ['starting kernel within window', { kernels: [{ id: 'k', execution_state: 'starting', last_activity: ago(10_000) }], sessions: [], terminals: [] }, W, 'busy'],
    ['starting kernel stuck for an hour', { kernels: [{ id: 'k', execution_state: 'starting', last_activity: ago(3_600_000) }], sessions: [], terminals: [] }, W, 'idle'],
    ['idle kernel with an open connection', { kernels: [{ id: 'k', execution_state: 'idle', last_activity: ago(3_600_000), connections: 1 }], sessions: [], terminals: [] }, W, 'busy'],
    ['open connection not counted', { kernels: [{ id: 'k', execution_state: 'idle', last_activity: ago(3_600_000), connections: 1 }], sessions: [], terminals: [] }, { ...W, countConnections: false }, 'idle'],
    ['recent terminal activity', { kernels: [], sessions: [], terminals: [{ name: '1', last_activity: ago(30_000) }] }, W, 'busy'],
    ['old terminal', { kernels: [], sessions: [], terminals: [{ name: '1', last_activity: ago(600_000) }] }, W, 'idle'],
    ['busy kernel seen only through a session', { kernels: [], sessions: [{ kernel: { id: 'k', execution_state: 'busy', last_activity: ago(600_000) } }], terminals: [] }, W, 'busy'],
    ['nothing at all', { kernels: [], sessions: [], terminals: [] }, W, 'idle'],
  ];
  it.each(cases)('%s', (_name, lists, opts, verdict) => {
    expect(judgeJupyter(lists, NOW, opts).verdict).toBe(verdict);
  });

  it('gives the latest last_activity of kernels and terminals as the idle `since`', () => {
    const r = judgeJupyter(
      { kernels: [{ id: 'k', execution_state: 'idle', last_activity: ago(900_000) }], sessions: [], terminals: [{ last_activity: ago(300_000) }] },
      NOW,
      W,
    );
    expect(r).toMatchObject({ verdict: 'idle', since: NOW - 300_000, metrics: { idle_seconds: 300 } });
    expect(judgeJupyter({ kernels: [], sessions: [], terminals: [] }, NOW, W).since).toBeUndefined();
  });
});

describe('jupyterBase', () => {
  it.each([
    ['https://abc-8888.container.x-gpu.com', 'https://abc-8888.container.x-gpu.com/'],
    ['https://abc-8888.container.x-gpu.com/lab?token=secret', 'https://abc-8888.container.x-gpu.com/'],
    ['http://127.0.0.1:9/c/abc-8888/tree/work', 'http://127.0.0.1:9/c/abc-8888'],
  ])('%s -> %s', (url, base) => expect(jupyterBase(url)).toBe(base));
});

describe('web UI judges', () => {
  it('comfyui: running or pending items are busy; a malformed body is unknown', () => {
    expect(judgeComfyQueue({ queue_running: [], queue_pending: [[1]] }).verdict).toBe('busy');
    expect(judgeComfyQueue({ queue_running: [], queue_pending: [] }).verdict).toBe('idle');
    expect(judgeComfyQueue({ error: 'x' }).verdict).toBe('unknown');
  });
  it('sdwebui: job_count > 0 or progress > 0 is busy', () => {
    expect(judgeSdProgress({ progress: 0, state: { job_count: 1 } }).verdict).toBe('busy');
    expect(judgeSdProgress({ progress: 0.4, state: { job_count: 0 } }).verdict).toBe('busy');
    expect(judgeSdProgress({ progress: 0, state: { job_count: 0 } }).verdict).toBe('idle');
    expect(judgeSdProgress('<html>').verdict).toBe('unknown');
  });
});

describe('gpu signals: parsing what the fixed commands print', () => {
  it('reads nvidia-smi CSV lines (index, util, mem used, mem total) and skips anything else', () => {
    expect(parseGpuLine('0, 97, 20511, 24564')).toEqual({ index: 0, util: 97, memUsedMiB: 20511, memTotalMiB: 24564 });
    expect(parseGpuLine('NVIDIA-SMI has failed because it could not communicate with the NVIDIA driver.')).toBeNull();
    expect(parseGpuLine('1, [N/A], 0, 24564')).toBeNull();
    expect(parseGpuLine('0, 140, 1, 2')).toBeNull();
  });

  it('splits the looping output into one block per sample, across chunk boundaries', () => {
    const blocks: number[][] = [];
    const r = new GpuBlockReader((lines) => blocks.push(lines.map((l) => l.util)));
    r.push('0, 5, 1, 2\n1, 9');
    r.push('0, 1, 2\n0, 50, 1, 2\n');
    r.push('1, 60, 1, 2\n'); // the GPU count is known now: a block completes at its last line
    expect(blocks).toEqual([[5, 90], [50, 60]]);
  });

  it('reads /proc/loadavg, /proc/net/dev (every interface but lo) and who -u', () => {
    expect(parseLoadavg('3.52 2.10 1.00 4/512 12345\n')).toBe(3.52);
    expect(parseLoadavg('garbage')).toBeNull();
    const dev = [
      'Inter-|   Receive                                                |  Transmit',
      ' face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed',
      '    lo: 999999 10 0 0 0 0 0 0 999999 10 0 0 0 0 0 0',
      '  eth0: 1000 10 0 0 0 0 0 0 500 5 0 0 0 0 0 0',
      '  eth1: 24 1 0 0 0 0 0 0 12 1 0 0 0 0 0 0',
    ].join('\n');
    expect(parseNetDev(dev)).toBe(1536);
    const who = ['root     pts/0        2026-11-29 10:00   .          1234 (10.0.0.1)', 'root     pts/1        2026-11-29 09:00 00:42       1300 (10.0.0.2)', 'root     pts/2        2026-11-20 09:00  old        1400 (10.0.0.3)'].join('\n');
    expect(parseWho(who)).toEqual([
      { tty: 'pts/0', idleMs: 0 },
      { tty: 'pts/1', idleMs: 42 * 60_000 },
      { tty: 'pts/2', idleMs: 86_400_000 },
    ]);
  });
});

describe('gpu signals: the rolling-window judgement', () => {
  const T = 1_000_000_000;
  const t = GPU_SIGNAL_DEFAULTS;
  const gpu = (at: number, util: number): GpuSample => ({ at, gpus: [{ util, memUsedMiB: 100 }] });
  const prior = { lastBusy: null, watchingSince: T - 3_600_000 };
  const who = (idle: string) => parseWho(`root     pts/0        2026-11-29 10:00 ${idle}       1234 (10.0.0.1)`);
  it.each<[string, GpuSample[], string, RegExp]>([
    ['a GPU at 10% or more is busy', [gpu(T - 20_000, 0), gpu(T - 10_000, 97), gpu(T, 0)], 'busy', /GPU at 97%/],
    ['any GPU of several counts', [{ at: T, gpus: [{ util: 0, memUsedMiB: 1 }, { util: 55, memUsedMiB: 1 }] }], 'busy', /55%/],
    ['a GPU at 3% with nothing else going on is idle', [gpu(T - 10_000, 3), gpu(T, 2)], 'idle', /GPU at most 2%/],
    ['CPU load held over the window is busy (a model being preprocessed)', [gpu(T - 30_000, 0), { at: T - 20_000, load: 6 }, { at: T - 10_000, load: 5.5 }, gpu(T, 0), { at: T, load: 5 }], 'busy', /CPU load 5\.00 held/],
    ['one CPU spike is not', [gpu(T, 0), { at: T - 20_000, load: 0.2 }, { at: T, load: 7 }], 'idle', /load 7\.00/],
    ['network held above 1 MiB/s is busy (a model download)', [gpu(T, 0), { at: T - 10_000, netBytesPerSec: 30e6 }, { at: T, netBytesPerSec: 28e6 }], 'busy', /network 26\.7 MiB\/s held/],
    ['a login that typed recently is busy; the probe itself never logs in', [gpu(T, 0), { at: T, logins: [{ tty: 'pts/0', idleMs: 0 }] }], 'busy', /SSH login on pts\/0/],
    ['a login left alone longer than active_window is idle', [gpu(T, 0), { at: T, logins: [{ tty: 'pts/0', idleMs: 20 * 60_000 }] }], 'idle', /1 login\(s\), none typed within 15m/],
    ['a login idle 5 minutes inside the 15-minute active_window is busy (someone at work)', [gpu(T, 0), { at: T, logins: who('00:05') }], 'busy', /SSH login on pts\/0 typed 5m ago/],
    ['a login idle 14 minutes (who -u counts whole minutes) is still within active_window: busy', [gpu(T, 0), { at: T, logins: who('00:14') }], 'busy', /typed 14m ago/],
    ['a login idle exactly active_window (15 whole minutes) is idle', [gpu(T, 0), { at: T, logins: who('00:15') }], 'idle', /1 login\(s\), none typed within 15m/],
    ['samples older than the window do not count', [gpu(T - 120_000, 99), gpu(T, 0)], 'idle', /GPU at most 0%/],
    ['no GPU sample at all is unknown, never idle', [{ at: T, load: 0 }], 'unknown', /no GPU sample/],
  ])('%s', (_name, samples, verdict, detail) => {
    const r = judgeGpuWindow(samples, T, t, prior);
    expect(r.verdict).toBe(verdict);
    expect(r.detail).toMatch(detail);
  });

  it('idle since the first reading after the last busy one, never before watching began', () => {
    // the work may have run until just before T-40s: idle counts from the reading that saw it stopped
    const r = judgeGpuWindow([gpu(T - 50_000, 80), gpu(T - 40_000, 0), gpu(T, 0)], T, t, prior);
    expect(r).toMatchObject({ verdict: 'busy', since: T - 50_000, lastBusy: { at: T - 50_000, signals: ['gpus'], until: T - 40_000 } });
    const later = judgeGpuWindow([gpu(T + 60_000, 0)], T + 60_000, t, { ...prior, lastBusy: r.lastBusy });
    expect(later).toMatchObject({ verdict: 'idle', since: T - 40_000 });
    const reconnected = judgeGpuWindow([gpu(T + 60_000, 0)], T + 60_000, t, { ...prior, watchingSince: T + 30_000 });
    expect(reconnected).toMatchObject({ verdict: 'idle', since: T + 30_000 });
  });

  it('the reading that ends a busy stretch is of the signal that was busy', () => {
    // an active login at T-70s; GPU blocks come between, but only the next `who` (T-60s) saw it gone quiet
    const login = (at: number, idleMs: number): GpuSample => ({ at, logins: [{ tty: 'pts/0', idleMs }] });
    const samples = [login(T - 70_000, 0), gpu(T - 69_000, 0), gpu(T - 64_000, 0), login(T - 60_000, 30 * 60_000), gpu(T - 59_000, 0)];
    const r = judgeGpuWindow(samples, T - 59_000, t, prior);
    expect(r).toMatchObject({ verdict: 'busy', lastBusy: { at: T - 70_000, signals: ['logins'], until: T - 60_000 } });
    const later = judgeGpuWindow([...samples, gpu(T + 10_000, 0)], T + 10_000, t, { ...prior, lastBusy: r.lastBusy });
    expect(later).toMatchObject({ verdict: 'idle', since: T - 60_000 });
  });

  it('a load held over the window ends at the next load reading, though the window no longer judges its sample busy', () => {
    const load = (at: number, l: number): GpuSample => ({ at, load: l });
    const first = [gpu(T - 60_000, 0), load(T - 60_000, 5), gpu(T, 0), load(T, 5)];
    const r = judgeGpuWindow(first, T, t, prior);
    expect(r).toMatchObject({ verdict: 'busy', lastBusy: { at: T, signals: ['load'], until: null } });
    // a minute on, the window holds one load reading of T: that sample alone is no longer "held", yet it was busy
    const next = [gpu(T, 0), load(T, 5), gpu(T + 60_000, 0), load(T + 60_000, 0.4)];
    const later = judgeGpuWindow(next, T + 60_000, t, { ...prior, lastBusy: r.lastBusy });
    expect(later).toMatchObject({ verdict: 'idle', since: T + 60_000, lastBusy: { at: T, until: T + 60_000 } });
    // and a later judgement goes on counting from there, not from its own now
    expect(judgeGpuWindow([gpu(T + 600_000, 0)], T + 600_000, t, { ...prior, lastBusy: later.lastBusy })).toMatchObject({ verdict: 'idle', since: T + 60_000 });
  });

  it('until a reading follows the busy sample, idle counts from now, not from the busy sample', () => {
    // the busy sample left the window before any reading of its signal followed it (a stalled stream)
    const stalled = { at: T - 120_000, signals: ['gpus' as const], until: null };
    expect(judgeGpuWindow([{ at: T, load: 0.1 }, { at: T, gpus: undefined }], T, t, { ...prior, lastBusy: stalled }).verdict).toBe('unknown');
    const r = judgeGpuWindow([gpu(T, 0)], T, t, { ...prior, lastBusy: stalled });
    expect(r).toMatchObject({ verdict: 'idle', since: T, lastBusy: { until: T } });
  });
});
