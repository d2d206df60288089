import { describe, expect, it } from 'vitest';
import { BatchSizer } from './batch-sizer.js';

describe('BatchSizer', () => {
  it('halves the batch each time an attempt runs out of lease, down to one message, and says to offer them again', () => {
    const s = new BatchSizer(32, 60_000);
    const sizes = [];
    for (let i = 0; i < 6; i++) {
      expect(s.record({ messages: s.size, elapsedMs: 50_000, leaseRanOut: true })).toBe(true);
      sizes.push(s.size);
      if (s.size === 1) break;
    }
    expect(sizes).toEqual([16, 8, 4, 2, 1]);
    expect(s.shrinks).toBe(5);
  });

  it('reports a single message that cannot fit its lease as failed instead of retrying it forever', () => {
    const s = new BatchSizer(1, 60_000);
    expect(s.record({ messages: 1, elapsedMs: 50_000, leaseRanOut: true })).toBe(false);
    expect(s.shrinks).toBe(0);
  });

  it('grows back, doubling, while full attempts commit within a third of the lease, never past the configured size', () => {
    const s = new BatchSizer(32, 60_000);
    s.record({ messages: 32, elapsedMs: 50_000, leaseRanOut: true });
    s.record({ messages: 16, elapsedMs: 50_000, leaseRanOut: true });
    expect(s.size).toBe(8);
    s.record({ messages: 8, elapsedMs: 30_000, leaseRanOut: false }); // fits, but not with room to spare
    expect(s.size).toBe(8);
    s.record({ messages: 3, elapsedMs: 1_000, leaseRanOut: false }); // a short batch says nothing of a full one
    expect(s.size).toBe(8);
    s.record({ messages: 8, elapsedMs: 1_000, leaseRanOut: false });
    s.record({ messages: 16, elapsedMs: 1_000, leaseRanOut: false });
    s.record({ messages: 32, elapsedMs: 1_000, leaseRanOut: false });
    expect(s.size).toBe(32);
  });
});
