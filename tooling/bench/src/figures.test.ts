import { describe, expect, it } from 'vitest';
import { formatNumber, formatSize, median, megabytesPerSecond, perSecond, ratio } from './figures.js';

describe('median', () => {
  it('takes the middle value of an odd count, whatever the order', () => {
    expect(median([5, 1, 3])).toBe(3);
  });
  it('averages the two middle values of an even count', () => {
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });
  it('is not a number for no values', () => {
    expect(median([])).toBeNaN();
  });
  it('does not reorder the caller’s array', () => {
    const values = [3, 1, 2];
    median(values);
    expect(values).toEqual([3, 1, 2]);
  });
});

describe('rates and ratios', () => {
  it('divides counts and megabytes by seconds', () => {
    expect(perSecond(3000, 2)).toBe(1500);
    expect(megabytesPerSecond(12_000_000, 4)).toBe(3);
  });
  it('gives no rate for no time', () => {
    expect(perSecond(10, 0)).toBeNaN();
  });
  it('gives no ratio without a usable reference', () => {
    expect(ratio(1, undefined)).toBeNaN();
    expect(ratio(1, 0)).toBeNaN();
    expect(ratio(1, 4)).toBe(0.25);
  });
});

describe('formatting', () => {
  it('keeps three significant digits by default', () => {
    expect(formatNumber(0.12345)).toBe('0.123');
    expect(formatNumber(12.345)).toBe('12.3');
    expect(formatNumber(1234.5)).toBe('1235');
  });
  it('writes a dash for a missing figure and 0 for zero', () => {
    expect(formatNumber(Number.NaN)).toBe('–');
    expect(formatNumber(0)).toBe('0');
  });
  it('names sizes in KiB and MiB when they are whole', () => {
    expect(formatSize(4096)).toBe('4 KiB');
    expect(formatSize(256 * 1024)).toBe('256 KiB');
    expect(formatSize(1 << 20)).toBe('1 MiB');
    expect(formatSize(1000)).toBe('1000 B');
  });
});
