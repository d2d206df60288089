import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { OwnerEnvironment, OwnerInfo, PidSighting } from '@fanout/core';
import { makeOwnerProbe as coreOwnerProbe, encodeOwnerTag, parseOwnerTag } from '@fanout/core/internal';
import { hasLinuxProc, linuxOwnerEnvironment, pidNamespace, processStartTime } from './linux-owner.js';
import { posixImplementation } from './posix-implementation.js';

const makeOwnerProbe = (env: OwnerEnvironment) => coreOwnerProbe(env.self, env.lookup);
const local = linuxOwnerEnvironment();
const localOwner = () => local.self;
const localOwnerProbe = makeOwnerProbe(local);

const linux = processStartTime(process.pid) !== undefined;

describe('the Linux owner probe on this machine', () => {
  it('describes this process with host, pid and (on Linux) boot id, pid namespace and start time', () => {
    const me = localOwner();
    expect(me.host).toBe(hostname());
    expect(me.pid).toBe(process.pid);
    if (linux) {
      expect(me.bootId).toMatch(/^[0-9a-f-]{36}$/);
      expect(me.pidNamespace).toMatch(/^[1-9][0-9]*$/);
      expect(me.startTime).toMatch(/^\d+$/);
    }
  });

  it.runIf(linux)(
    'says this very process is alive (as a record and as a tag) and an owner on another host is unknown',
    async () => {
      expect(await localOwnerProbe(localOwner())).toBe('alive');
      expect(await localOwnerProbe(parseOwnerTag(encodeOwnerTag(localOwner()))!)).toBe('alive');
      expect(await localOwnerProbe({ ...localOwner(), host: `${hostname()}-elsewhere` })).toBe('unknown');
    },
  );

  it.runIf(linux)(
    'says a process of this namespace that has exited is dead, and an old record without namespace unknown',
    async () => {
      const child = spawn(process.execPath, ['-e', '0']);
      const pid = child.pid!;
      await once(child, 'exit');
      expect(await localOwnerProbe({ ...localOwner(), pid, startTime: '' })).toBe('dead');
      expect(await localOwnerProbe(parseOwnerTag(encodeOwnerTag({ ...localOwner(), pid, startTime: '' }))!)).toBe(
        'dead',
      );
      // Host and pid alone (a record from before pid namespaces were recorded) prove nothing.
      expect(await localOwnerProbe({ host: hostname(), bootId: '', pidNamespace: '', pid, startTime: '' })).toBe(
        'unknown',
      );
      expect(await localOwnerProbe({ ...localOwner(), pidNamespace: '', pid, startTime: '' })).toBe('unknown');
    },
  );

  it.runIf(linux)(
    'says a live process of this namespace is alive with its start time, dead with another, unknown without',
    async () => {
      const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)']);
      try {
        await once(child, 'spawn');
        const start = processStartTime(child.pid!)!;
        const owner = { ...localOwner(), pid: child.pid!, startTime: start };
        expect(await localOwnerProbe(owner)).toBe('alive');
        expect(await localOwnerProbe({ ...owner, startTime: String(Number(start) + 1) })).toBe('dead');
        expect(await localOwnerProbe({ ...owner, startTime: '' })).toBe('unknown');
        expect(await localOwnerProbe({ ...owner, pidNamespace: '1' })).toBe('unknown');
      } finally {
        child.kill();
      }
    },
  );
});

describe('the owner probe over an injected environment', () => {
  const self: OwnerInfo = { host: 'h', bootId: 'b', pidNamespace: '4026531836', pid: 100, startTime: '50' };
  const sees =
    (procs: Record<number, string>) =>
    (pid: number): PidSighting =>
      pid in procs ? { state: 'present', startTime: procs[pid]! } : { state: 'absent' };
  const probe = makeOwnerProbe({ self, lookup: sees({ 1: '1', 7: '200' }) });
  const owner = (o: Partial<OwnerInfo>): OwnerInfo => ({ ...self, pid: 7, startTime: '200', ...o });

  it('says a live process in another pid namespace (or an unknown one) is unknown, never dead', async () => {
    expect(await probe(owner({ pidNamespace: '4026532179' }))).toBe('unknown');
    expect(await probe(owner({ pidNamespace: '4026532179', pid: 1, startTime: '9' }))).toBe('unknown');
    expect(await probe(owner({ pidNamespace: '4026532179', pid: 12345 }))).toBe('unknown');
    expect(await probe(owner({ pidNamespace: '' }))).toBe('unknown');
    expect(await makeOwnerProbe({ self: { ...self, pidNamespace: '' }, lookup: sees({}) })(owner({}))).toBe('unknown');
  });

  it('says a reused pid (same pid, other start time) is dead, the same start time alive, an unknown one unknown', async () => {
    expect(await probe(owner({ startTime: '100' }))).toBe('dead');
    expect(await probe(owner({ startTime: '200' }))).toBe('alive');
    expect(await probe(owner({ startTime: '' }))).toBe('unknown');
    expect(await makeOwnerProbe({ self, lookup: () => ({ state: 'present', startTime: '' }) })(owner({}))).toBe(
      'unknown',
    );
  });

  it('says an owner from an earlier boot of this host is dead, and from an unknown boot unknown', async () => {
    expect(await probe(owner({ bootId: 'before' }))).toBe('dead');
    expect(await probe(owner({ bootId: '' }))).toBe('unknown');
  });

  it('says a pid with no process in this namespace is dead', async () => {
    expect(await probe(owner({ pid: 8 }))).toBe('dead');
  });

  it('says an owner on another host is unknown, whatever its name shares with ours', async () => {
    expect(await probe(owner({ host: 'h2' }))).toBe('unknown');
    expect(await probe(parseOwnerTag(encodeOwnerTag(owner({ host: 'h2', pid: 8 })))!)).toBe('unknown');
  });
});

describe('what the probe reads from /proc (a fake /proc tree)', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'fanout-proc-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  /** A /proc whose own pid namespace is `ns` and whose `self` is pid `pid`, listing `nspid` in `NSpid:`. */
  function fakeProc(o: {
    pid: number;
    ns?: string;
    nspid?: string;
    timens?: string;
    procs: Record<number, { state?: string; start: string; comm?: string }>;
  }) {
    mkdirSync(join(root, 'sys/kernel/random'), { recursive: true });
    writeFileSync(join(root, 'sys/kernel/random/boot_id'), '11111111-2222-3333-4444-555555555555\n');
    mkdirSync(join(root, 'self/ns'), { recursive: true });
    if (o.ns !== undefined) symlinkSync(`pid:[${o.ns}]`, join(root, 'self/ns/pid'));
    writeFileSync(
      join(root, 'self/status'),
      `Name:\tnode\nPid:\t${o.pid}\n${o.nspid === undefined ? '' : `NSpid:\t${o.nspid}\n`}`,
    );
    if (o.timens !== undefined) writeFileSync(join(root, 'self/timens_offsets'), o.timens);
    for (const [pid, p] of Object.entries(o.procs)) {
      mkdirSync(join(root, pid), { recursive: true });
      const fields = [p.state ?? 'S', ...Array.from({ length: 18 }, (_, i) => String(i + 4)), p.start, '0', '0'];
      writeFileSync(join(root, pid, 'stat'), `${pid} (${p.comm ?? 'node'}) ${fields.join(' ')}\n`);
    }
    const selfStat = o.procs[o.pid];
    if (selfStat) {
      const fields = [selfStat.state ?? 'S', ...Array.from({ length: 18 }, (_, i) => String(i + 4)), selfStat.start];
      writeFileSync(join(root, 'self/stat'), `${o.pid} (node) ${fields.join(' ')}\n`);
    }
  }

  const env = (pidExists: (pid: number) => boolean = () => false) =>
    linuxOwnerEnvironment({ procRoot: root, pid: 10, host: 'h', pidExists });

  it('reads boot id, pid namespace and start time of this process', () => {
    fakeProc({ pid: 10, ns: '4026532179', nspid: '10', procs: { 10: { start: '4242' } } });
    expect(pidNamespace(root)).toBe('4026532179');
    expect(env().self).toEqual({
      host: 'h',
      bootId: '11111111-2222-3333-4444-555555555555',
      pidNamespace: '4026532179',
      pid: 10,
      startTime: '4242',
    });
  });

  it('counts the start time after the last ) of a command name with spaces and parentheses', async () => {
    fakeProc({
      pid: 10,
      ns: '5',
      nspid: '10',
      procs: { 10: { start: '4242' }, 20: { start: '777', comm: 'a) b (c' } },
    });
    expect(await env().lookup(20)).toEqual({ state: 'present', startTime: '777' });
  });

  it('says a zombie is absent (dead), a pid without /proc entry absent only when kill(pid, 0) agrees', async () => {
    fakeProc({ pid: 10, ns: '5', nspid: '10', procs: { 10: { start: '1' }, 20: { start: '2', state: 'Z' } } });
    expect(await env().lookup(20)).toEqual({ state: 'absent' });
    expect(await env(() => false).lookup(30)).toEqual({ state: 'absent' });
    // hidepid: another user's process has no /proc entry for us, but it exists.
    expect(await env((pid) => pid === 30).lookup(30)).toEqual({ state: 'present', startTime: '' });
    const probe = makeOwnerProbe(env((pid) => pid === 30));
    const { self } = env();
    expect(await probe({ ...self, pid: 30, startTime: '3' })).toBe('unknown');
    expect(await probe({ ...self, pid: 31, startTime: '3' })).toBe('dead');
  });

  it('looks nothing up in a /proc of another pid namespace (the host /proc in a container, unshare without --mount-proc)', async () => {
    fakeProc({ pid: 10, ns: '5', nspid: '4711 10', procs: { 10: { start: '1' }, 20: { start: '2' } } });
    const e = env();
    expect(await e.lookup(20)).toEqual({ state: 'unknown' });
    expect(await e.lookup(21)).toEqual({ state: 'unknown' });
    expect(await makeOwnerProbe(e)({ ...e.self, pid: 21, startTime: '2' })).toBe('unknown');
  });

  it('without NSpid (kernels before 4.1), trusts /proc only when /proc/self is this pid', async () => {
    fakeProc({ pid: 10, ns: '5', procs: { 20: { start: '2' } } });
    expect(await env().lookup(20)).toEqual({ state: 'unknown' });
    rmSync(join(root, 'self'), { recursive: true });
    mkdirSync(join(root, '10/ns'), { recursive: true });
    symlinkSync('pid:[5]', join(root, '10/ns/pid'));
    writeFileSync(join(root, '10/status'), 'Name:\tnode\n');
    symlinkSync('10', join(root, 'self'));
    expect(await env().lookup(20)).toEqual({ state: 'present', startTime: '2' });
  });

  it('knows no pid namespace when /proc/self/ns/pid cannot be read: then nothing is ever dead', async () => {
    fakeProc({ pid: 10, nspid: '10', procs: { 10: { start: '1' } } });
    const e = env();
    expect(e.self.pidNamespace).toBe('');
    expect(await makeOwnerProbe(e)({ ...e.self, pidNamespace: '5', pid: 21, startTime: '2' })).toBe('unknown');
  });

  it('compares no start times from inside a time namespace with a boot-time offset', async () => {
    fakeProc({
      pid: 10,
      ns: '5',
      nspid: '10',
      timens: 'monotonic 0 0\nboottime 3600 0\n',
      procs: { 10: { start: '1' }, 20: { start: '2' } },
    });
    const e = env();
    expect(e.self.startTime).toBe('');
    expect(await e.lookup(20)).toEqual({ state: 'present', startTime: '' });
    expect(await makeOwnerProbe(e)({ ...e.self, pid: 20, startTime: '3' })).toBe('unknown');
    expect(await makeOwnerProbe(e)({ ...e.self, pid: 21, startTime: '3' })).toBe('dead');
  });
});

describe('the owner environment the posix backend supplies', () => {
  it.runIf(linux)('is the /proc one on Linux, so the core can tell a dead pid of this boot', async () => {
    const env = posixImplementation.ownerEnvironment?.();
    expect(env?.self).toEqual(localOwner());
    const child = spawn(process.execPath, ['-e', '0']);
    await once(child, 'exit');
    expect(await makeOwnerProbe(env!)({ ...localOwner(), pid: child.pid!, startTime: '1' })).toBe('dead');
  });

  it('is none where there is no /proc to read', () => {
    expect(hasLinuxProc(join(tmpdir(), 'no-such-proc'))).toBe(false);
  });
});
