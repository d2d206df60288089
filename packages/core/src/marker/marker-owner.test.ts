import { describe, expect, it } from 'vitest';
import { decodeMarker, encodeMarker, type MarkerRecord } from './marker-codec.js';
import { createHash } from 'node:crypto';

const record: MarkerRecord = {
  ids: ['A1'],
  tx: '0000000000000000000000TX10',
  protocol: 'staged',
  source: { uuid: '00000000-0000-4000-8000-000000000001', location: '/spool/S' },
  destinations: [{ uuid: '00000000-0000-4000-8000-000000000002', location: '/spool/D' }],
  owner: { host: 'h', bootId: 'b', pidNamespace: '4026531836', pid: 42, startTime: '77' },
  createdMs: Date.UTC(2026, 10, 29),
  leaseUntilMs: Date.UTC(2026, 10, 29) + 600_000,
};

describe("the marker's owner line", () => {
  it('records the pid namespace', () => {
    const text = encodeMarker(record);
    expect(text).toContain('\nowner: host="h" boot="b" pid=42 start="77" pidns="4026531836"\n');
    expect(decodeMarker(text).owner).toEqual(record.owner);
  });

  it('reads a marker written without pidns (before it existed) as pid namespace unknown', () => {
    const body = encodeMarker(record).replace(' pidns="4026531836"', '');
    const cut = body.slice(0, body.lastIndexOf('sha256: '));
    const old = `${cut}sha256: ${createHash('sha256').update(cut).digest('hex')}\n`;
    expect(decodeMarker(old).owner).toEqual({ ...record.owner, pidNamespace: '' });
  });
});
