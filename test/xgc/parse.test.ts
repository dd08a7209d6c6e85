import { describe, expect, it } from 'vitest';
import { rawInstanceSchema } from '../../src/xgc/parse.js';

describe('rawInstanceSchema: the live API is looser than its docs', () => {
  it('takes numbers sent as numeric strings, and empty, null or absent ones as unset', () => {
    const r = rawInstanceSchema.parse({ id: 'a', status: 'running', ssh_port: ' 44775 ', price_per_hour: '1.59', gpu_used: 1, base_price: '', retain_price: null });
    expect(r).toMatchObject({ ssh_port: 44775, price_per_hour: 1.59, gpu_used: 1, base_price: undefined, retain_price: undefined });
    expect(r.progress).toBeUndefined();
  });

  it('turns numbers in string fields into strings and null or absent ones into empty strings', () => {
    expect(rawInstanceSchema.parse({ id: 'a', status: 'running', name: 42, gpu_model: null })).toMatchObject({ name: '42', gpu_model: '', web_url: '' });
  });

  it('takes `retain` as a boolean, a number or a numeric string', () => {
    for (const [v, want] of [[true, true], [1, 1], ['0', 0], [undefined, undefined]] as const) {
      expect(rawInstanceSchema.parse({ id: 'a', status: 'running', retain: v }).retain).toBe(want);
    }
  });

  it('ignores fields it does not use', () => {
    expect(rawInstanceSchema.parse({ id: 'a', status: 'running', extra: 'x' })).not.toHaveProperty('extra');
  });

  it.each([
    ['a number that is not one', { ssh_port: 'abc' }, 'ssh_port'],
    ['an infinite number', { price_per_hour: Infinity }, 'price_per_hour'],
    ['an object for a string', { name: {} }, 'name'],
    ['an array for a number', { gpu_used: [1] }, 'gpu_used'],
    ['an object for a flag', { retain: {} }, 'retain'],
  ])('refuses %s, naming the field', (_what, fields, path) => {
    const r = rawInstanceSchema.safeParse({ id: 'a', status: 'running', ...fields });
    expect(r.success).toBe(false);
    expect(r.error!.issues.map((i) => i.path.join('.'))).toContain(path);
  });

  it('refuses what is not an object, and a missing or empty id or status', () => {
    for (const item of [null, 'x', 1, [], { status: 'running' }, { id: '', status: 'running' }, { id: 'a' }, { id: 'a', status: '' }, { id: 1, status: 'running' }]) {
      expect(rawInstanceSchema.safeParse(item).success, JSON.stringify(item)).toBe(false);
    }
  });
});
