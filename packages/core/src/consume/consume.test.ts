import { describe, expect, it } from 'vitest';
import type { SpoolBackend, SpoolEntry } from '../backend/spool-backend.js';
import { FanoutError } from '../errors/fanout-error.js';
import type { OwnerInfo, OwnerProbe } from '../owner/owner.js';
import { makeOwnerProbe, type PidSighting } from '../owner/owner-liveness.js';
import { encodeOwnerTag, parseOwnerTag } from '../owner/owner-tag.js';
import { consumerName, releaseStaleClaims } from './consume.js';

/** A spool of plain files, each its own file (one name each); publish and rename without clobbering. */
function spoolOf(names: string[]): SpoolBackend & { names(): string[] } {
  const files = new Set(names);
  const move = async (from: string, to: string) => {
    if (!files.has(from)) throw new FanoutError('ENOENT', 'gone');
    if (files.has(to)) throw new FanoutError('EEXIST', 'exists');
    files.delete(from);
    files.add(to);
  };
  return {
    location: 'test://dest',
    async *list(): AsyncIterable<SpoolEntry> {
      for (const name of [...files]) yield { name, kind: 'file' };
    },
    publish: move,
    rename: move,
    async stat(name: string) {
      return files.has(name) ? { kind: 'file', size: 0, mtimeMs: 0, fileId: name, nlink: 1 } : undefined;
    },
    async syncDir() {},
    names: () => [...files].sort(),
  } as unknown as SpoolBackend & { names(): string[] };
}

const self: OwnerInfo = {
  host: 'worker-pool-1a2b3c4d-aaaa',
  bootId: 'boot-A',
  pidNamespace: '4026531836',
  pid: 100,
  startTime: '5000',
};
const probe: OwnerProbe = makeOwnerProbe(self, (pid): PidSighting =>
  pid === 100
    ? { state: 'present', startTime: '5000' }
    : pid === 200
      ? { state: 'present', startTime: '300' }
      : { state: 'absent' },
);

describe('consumer names', () => {
  it('are the exact owner tag of the consuming process', () => {
    expect(consumerName(self)).toBe(encodeOwnerTag(self));
    expect(parseOwnerTag(consumerName(self))).toMatchObject({
      pid: 100,
      pidNamespace: '4026531836',
      startTime: '5000',
    });
    expect(parseOwnerTag(consumerName())?.pid).toBe(process.pid);
  });
});

describe('releaseStaleClaims', () => {
  it('releases only the claims whose holder is dead by the one rule', async () => {
    const claim = (id: string, o: Partial<OwnerInfo>) => `c${id}.${consumerName({ ...self, ...o })}`;
    const spool = spoolOf([
      claim('1', {}), // us
      claim('2', { pid: 200, startTime: '300' }), // a live consumer
      claim('3', { pid: 201, startTime: '301' }), // pid gone: dead
      claim('4', { pid: 200, startTime: '299' }), // pid reused: dead
      claim('5', { bootId: 'boot-B' }), // an earlier boot: dead
      claim('6', { pidNamespace: '4026532179', pid: 201 }), // a live consumer in a container: unknown
      claim('7', { host: 'worker-pool-1a2b3c4d-bbbb', pid: 201 }), // another host with the same 24-character prefix
      claim('8', { startTime: '', pid: 200 }), // start time unknown: unknown
      'c9.workerpool1a2b3c4daaaa-201', // the old <hostTag>-<pid>: not a tag, never released
      'd10',
    ]);
    expect(await releaseStaleClaims(spool, probe, self)).toBe(3);
    expect(spool.names()).toEqual(
      [
        claim('1', {}),
        claim('2', { pid: 200, startTime: '300' }),
        claim('6', { pidNamespace: '4026532179', pid: 201 }),
        claim('7', { host: 'worker-pool-1a2b3c4d-bbbb', pid: 201 }),
        claim('8', { startTime: '', pid: 200 }),
        'c9.workerpool1a2b3c4daaaa-201',
        'd10',
        'd3',
        'd4',
        'd5',
      ].sort(),
    );
  });

  it("never releases another host's claim, whatever the probe says", async () => {
    const spool = spoolOf([`c1.${consumerName({ ...self, host: 'elsewhere' })}`]);
    expect(await releaseStaleClaims(spool, async () => 'dead', self)).toBe(0);
  });
});
