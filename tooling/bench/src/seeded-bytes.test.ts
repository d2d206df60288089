import { describe, expect, it } from 'vitest';
import { messageId, seededMessages } from './seeded-bytes.js';

describe('seededMessages', () => {
  it('gives the same bytes for the same seed, so every round moves the same input', () => {
    const a = [...seededMessages(42, 3, 1001)];
    const b = [...seededMessages(42, 3, 1001)];
    expect(a.map((m) => Buffer.from(m).toString('hex'))).toEqual(b.map((m) => Buffer.from(m).toString('hex')));
  });
  it('gives messages of exactly the size asked, different from each other and from another seed', () => {
    const [first, second] = [...seededMessages(42, 2, 4099)];
    const [other] = [...seededMessages(43, 1, 4099)];
    expect(first!.byteLength).toBe(4099);
    expect(Buffer.from(first!).equals(Buffer.from(second!))).toBe(false);
    expect(Buffer.from(first!).equals(Buffer.from(other!))).toBe(false);
  });
  it('fills with bytes that do not compress: most byte values occur', () => {
    const [m] = [...seededMessages(7, 1, 64 * 1024)];
    expect(new Set(m).size).toBe(256);
  });
});

describe('messageId', () => {
  it('pads so that names sort in input order', () => {
    expect(messageId(7)).toBe('0000007');
    expect([messageId(10), messageId(9)].sort()).toEqual([messageId(9), messageId(10)]);
  });
});
