import { newId } from '@fanout/core';
import { describe, expect, it } from 'vitest';
import { ulidTimeMs } from './message-age.js';

describe('ulidTimeMs', () => {
  it('reads the creation time back from an id fanout made', () => {
    expect(ulidTimeMs(newId(1_700_000_000_123))).toBe(1_700_000_000_123);
  });

  it('gives undefined for ids that are not ULIDs', () => {
    expect(ulidTimeMs('hello')).toBeUndefined();
    expect(ulidTimeMs('01ARZ3NDEKTSV4RRFFQ69G5FAU')).toBeUndefined(); // U is not Crockford base32
  });
});
