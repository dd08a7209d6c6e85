import { describe, expect, it } from 'vitest';
import { KeptBytes } from '../../src/http/instances.js';

// The instance list's output buffer is kept from one answer to the next: a buffer still lent to a response that has
// not been handed to its socket must never be written by another answer.
describe('KeptBytes (the instance list output buffer)', () => {
  it('hands a lent buffer to no second answer, and reuses it once given back', () => {
    const out = new KeptBytes();
    const a = out.take(1000);
    expect(a.view.length).toBe(1000);
    out.give(a.buffer);
    const b = out.take(900);
    expect(b.buffer).toBe(a.buffer); // given back: the next answer writes into it
    expect(b.view.length).toBe(900);
    const c = out.take(900); // b is lent still
    expect(c.buffer).not.toBe(b.buffer);
    b.view.fill(1);
    c.view.fill(2);
    expect(b.view.every((x) => x === 1)).toBe(true);
  });

  it('takes a larger buffer when the kept one is too small, and keeps the larger of two given back', () => {
    const out = new KeptBytes();
    const small = out.take(10);
    out.give(small.buffer);
    const big = out.take(small.buffer.byteLength + 1);
    expect(big.buffer).not.toBe(small.buffer);
    expect(big.view.length).toBe(small.buffer.byteLength + 1);
    const other = out.take(10); // the small one, still kept: it fits
    expect(other.buffer).toBe(small.buffer);
    out.give(big.buffer);
    out.give(other.buffer);
    expect(out.take(big.view.length).buffer).toBe(big.buffer);
  });
});
