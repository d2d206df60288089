import { describe, expect, it } from 'vitest';
import { levelOf, withEnvelope } from './json-lines.js';

describe('withEnvelope', () => {
  it('puts ts and level first, by the type of the line', () => {
    const at = new Date('2026-01-02T03:04:05.678Z');
    const line = withEnvelope({ type: 'route-down', route: 'main' }, at);
    expect(line).toEqual({ ts: '2026-01-02T03:04:05.678Z', level: 'error', type: 'route-down', route: 'main' });
    expect(Object.keys(line as object).slice(0, 2)).toEqual(['ts', 'level']);
    expect(withEnvelope({ type: 'error', level: 'fatal' }, at)).toMatchObject({ level: 'fatal' });
  });

  it('gives info to commits, summaries and anything unknown', () => {
    expect(levelOf({ type: 'message-committed' })).toBe('info');
    expect(levelOf({ type: 'summary' })).toBe('info');
    expect(levelOf({ location: '/S' })).toBe('info');
    expect(levelOf({ type: 'message-failed' })).toBe('error');
    expect(levelOf({ type: 'unknown-entry' })).toBe('warn');
  });
});
