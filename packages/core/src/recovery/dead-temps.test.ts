import { describe, expect, it } from 'vitest';
import type { EntryStat, SpoolBackend, SpoolEntry } from '../backend/spool-backend.js';
import type { FanoutEvent } from '../events/events.js';
import type { OwnerInfo, OwnerProbe } from '../owner/owner.js';
import { makeOwnerProbe, type PidSighting } from '../owner/owner-liveness.js';
import { tempName } from '../spool/temp-name.js';
import { removeDeadTemps } from './dead-temps.js';

const HOUR = 3600 * 1000;
const NOW = 1_000 * HOUR;
const STALE = 36 * HOUR;

/** A spool of plain files with given ages; only what removeDeadTemps uses. */
function spoolOf(files: Record<string, number>): SpoolBackend & { names(): string[] } {
  const ages = new Map(Object.entries(files));
  return {
    location: 'test://spool',
    async *list(): AsyncIterable<SpoolEntry> {
      for (const name of [...ages.keys()]) yield { name, kind: 'file' };
    },
    async stat(name: string): Promise<EntryStat | undefined> {
      const age = ages.get(name);
      return age === undefined ? undefined : { kind: 'file', size: 1, mtimeMs: NOW - age, fileId: undefined, nlink: 1 };
    },
    async remove(name: string) {
      return ages.delete(name);
    },
    names: () => [...ages.keys()].sort(),
  } as unknown as SpoolBackend & { names(): string[] };
}

const self: OwnerInfo = { host: 'mail-1', bootId: 'boot-A', pidNamespace: '4026531836', pid: 100, startTime: '5000' };
/** This host sees pid 100 (us) and pid 200 (a live writer started at 300). */
const probe: OwnerProbe = makeOwnerProbe(self, (pid): PidSighting =>
  pid === 100
    ? { state: 'present', startTime: '5000' }
    : pid === 200
      ? { state: 'present', startTime: '300' }
      : { state: 'absent' },
);

describe('removeDeadTemps (R6)', () => {
  it('removes a temp of a provably dead writer at once, keeps a live writer’s however old, and an unknown one until it is stale', async () => {
    const live = tempName({ ...self, pid: 200, startTime: '300' });
    const liveOld = tempName({ ...self, pid: 200, startTime: '300' });
    const mine = tempName(self);
    const gone = tempName({ ...self, pid: 201, startTime: '301' });
    const reused = tempName({ ...self, pid: 200, startTime: '299' });
    const otherBoot = tempName({ ...self, bootId: 'boot-B', pid: 200, startTime: '300' });
    const otherNs = tempName({ ...self, pidNamespace: '4026532179', pid: 201 });
    const otherNsOld = tempName({ ...self, pidNamespace: '4026532179', pid: 201 });
    const otherHost = tempName({ ...self, host: 'mail-1-b', pid: 201 });
    const otherHostOld = tempName({ ...self, host: 'mail-1-b', pid: 201 });
    const spool = spoolOf({
      [live]: 0,
      [liveOld]: 100 * HOUR,
      [mine]: 100 * HOUR,
      [gone]: 0,
      [reused]: 0,
      [otherBoot]: 0,
      [otherNs]: 1 * HOUR,
      [otherNsOld]: 37 * HOUR,
      [otherHost]: 1 * HOUR,
      [otherHostOld]: 37 * HOUR,
    });
    const events: FanoutEvent[] = [];
    const removed = await removeDeadTemps(spool, probe, STALE, NOW, (e) => events.push(e));
    expect(spool.names()).toEqual([live, liveOld, mine, otherNs, otherHost].sort());
    expect(removed).toBe(5);
    expect(events.filter((e) => e.type === 'temp-removed')).toHaveLength(5);
  });

  it('never touches a t… name that is not exactly a temp, however old, whatever the probe says', async () => {
    const old = 1000 * HOUR;
    const spool = spoolOf({
      'todo.txt': old,
      tags: old,
      'test.log': old,
      't01ABC.999999.deadhost': old,
      [`t${tempName(self).slice(1, 27)}.4242.mail1`]: old,
    });
    expect(await removeDeadTemps(spool, async () => 'dead', STALE, NOW)).toBe(0);
    expect(spool.names()).toHaveLength(5);
  });
});
