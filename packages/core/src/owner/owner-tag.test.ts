import { describe, expect, it } from 'vitest';
import type { OwnerInfo } from './owner.js';
import {
  bootHash,
  bootRelation,
  encodeOwnerTag,
  hostHash,
  MAX_OWNER_TAG_LENGTH,
  parseOwnerTag,
  sameHost,
} from './owner-tag.js';

const owner: OwnerInfo = {
  host: 'mail-pool-1a2b3c4d-aaaa.example.org',
  bootId: '7b2f3c9e-1d4a-4b8e-9f00-5c6d7e8f9a0b',
  pidNamespace: '4026531836',
  pid: 4242,
  startTime: '123456789',
};

describe('owner tags', () => {
  it('round-trip: host and boot hashed, pid namespace, pid and start time exact', () => {
    const tag = encodeOwnerTag(owner);
    expect(tag).toMatch(/^[0-9a-v]{16}-[0-9a-v]{16}-4026531836-4242-123456789$/);
    expect(parseOwnerTag(tag)).toEqual({
      tag,
      hostHash: hostHash(owner.host),
      bootHash: bootHash(owner.bootId),
      pidNamespace: '4026531836',
      pid: 4242,
      startTime: '123456789',
    });
  });

  it('use only [0-9a-z] and -, never . or _, and stay within the limit', () => {
    const longest: OwnerInfo = {
      host: 'x'.repeat(300),
      bootId: 'y'.repeat(300),
      pidNamespace: '9'.repeat(20),
      pid: 9_999_999_999,
      startTime: '9'.repeat(20),
    };
    const tag = encodeOwnerTag(longest);
    expect(tag).toMatch(/^[0-9a-z-]+$/);
    expect(tag.length).toBe(MAX_OWNER_TAG_LENGTH);
    expect(MAX_OWNER_TAG_LENGTH).toBeLessThanOrEqual(100);
    expect(parseOwnerTag(tag)?.pid).toBe(9_999_999_999);
  });

  it('hash the FULL host name: hosts that share a long prefix get different tags', () => {
    const a = encodeOwnerTag({ ...owner, host: 'worker-pool-1a2b3c4d-aaaa' });
    const b = encodeOwnerTag({ ...owner, host: 'worker-pool-1a2b3c4d-bbbb' });
    expect(a.split('-')[0]).not.toBe(b.split('-')[0]);
    expect(sameHost(parseOwnerTag(a)!, { ...owner, host: 'worker-pool-1a2b3c4d-aaaa' })).toBe(true);
    expect(sameHost(parseOwnerTag(a)!, { ...owner, host: 'worker-pool-1a2b3c4d-bbbb' })).toBe(false);
    expect(sameHost(parseOwnerTag(a)!, parseOwnerTag(b)!)).toBe(false);
  });

  it('write unknown values as 0, and read 0 back as unknown', () => {
    const tag = encodeOwnerTag({ host: 'h', bootId: '', pidNamespace: '', pid: 1, startTime: '' });
    expect(tag).toMatch(/^[0-9a-v]{16}-0-0-1-0$/);
    expect(parseOwnerTag(tag)).toMatchObject({ bootHash: '', pidNamespace: '', pid: 1, startTime: '' });
  });

  it('write as unknown what cannot be written exactly (so it can never prove anything wrong)', () => {
    const tag = encodeOwnerTag({ ...owner, pidNamespace: 'ns-7', startTime: '12:30:00' });
    expect(parseOwnerTag(tag)).toMatchObject({ pidNamespace: '', startTime: '' });
    expect(parseOwnerTag(encodeOwnerTag({ ...owner, startTime: '0123' }))?.startTime).toBe('');
  });

  it("carry the core's per-process nonce as a start time", () => {
    const tag = encodeOwnerTag({ ...owner, startTime: 'n0123456789abcdev' });
    expect(parseOwnerTag(tag)?.startTime).toBe('n0123456789abcdev');
  });

  it('refuse a pid that is not a positive whole number', () => {
    for (const pid of [0, -1, 1.5, Number.NaN, 1e10])
      expect(() => encodeOwnerTag({ ...owner, pid })).toThrow(RangeError);
  });

  it('parse nothing that is not exactly a tag', () => {
    const good = encodeOwnerTag(owner);
    const [h, b] = good.split('-');
    for (const bad of [
      '',
      'todo.txt',
      'tags',
      'test.log',
      'mailpool1a2b3c4d-4242', // the old consumer name <hostTag>-<pid>
      '123.456.host',
      `${good}-1`,
      `${good}.x`,
      ` ${good}`,
      good.toUpperCase(),
      `${h}-${b}-4026531836-0-1`, // pid 0
      `${h}-${b}-4026531836-042-1`, // leading zero
      `${h}-${b}-04026531836-42-1`,
      `${h}-${b}-4026531836-42-01`,
      `${h}-${b}-4026531836-42-x`,
      `${h}-${b}-4026531836-42-n0123`, // short nonce
      `${h!.slice(1)}-${b}-4026531836-42-1`, // short hash
      `${h}w-${b}-4026531836-42-1`, // w is not base32
      `${h}-${b}-4026531836-42`,
      `${h}_${b}-4026531836-42-1`,
      `${h}-${b}-4026531836-12345678901-1`, // 11-digit pid
    ]) {
      expect(parseOwnerTag(bad), bad).toBeUndefined();
    }
  });

  it('compare boots: same, different, or unknown when either is unknown', () => {
    const tag = parseOwnerTag(encodeOwnerTag(owner))!;
    expect(bootRelation(tag, owner)).toBe('same');
    expect(bootRelation(tag, { ...owner, bootId: 'another boot' })).toBe('different');
    expect(bootRelation(tag, { ...owner, bootId: '' })).toBe('unknown');
    expect(bootRelation(parseOwnerTag(encodeOwnerTag({ ...owner, bootId: '' }))!, owner)).toBe('unknown');
    expect(bootRelation(owner, { ...owner })).toBe('same');
  });
});
