/** One typed sample event data per event type (the mapped type makes a missing type a compile error). */
import type { EventData, EventType } from '../../src/notify/index.js';
import { sampleInstance } from './helpers.js';

/** 2026-11-26 02:00 in Asia/Shanghai. */
export const planned = Date.UTC(2026, 10, 25, 18, 0);

/** Sample data for every event type. */
export const sample: { [T in EventType]: EventData<T> } = {
  action_planned: { instance: sampleInstance, policy: 'nightly', reason: 'schedule 0 2 * * *', action: 'release_gpu', planned_at: planned, saving_per_hour: 1.5899 },
  action_taken: { instance: sampleInstance, policy: 'idle-release', reason: 'idle for 45m', action: 'release_gpu', mode: 'enforce', at: planned, saving_per_hour: 1.5899 },
  action_failed: { instance: sampleInstance, policy: 'nightly', action: 'release_gpu', mode: 'enforce', at: planned, error: 'code 1000: busy' },
  action_aborted: { instance: sampleInstance, policy: 'nightly', action: 'release_gpu', mode: 'enforce', at: planned, reason: 'schedule', error: 'state changed since the decision' },
  balance_low: { balance: 23.5, threshold: 30, policy: 'low-balance', hours_left: 14.8 },
  runway_warn: { balance: 40, burn_per_hour: 3.2, hours_left: 12.5, empty_at: planned },
  runway_act: { balance: 5, burn_per_hour: 3.2, hours_left: 1.6, instance: sampleInstance },
  runway_critical: {
    policy: 'runway',
    balance: 5,
    burn_per_hour: 3.18,
    hours_left: 1.57,
    empty_at: planned,
    instances: [{ ...sampleInstance, name: 'train #keep', id: 'ins-keep', price_per_hour: 3.18, status: 'running' }],
    top_up: 20.44,
    top_up_hours: 8,
    last_resort_at: planned - 30 * 60_000,
  },
  instances_destroyed: { balance: -0.23, instances: [{ id: 'ins-keep', name: 'train #keep', gpu_model: 'RTX 4090', gpu_count: 1, last_status: 'running', last_seen_at: planned }] },
  budget_exceeded: { period: 'day', spent: 85, limit: 80, policy: 'daily-cap' },
  guard_blind: { ticks: 5, since: planned, error: 'XgcTimeout' },
  guard_recovered: { firing_since: planned },
  wake_done: { instance: sampleInstance, gpu_model: 'RTX 4090', gpu_count: 1, waited_ms: 4 * 60_000, tries: 4, web_url: 'https://ins7f3a-7860.container.x-gpu.com/' },
  wake_failed: { instance: sampleInstance, gpu_models: ['RTX 4090 D', 'RTX 4090'], gpu_count: 1, waited_ms: 2 * 3_600_000, tries: 14, error: '可用GPU不足' },
  daily_digest: { day: '2026-11-25', estimated: 40.5, observed: 38.16, saved: 12, balance: 300, runway_hours: 80, top_instances: [{ id: 'ins-7f3a', name: 'sd-main', gpu_model: 'RTX 4090 D', estimated: 38.16 }] },
};

/** A typed event of `type` with the sample data. */
export function sampleEvent<T extends EventType>(type: T, extra: { status?: 'firing' | 'resolved' } = {}) {
  return { type, dedupKey: 'k', data: sample[type], ...extra } as { type: T; dedupKey: string; data: EventData<T>; status?: 'firing' | 'resolved' };
}
