import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { checkWakeMoney } from '../../src/wake/money-check.js';
import { backoff } from '../../src/backoff.js';
import { bootRate, fullModelName, shortModelName } from '../../src/wake/models.js';

const errorOf = (raw: Record<string, unknown>) => {
  try {
    parseConfig(raw);
    return null;
  } catch (e) {
    return (e as Error).message;
  }
};

describe('wake config', () => {
  it.each([
    [{ policies: [{ name: 'x', type: 'idle', idle_for: '1h', action: 'boot' }] }, 'policies[0].action: boot is only valid for schedule policies (type: schedule, a scheduled wake)'],
    [{ policies: [{ name: 'r', type: 'runway', warn_hours: 3, act_hours: 1, action: 'boot' }] }, 'policies[0].action: boot is only valid for schedule policies (type: schedule, a scheduled wake)'],
    [{ policies: [{ name: 'n', type: 'schedule', cron: '0 2 * * *', gpu_count: 0 }] }, 'policies[0].gpu_count: only valid with action: boot'],
    [{ policies: [{ name: 'm', type: 'schedule', cron: '0 2 * * *', action: 'boot', gpu_count: 9 }] }, 'policies[0].gpu_count: expected an integer 0-8'],
    [{ policies: [{ name: 'm', type: 'schedule', cron: '0 2 * * *', action: 'boot', gpu_models: [] }] }, 'policies[0].gpu_models:'],
    [{ wake: { give_up_after: 'x' } }, 'wake.give_up_after: bad duration "x"'],
    [{ wake: { retry: '1m' } }, 'wake.retry: unknown key'],
  ])('rejects %j naming the key path', (raw, msg) => {
    expect(errorOf(raw)).toContain(msg);
  });

  it('accepts a morning boot policy and fills the wake defaults', () => {
    const c = parseConfig({ policies: [{ name: 'morning', type: 'schedule', cron: '50 8 * * 1-5', action: 'boot', gpu_models: ['RTX 4090 D', 'RTX 4090'], gpu_count: 1, give_up_after: '3h', match: { name: 'sd-*' } }] });
    expect(c.policies[0]).toMatchObject({ action: 'boot', gpu_models: ['RTX 4090 D', 'RTX 4090'], gpu_count: 1, give_up_after: 3 * 3_600_000 });
    expect(c.wake).toEqual({ give_up_after: 7_200_000, retry_first: 60_000, retry_max: 600_000 });
  });
});

describe('wake arithmetic', () => {
  it('backs off 1, 2, 4, 8 minutes, then 10 (the cap)', () => {
    expect([0, 1, 2, 3, 4, 5].map((step) => backoff(step, { base: 60_000, cap: 600_000 }) / 60_000)).toEqual([1, 2, 4, 8, 10, 10]);
  });

  it('spreads a wait over 0-100% (full jitter) or 50-100% (equal jitter) of it', () => {
    expect(backoff(2, { base: 100, cap: 10_000, jitter: 'full' }, () => 0)).toBe(0);
    expect(backoff(2, { base: 100, cap: 10_000, jitter: 'full' }, () => 0.5)).toBe(200);
    expect(backoff(2, { base: 100, cap: 10_000, jitter: 'equal' }, () => 0)).toBe(200);
    expect(backoff(2, { base: 100, cap: 10_000, jitter: 'equal' }, () => 1)).toBe(400);
    expect(backoff(1e6, { base: 100, cap: 10_000 })).toBe(10_000); // no overflow on a long run of failures
  });

  it('names models as boot wants them and as lists show them', () => {
    expect(fullModelName('RTX 4090 D')).toBe('NVIDIA GeForce RTX 4090 D');
    expect(fullModelName('NVIDIA GeForce RTX 4090')).toBe('NVIDIA GeForce RTX 4090');
    expect(shortModelName('NVIDIA GeForce RTX 4090 D')).toBe('RTX 4090 D');
  });

  it('estimates the boot rate from the instance, the known prices, or the CPU-only guess', () => {
    const basis = { gpuModel: 'RTX 4090 D', pricePerHour: 3.18, retainPrice: 0.001, lastGpuCount: 2 };
    expect(bootRate(basis, 'NVIDIA GeForce RTX 4090 D', 1)).toBeCloseTo(1.59);
    expect(bootRate(basis, 'RTX 4090', 2)).toBeCloseTo(3.78);
    expect(bootRate(basis, 'RTX 5090', 1)).toBeCloseTo(1.89); // unknown model: never under the dearest known
    expect(bootRate(basis, '', 0)).toBeCloseTo(0.101);
  });

  it.each([
    // balance, burn, current, rate -> ok / top-up
    [10, 0.01, 0.01, 1.59, true, 0],
    [3, 0.01, 0.01, 1.59, false, 0.18],
    [3, 2, 0.01, 1.59, false, 4.16],
  ])('balance %s, burn %s, current %s, wake at %s: ok %s, top up %s', (balance, burn, current, rate, ok, topUp) => {
    const v = checkWakeMoney({ balance, burn, currentRate: current, rate, actHours: 2, policy: 'runway', what: 'RTX 4090 D × 1' });
    expect(v.ok).toBe(ok);
    if (!v.ok) {
      expect(v.topUp).toBeCloseTo(topUp, 2);
      expect(v.message).toContain(`top up at least ¥${topUp.toFixed(2)}`);
    }
  });
});
