import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { FanoutError } from '../errors/fanout-error.js';
import { decodeMarker, encodeMarker, MAX_BATCH_RECORD_IDS, MAX_MARKER_BYTES, type MarkerRecord } from './marker-codec.js';

const record: MarkerRecord = {
  id: 'A1',
  tx: 'TX1',
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

describe('batch marker records', () => {
  const batch = { ...record, batch: ['A1', 'A2', 'A3'] };
  const text = encodeMarker(batch);

  it('list the ids instead of one id, and read back as the marker of the id they are linked as', () => {
    expect(text).toContain('\nids: A1 A2 A3\n');
    expect(text).not.toContain('\nid: ');
    expect(decodeMarker(text, { id: 'A2' })).toEqual({ ...batch, id: 'A2' });
  });

  it('are EFOREIGN when read as the marker of an id they do not list', () => {
    expect(codeOf(() => decodeMarker(text, { id: 'B9' }))).toBe('EFOREIGN');
  });

  it('cannot be read without the id (ECORRUPT), nor with both id and ids, duplicate or too many ids', () => {
    expect(codeOf(() => decodeMarker(text))).toBe('ECORRUPT');
    const forge = (body: string) => encodeMarker(record).replace('id: A1\n', body);
    // The checksum covers the body: re-encode by hand.
    const sealed = (t: string) => {
      const body = t.slice(0, t.lastIndexOf('sha256: '));
      return `${body}sha256: ${createHash('sha256').update(body).digest('hex')}\n`;
    };
    expect(codeOf(() => decodeMarker(sealed(forge('id: A1\nids: A1 A2\n')), { id: 'A1' }))).toBe('ECORRUPT');
    expect(codeOf(() => decodeMarker(sealed(forge('ids: A1 A1\n')), { id: 'A1' }))).toBe('ECORRUPT');
    expect(codeOf(() => decodeMarker(sealed(forge('ids: A1 bad/id\n')), { id: 'A1' }))).toBe('ECORRUPT');
    const many = Array.from({ length: MAX_BATCH_RECORD_IDS + 1 }, (_, i) => `M${i}`);
    expect(codeOf(() => decodeMarker(encodeMarker({ ...record, id: 'M0', batch: many }), { id: 'M0' }))).toBe('ECORRUPT');
  });

  it('fit the largest batch of the longest ids within the marker size limit', () => {
    const ids = Array.from({ length: MAX_BATCH_RECORD_IDS }, (_, i) => `${i}`.padStart(128, 'x'));
    expect(Buffer.byteLength(encodeMarker({ ...record, id: ids[0]!, batch: ids }))).toBeLessThan(MAX_MARKER_BYTES);
  });

  it('leave a one-message record as it was: read with or without its id', () => {
    const one = encodeMarker(record);
    expect(decodeMarker(one)).toEqual(record);
    expect(decodeMarker(one, { id: 'A1' })).toEqual(record);
  });
});
