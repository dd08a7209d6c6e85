import { describe, expect, it } from 'vitest';
import { seededRandom as rng } from '../../src/bench/stats.js';
import { parseRawInstance, rawInstanceSchema } from '../../src/xgc/parse.js';

// what the live API and broken proxies have been seen to send, and then some
const VALUES: unknown[] = [undefined, null, '', ' ', '12', ' 44775 ', '1.59', '-3', '1e3', 'abc', '0x10', 0, 12, 1.59, -1, NaN, Infinity, true, false, {}, [], [1], 'RTX 4090', '浙江一区'];
const FIELDS = [
  'name', 'gpu_model', 'gpu_used', 'price_per_hour', 'base_price', 'retain', 'retain_price', 'public_image', 'image_id', 'data_center_name', 'web_url', 'jupyter_url',
  'jupyter_token', 'ssh_domain', 'ssh_port', 'ssh_user', 'password', 'create_timestamp', 'start_timestamp', 'stop_timestamp', 'progress',
];

describe('parseRawInstance: the list items parsed without zod', () => {
  it('gives what the schema gives whenever it accepts an item, and accepts every item the schema accepts with plain values', () => {
    const r = rng(14);
    let fast = 0;
    for (let i = 0; i < 3000; i++) {
      const item: Record<string, unknown> = { id: r() < 0.97 ? `i${i}` : VALUES[Math.floor(r() * VALUES.length)], status: r() < 0.97 ? 'running' : VALUES[Math.floor(r() * VALUES.length)], extra: 'ignored' };
      // mostly well-formed items (as the API sends them), some with one or more odd fields
      for (const f of FIELDS) if (r() < 0.08) item[f] = VALUES[Math.floor(r() * VALUES.length)];
      const mine = parseRawInstance(item);
      const schema = rawInstanceSchema.safeParse(item);
      if (mine !== null) {
        fast++;
        expect(schema.success, JSON.stringify(item)).toBe(true);
        expect(mine, JSON.stringify(item)).toEqual(schema.data);
      } else {
        // refused here: the caller parses with the schema, which must refuse it too (or the fast path is too strict)
        expect(schema.success, JSON.stringify(item)).toBe(false);
      }
    }
    expect(fast).toBeGreaterThan(300);
  });

  it('refuses what is not an object, and a missing or empty id or status', () => {
    for (const item of [null, 'x', 1, [], [{ id: 'a', status: 'running' }], { status: 'running' }, { id: '', status: 'running' }, { id: 'a' }, { id: 'a', status: '' }, { id: 1, status: 'running' }]) {
      expect(parseRawInstance(item)).toBeNull();
      expect(rawInstanceSchema.safeParse(item).success).toBe(false);
    }
    expect(parseRawInstance({ id: 'a', status: 'running' })).toEqual(rawInstanceSchema.parse({ id: 'a', status: 'running' }));
  });
});
