import { describe, expect, it } from 'vitest';
import { parseProtocolName } from '@fanout/core';
import { newTempName, tempHostPart } from './temp-name.js';

describe('temp names', () => {
  it('are t<random>.<host>.<pid>, which the core classifies as temp files', () => {
    const name = newTempName('mail-1.example.org', 4242);
    expect(name).toMatch(/^t[A-Za-z0-9_-]{16}\.mail-1_example_org\.4242$/);
    expect(parseProtocolName(name).kind).toBe('temp');
  });

  it('differ on every call', () => {
    const seen = new Set(Array.from({ length: 1000 }, () => newTempName('h', 1)));
    expect(seen.size).toBe(1000);
  });

  it('reduce odd host names to safe characters', () => {
    expect(tempHostPart('héte/../x')).toBe('h_te____x');
    expect(tempHostPart('')).toBe('unknown');
    expect(tempHostPart('a'.repeat(300))).toHaveLength(63);
  });
});
