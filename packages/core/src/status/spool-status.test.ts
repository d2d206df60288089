import { describe, expect, it } from 'vitest';
import { FanoutError } from '../errors/fanout-error.js';
import { SPOOL_FORMAT } from '../spool/identity.js';
import { stubSpool } from '../queue/stub-spool.test-helper.js';
import { spoolStatus } from './spool-status.js';

/** A stub spool whose stats take a turn of the event loop and count how many are in flight at once. */
function slowStatSpool(files: Record<string, string>, failOn?: string) {
  const spool = stubSpool({
    ...files,
    '.fanout-spool': JSON.stringify({ uuid: '0b5c3e9e-6f1d-4c1a-9d8e-2f0a1b2c3d4e', format: SPOOL_FORMAT }),
  });
  const stat = spool.stat.bind(spool);
  const seen = { inFlight: 0, peak: 0, calls: 0 };
  spool.stat = async (name: string) => {
    seen.calls++;
    seen.inFlight++;
    seen.peak = Math.max(seen.peak, seen.inFlight);
    await new Promise((r) => setTimeout(r, 1));
    seen.inFlight--;
    if (name === failOn) throw new FanoutError('EIO', 'stat failed', { file: name });
    return stat(name);
  };
  return { spool, seen };
}

describe('spoolStatus ages', () => {
  it('stats the waiting messages several at a time, bounded, and counts every one', async () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 500; i++) files[`sM${i}`] = 'x';
    for (let i = 0; i < 20; i++) files[`hH${i}.s`] = 'x';
    const { spool, seen } = slowStatSpool(files);
    const status = await spoolStatus(spool, { now: () => 1000 + 7 * 60_000 });
    expect(status.counts.source).toBe(500);
    expect(status.ages.waiting.total).toBe(500);
    expect(status.ages.waiting.buckets['5-10m']).toBe(500);
    expect(status.ages.held.total).toBe(20);
    expect(seen.peak).toBeGreaterThan(1);
    expect(seen.peak).toBeLessThanOrEqual(64);
  });

  it('a failing stat fails the status with that error once the stats in flight have settled', async () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 200; i++) files[`sM${i}`] = 'x';
    const { spool, seen } = slowStatSpool(files, 'sM10');
    await expect(spoolStatus(spool)).rejects.toMatchObject({ code: 'EIO', file: 'sM10' });
    expect(seen.inFlight).toBe(0);
  });
});
