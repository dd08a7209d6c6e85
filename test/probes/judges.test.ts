/** Table tests of the pure decision functions behind the probes. */
import { describe, expect, it } from 'vitest';
import { judgeComfyQueue } from '../../src/probes/comfyui.js';
import { judgeJupyter, jupyterBase } from '../../src/probes/jupyter.js';
import { judgeSdProgress } from '../../src/probes/sdwebui.js';
import { judgeGpuSamples, parseNvidiaSmi } from '../../src/probes/ssh.js';

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

describe('nvidia-smi parsing', () => {
  it('reads one line per GPU and decides on the highest sample', () => {
    const s = [parseNvidiaSmi('0, 100\n5, 200\n'), parseNvidiaSmi('12, 300\n0, 0\n')];
    expect(judgeGpuSamples(s, 10)).toMatchObject({ verdict: 'busy', metrics: { gpus: 2, samples: 2, gpu_util_max: 12, memory_used_mib_max: 300 } });
    expect(judgeGpuSamples(s, 13).verdict).toBe('idle');
  });
  it('rejects output that is not GPU figures', () => {
    expect(() => parseNvidiaSmi('')).toThrow(/no GPUs/);
    expect(() => parseNvidiaSmi('NVIDIA-SMI has failed because it could not communicate with the NVIDIA driver.')).toThrow(/unexpected/);
  });
});
