import { hostname } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { defaultOwner, defaultOwnerProbe, type OwnerInfo, processOwner, setProcessOwner } from './owner.js';
import { ownerLiveness, type PidLookup, type PidSighting } from './owner-liveness.js';
import { encodeOwnerTag, parseOwnerTag } from './owner-tag.js';

const self: OwnerInfo = { host: 'mail-1', bootId: 'boot-A', pidNamespace: '4026531836', pid: 100, startTime: '5000' };

/** A lookup that sees exactly `procs` (pid → start time) and records what it was asked. */
function sees(procs: Record<number, string>): PidLookup & { asked: number[] } {
  const asked: number[] = [];
  const lookup = (pid: number): PidSighting => {
    asked.push(pid);
    return pid in procs ? { state: 'present', startTime: procs[pid]! } : { state: 'absent' };
  };
  return Object.assign(lookup, { asked });
}

const other = (o: Partial<OwnerInfo>): OwnerInfo => ({ ...self, pid: 7, startTime: '900', ...o });

/** The rule on the full record and on its owner tag (what a file name carries) must agree. */
async function both(owner: OwnerInfo, lookup: PidLookup, me: OwnerInfo = self) {
  const full = await ownerLiveness(owner, lookup, me);
  const tagged = await ownerLiveness(parseOwnerTag(encodeOwnerTag(owner))!, lookup, me);
  expect(tagged, 'the tag says what the record says').toBe(full);
  return full;
}

describe('the one liveness rule', () => {
  it('another host → unknown, without looking (even a host name that shares a long prefix)', async () => {
    const lookup = sees({});
    expect(await both(other({ host: 'mail-2' }), lookup)).toBe('unknown');
    expect(await both(other({ host: 'mail-1-and-more' }), lookup)).toBe('unknown');
    expect(lookup.asked).toEqual([]);
  });

  it('same host, both boot ids known and different → dead', async () => {
    expect(await both(other({ bootId: 'boot-B' }), sees({ 7: '900' }))).toBe('dead');
  });

  it('a boot id unknown on either side → unknown', async () => {
    expect(await both(other({ bootId: '' }), sees({}))).toBe('unknown');
    expect(await both(other({}), sees({}), { ...self, bootId: '' })).toBe('unknown');
  });

  it('same boot, pid namespace different or unknown on either side → unknown (never dead for a process it cannot see)', async () => {
    const lookup = sees({});
    expect(await both(other({ pidNamespace: '4026532179' }), lookup)).toBe('unknown');
    expect(await both(other({ pidNamespace: '' }), lookup)).toBe('unknown');
    expect(await both(other({}), lookup, { ...self, pidNamespace: '' })).toBe('unknown');
    // The live container's pid 1 is not our pid 1.
    expect(await both(other({ pidNamespace: '4026532179', pid: 1 }), sees({ 1: '1' }))).toBe('unknown');
    expect(lookup.asked).toEqual([]);
  });

  it('same namespace: no such pid → dead', async () => {
    expect(await both(other({}), sees({}))).toBe('dead');
    expect(await both(other({ startTime: '' }), sees({}))).toBe('dead');
  });

  it('same namespace: the pid with another start time (reused) → dead', async () => {
    expect(await both(other({ startTime: '900' }), sees({ 7: '901' }))).toBe('dead');
  });

  it('same namespace: the pid, start time unknown on either side → unknown', async () => {
    expect(await both(other({ startTime: '' }), sees({ 7: '901' }))).toBe('unknown');
    expect(await both(other({ startTime: '900' }), sees({ 7: '' }))).toBe('unknown');
  });

  it('same namespace: the pid with the same start time → alive', async () => {
    expect(await both(other({ startTime: '900' }), sees({ 7: '900' }))).toBe('alive');
    expect(await both(self, sees({ 100: '5000' }))).toBe('alive');
  });

  it('a lookup that cannot look → unknown', async () => {
    expect(await both(other({}), () => ({ state: 'unknown' }))).toBe('unknown');
  });

  it('this very process by its nonce → alive, whatever else is unknown; another nonce is not us', async () => {
    const me: OwnerInfo = { host: 'h', bootId: '', pidNamespace: '', pid: 100, startTime: 'n0123456789abcdev' };
    expect(await both(me, sees({}), me)).toBe('alive');
    expect(await both({ ...me, startTime: 'n0123456789abcdeu' }, sees({}), me)).toBe('unknown');
    expect(await both({ ...me, pid: 101 }, sees({}), me)).toBe('unknown');
    expect(await both({ ...me, host: 'g' }, sees({}), me)).toBe('unknown');
  });
});

describe("the core's default probe", () => {
  afterEach(() => setProcessOwner(undefined));

  it('says alive for this very process and unknown for everybody else (it cannot see /proc)', async () => {
    const me = defaultOwner();
    expect(me).toMatchObject({ host: hostname(), bootId: '', pidNamespace: '', pid: process.pid });
    expect(me.startTime).toMatch(/^n[0-9a-v]{16}$/);
    expect(await defaultOwnerProbe(me)).toBe('alive');
    expect(await defaultOwnerProbe(parseOwnerTag(encodeOwnerTag(me))!)).toBe('alive');
    // Same host and pid but no nonce (another pid namespace's pid, a worker thread, an old record): not provably us.
    expect(await defaultOwnerProbe({ ...me, startTime: '' })).toBe('unknown');
    expect(await defaultOwnerProbe({ ...me, startTime: 'n0000000000000000' })).toBe('unknown');
    // A pid that surely does not exist here: still not 'dead', the owner may be in another pid namespace.
    expect(await defaultOwnerProbe({ ...me, pid: 2 ** 22 + 1, startTime: '' })).toBe('unknown');
    expect(await defaultOwnerProbe({ ...me, host: `${hostname()}-elsewhere` })).toBe('unknown');
  });

  it('with a declared full identity, proves a pid of its own namespace gone by kill(pid, 0)', async () => {
    const me: OwnerInfo = {
      host: hostname(),
      bootId: 'boot-A',
      pidNamespace: '4026531836',
      pid: process.pid,
      startTime: '5000',
    };
    setProcessOwner(me);
    expect(processOwner()).toBe(me);
    expect(await defaultOwnerProbe(me)).toBe('alive');
    expect(await defaultOwnerProbe({ ...me, pid: 2 ** 22 + 1 })).toBe('dead');
    // A present pid whose start time kill() cannot tell.
    expect(await defaultOwnerProbe({ ...me, pid: process.ppid || 1 })).toBe('unknown');
    expect(await defaultOwnerProbe({ ...me, pid: 2 ** 22 + 1, pidNamespace: '4026532179' })).toBe('unknown');
  });

  it('refuses to declare another process as this one', () => {
    expect(() => setProcessOwner({ ...defaultOwner(), pid: process.pid + 1 })).toThrow(RangeError);
  });
});
