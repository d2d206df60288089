import { describe, expect, it } from 'vitest';
import { Backoff } from './backoff.js';

describe('Backoff', () => {
  it('doubles the wait from the initial one up to the cap', () => {
    const b = new Backoff({ initialMs: 100, maxMs: 1000, random: () => 0.999999 });
    expect(Array.from({ length: 7 }, () => b.next())).toEqual([100, 200, 400, 800, 1000, 1000, 1000]);
  });

  it('draws each wait from the upper half of its nominal value (jitter)', () => {
    const low = new Backoff({ initialMs: 100, maxMs: 1000, random: () => 0 });
    expect([low.next(), low.next(), low.next()]).toEqual([50, 100, 200]);
    const waits = new Set(Array.from({ length: 50 }, () => new Backoff({ initialMs: 1000, maxMs: 1000 }).next()));
    expect(waits.size).toBeGreaterThan(10);
    for (const w of waits) {
      expect(w).toBeGreaterThanOrEqual(500);
      expect(w).toBeLessThanOrEqual(1000);
    }
  });

  it('starts again from the initial wait after a reset', () => {
    const b = new Backoff({ initialMs: 100, maxMs: 1000, random: () => 0.999999 });
    b.next();
    b.next();
    expect(b.attempts).toBe(2);
    b.reset();
    expect(b.attempts).toBe(0);
    expect(b.next()).toBe(100);
  });

  it('starts at the cap when the cap is below the initial wait', () => {
    const b = new Backoff({ maxMs: 200, random: () => 0.999999 });
    expect([b.next(), b.next()]).toEqual([200, 200]);
  });

  it('never exceeds the cap however long the outage lasts', () => {
    const b = new Backoff({ initialMs: 500, maxMs: 30_000, random: () => 0.999999 });
    for (let i = 0; i < 2000; i++) expect(b.next()).toBeLessThanOrEqual(30_000);
  });
});
