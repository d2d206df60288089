import { describe, expect, it } from 'vitest';
import { parseProtocolName, tempWriter } from '@fanout/core';
import { newTempName } from './temp-name.js';

describe('temp names', () => {
  it('are t<ULID>.<pid>.<host>, which the core classifies as temp files of that writer', () => {
    const name = newTempName('mail-1.example.org', 4242);
    expect(name).toMatch(/^t[0-9A-Z]{26}\.4242\.mail1exampleorg$/);
    const parsed = parseProtocolName(name);
    expect(parsed.kind).toBe('temp');
    expect(parsed.kind === 'temp' && tempWriter(parsed.token)).toEqual({ pid: 4242, hostTag: 'mail1exampleorg' });
  });

  it('differ on every call', () => {
    const seen = new Set(Array.from({ length: 1000 }, () => newTempName('h', 1)));
    expect(seen.size).toBe(1000);
  });

  it('reduce odd host names to safe characters', () => {
    expect(newTempName('héte/../x', 1)).toMatch(/\.1\.htex$/);
    expect(newTempName('', 1)).toMatch(/\.1\.host$/);
  });
});
