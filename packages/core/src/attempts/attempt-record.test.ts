import { describe, expect, it } from 'vitest';
import { runMachine } from '../protocol/executor.js';
import { stubSpool } from '../queue/stub-spool.test-helper.js';
import {
  clearAttempts,
  countAttempt,
  currentOf,
  decodeAttemptRecord,
  encodeAttemptRecord,
  readAttempts,
} from './attempt-record.js';

const error = { code: 'ETRANSFORM', message: 'transform failed: bad' };

describe('attempt records', () => {
  it('round-trip, and a torn, edited or foreign record counts as none', () => {
    const text = encodeAttemptRecord({ id: 'M1', count: 3, lastError: error, atMs: 5 });
    expect(decodeAttemptRecord(text, 'M1')).toEqual({ id: 'M1', count: 3, lastError: error, atMs: 5 });
    expect(decodeAttemptRecord(text.slice(0, 20), 'M1')).toBeUndefined();
    expect(decodeAttemptRecord(text.replace('"count":3', '"count":1'), 'M1')).toBeUndefined();
    expect(decodeAttemptRecord(text, 'M2')).toBeUndefined();
  });

  it('the slot with the higher count is current', () => {
    const r = (count: number) => encodeAttemptRecord({ id: 'M', count, lastError: error, atMs: count });
    expect(currentOf('M', [r(2), r(3)])).toMatchObject({ slot: 1, record: { count: 3 } });
    expect(currentOf('M', [r(4), 'torn'])).toMatchObject({ slot: 0, record: { count: 4 } });
    expect(currentOf('M', [undefined, undefined])).toEqual({ record: undefined, slot: undefined });
  });

  it('counting writes the slot that is not current, so the current count is never removed first', async () => {
    const spool = stubSpool();
    let n = 0;
    const count = () => runMachine(countAttempt('A', spool, 'M', error, 10, `t${++n}`));
    expect(await count()).toBe(1);
    expect(spool.names()).toEqual(['aM.0']);
    expect(await count()).toBe(2);
    expect(spool.names()).toEqual(['aM.0', 'aM.1']);
    expect(await count()).toBe(3);
    // slot 0 (count 1) was replaced; slot 1 (count 2) stayed all along
    expect(decodeAttemptRecord(spool.text('aM.0')!, 'M')?.count).toBe(3);
    expect((await runMachine(readAttempts('A', spool, 'M'))).record?.count).toBe(3);
    expect(await runMachine(clearAttempts('Q', spool, 'M'))).toBe(true);
    expect(spool.names()).toEqual([]);
  });
});
