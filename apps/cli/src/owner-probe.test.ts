import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { localOwner, localOwnerProbe, makeOwnerProbe, processStartTime } from './owner-probe.js';

const linux = processStartTime(process.pid) !== undefined;

describe('owner probe', () => {
  it('describes this process with host, pid and (on Linux) boot id and start time', () => {
    const me = localOwner();
    expect(me.host).toBe(hostname());
    expect(me.pid).toBe(process.pid);
    if (linux) {
      expect(me.bootId).toMatch(/^[0-9a-f-]{36}$/);
      expect(me.startTime).toMatch(/^\d+$/);
    }
  });

  it('says this very process is alive and an owner on another host is unknown', async () => {
    expect(await localOwnerProbe(localOwner())).toBe('alive');
    expect(await localOwnerProbe({ ...localOwner(), host: `${hostname()}-elsewhere` })).toBe('unknown');
  });

  it('says a process that has exited is dead', async () => {
    const child = spawn(process.execPath, ['-e', '0']);
    const pid = child.pid!;
    await once(child, 'exit');
    expect(await localOwnerProbe({ host: hostname(), bootId: '', pid, startTime: '' })).toBe('dead');
  });

  it('says a reused pid (same pid, other start time) is dead', async () => {
    const probe = makeOwnerProbe({ host: 'h', bootId: 'b', hasProc: true, startTimeOf: () => '200' });
    expect(await probe({ host: 'h', bootId: 'b', pid: 7, startTime: '100' })).toBe('dead');
    expect(await probe({ host: 'h', bootId: 'b', pid: 7, startTime: '200' })).toBe('alive');
    expect(await probe({ host: 'h', bootId: 'b', pid: 7, startTime: '' })).toBe('alive');
  });

  it('says an owner from an earlier boot of this host is dead', async () => {
    const probe = makeOwnerProbe({ host: 'h', bootId: 'now', hasProc: true, startTimeOf: () => '1' });
    expect(await probe({ host: 'h', bootId: 'before', pid: 7, startTime: '1' })).toBe('dead');
  });

  it('says a pid with no process is dead', async () => {
    const probe = makeOwnerProbe({ host: 'h', bootId: '', hasProc: true, startTimeOf: () => undefined });
    expect(await probe({ host: 'h', bootId: '', pid: 7, startTime: '' })).toBe('dead');
  });
});
