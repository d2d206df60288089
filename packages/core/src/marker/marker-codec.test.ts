import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { FanoutError } from '../errors/fanout-error.js';
import {
  decodeMarker,
  encodeMarker,
  MAX_BATCH_RECORD_IDS,
  MAX_MARKER_BYTES,
  type MarkerRecord,
} from './marker-codec.js';

const record: MarkerRecord = {
  tx: '0000000000000000000000TX10',
  ids: ['A1', 'A2', 'A3'],
  protocol: 'staged',
  source: { uuid: '00000000-0000-4000-8000-000000000001', location: '/spool/S' },
  destinations: [{ uuid: '00000000-0000-4000-8000-000000000002', location: '/spool/D' }],
  owner: { host: 'h', bootId: 'b', pidNamespace: '', pid: 42, startTime: 's' },
  createdMs: Date.UTC(2026, 10, 29),
  leaseUntilMs: Date.UTC(2026, 10, 29) + 600_000,
};

function codeOf(action: () => unknown): string | undefined {
  try {
    action();
  } catch (err) {
    return err instanceof FanoutError ? err.code : 'not a FanoutError';
  }
  return undefined;
}

/** Re-seal a hand-edited record with a valid checksum. */
function sealed(t: string): string {
  const body = t.slice(0, t.lastIndexOf('sha256: '));
  return `${body}sha256: ${createHash('sha256').update(body).digest('hex')}\n`;
}

describe('attempt records', () => {
  const text = encodeMarker(record);

  it('list the attempt and its ids, and read back as they were written', () => {
    expect(text).toContain('\ntx: 0000000000000000000000TX10\nids: A1 A2 A3\n');
    expect(decodeMarker(text)).toEqual(record);
    expect(decodeMarker(text, { tx: '0000000000000000000000TX10' })).toEqual(record);
  });

  it('are EFOREIGN when read under the name of another attempt', () => {
    expect(codeOf(() => decodeMarker(text, { tx: '0000000000000000000000TX20' }))).toBe('EFOREIGN');
  });

  it('refuse duplicate, invalid or too many ids, and a missing ids line (ECORRUPT)', () => {
    expect(codeOf(() => decodeMarker(sealed(text.replace('ids: A1 A2 A3\n', 'ids: A1 A1\n'))))).toBe('ECORRUPT');
    expect(codeOf(() => decodeMarker(sealed(text.replace('ids: A1 A2 A3\n', 'ids: A1 bad/id\n'))))).toBe('ECORRUPT');
    expect(codeOf(() => decodeMarker(sealed(text.replace('ids: A1 A2 A3\n', ''))))).toBe('ECORRUPT');
    const many = Array.from({ length: MAX_BATCH_RECORD_IDS + 1 }, (_, i) => `M${i}`);
    expect(codeOf(() => decodeMarker(encodeMarker({ ...record, ids: many })))).toBe('ECORRUPT');
  });

  it('refuse a torn, edited or older-format record (ECORRUPT)', () => {
    expect(codeOf(() => decodeMarker(text.slice(0, 40)))).toBe('ECORRUPT');
    expect(codeOf(() => decodeMarker(text.replace('0000000000000000000000TX10', '0000000000000000000000TX90')))).toBe(
      'ECORRUPT',
    );
    expect(codeOf(() => decodeMarker(sealed(text.replace('fanout-marker 2', 'fanout-marker 1'))))).toBe('ECORRUPT');
    expect(codeOf(() => decodeMarker(''))).toBe('ECORRUPT');
  });

  it('fit the largest batch of the longest ids within the size limit', () => {
    const ids = Array.from({ length: MAX_BATCH_RECORD_IDS }, (_, i) => `${i}`.padStart(128, 'x'));
    expect(Buffer.byteLength(encodeMarker({ ...record, ids }))).toBeLessThan(MAX_MARKER_BYTES);
  });
});
