import { afterEach, describe, expect, it } from 'vitest';
import { isFanoutError } from '../errors/fanout-error.js';
import {
  defaultOwnerProbe,
  type OwnerEnvironment,
  type OwnerInfo,
  processOwner,
  setOwnerEnvironment,
} from '../owner/owner.js';
import { stubSpool } from '../queue/stub-spool.test-helper.js';
import type { BackendDescriptor, BackendImplementation, BackendOpenOptions } from './backend-descriptor.js';
import { backendFor, openSpool } from './open-spool.js';

/** A descriptor that records what was loaded and opened. */
function fake(
  name: string,
  schemes: string[],
  extra: { plainPaths?: boolean; ownerEnvironment?: () => OwnerEnvironment | undefined; fails?: Error } = {},
) {
  const log = { loads: 0, opened: [] as { location: string; options: BackendOpenOptions }[] };
  const implementation: BackendImplementation = {
    open: async (location, options) => {
      log.opened.push({ location, options });
      return stubSpool();
    },
    ...(extra.ownerEnvironment ? { ownerEnvironment: extra.ownerEnvironment } : {}),
  };
  const descriptor: BackendDescriptor = {
    name,
    schemes,
    ...(extra.plainPaths !== undefined ? { plainPaths: extra.plainPaths } : {}),
    load: async () => {
      log.loads++;
      if (extra.fails) throw extra.fails;
      return implementation;
    },
  };
  return { descriptor, log };
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

afterEach(() => setOwnerEnvironment(undefined));

describe('openSpool', () => {
  it('loads and opens only the backend whose scheme the location names', async () => {
    const posix = fake('@x/posix', ['file'], { plainPaths: true });
    const dav = fake('@x/dav', ['webdav+http', 'webdav+https']);
    const mem = fake('@x/memory', ['memory']);
    const backends = [posix.descriptor, dav.descriptor, mem.descriptor];
    await openSpool('WEBDAV+HTTPS://h/x', { backends, credentials: { username: 'u', password: 'p' } });
    expect([posix.log.loads, dav.log.loads, mem.log.loads]).toEqual([0, 1, 0]);
    expect(dav.log.opened).toEqual([
      { location: 'WEBDAV+HTTPS://h/x', options: { credentials: { username: 'u', password: 'p' } } },
    ]);
    await openSpool('relative/dir', { backends });
    await openSpool('file:///var/spool/x', { backends });
    expect(posix.log.opened.map((o) => o.location)).toEqual(['relative/dir', 'file:///var/spool/x']);
    expect(mem.log.loads).toBe(0);
  });

  it('refuses an unknown scheme with EBADURL naming the location and the schemes this application offers', async () => {
    const backends = [fake('@x/posix', ['file'], { plainPaths: true }).descriptor, fake('@x/nfs', ['nfs']).descriptor];
    const err = await rejection(openSpool('ftp://h/x', { backends }));
    expect(isFanoutError(err, 'EBADURL')).toBe(true);
    expect((err as Error).message).toBe(
      'no backend for the URL scheme "ftp:" (this application opens a path, file:, nfs:)',
    );
    expect((err as { spool: string }).spool).toBe('ftp://h/x');
    const path = await rejection(openSpool('/var/spool/x', { backends: [fake('@x/nfs', ['nfs']).descriptor] }));
    expect((path as Error).message).toBe('no backend for a plain path (this application opens nfs:)');
    expect(isFanoutError(await rejection(openSpool('', { backends })), 'EBADURL')).toBe(true);
  });

  it('refuses credentials inside a URL without echoing them', async () => {
    const dav = fake('@x/dav', ['webdav+https']);
    const err = await rejection(openSpool('webdav+https://bob:s3cret@h/x', { backends: [dav.descriptor] }));
    expect(isFanoutError(err, 'EBADURL')).toBe(true);
    expect(`${(err as Error).message} ${(err as { spool: string }).spool}`).not.toContain('s3cret');
    expect(dav.log.loads).toBe(0);
  });

  it('refuses two descriptors that claim one scheme (EUSAGE), and says which', () => {
    const a = fake('@x/a', ['nfs']).descriptor;
    const b = fake('@x/b', ['NFS']).descriptor;
    expect(() => backendFor('nfs:///m', [a, b])).toThrow(
      expect.objectContaining({ code: 'EUSAGE', message: '@x/a and @x/b both open nfs: URLs; list one of them' }),
    );
  });

  it('reports a backend that cannot be loaded as EBADURL in one line', async () => {
    const broken = fake('@x/dav', ['webdav+https'], {
      fails: new Error("Cannot find package 'webdav'\n    at resolve"),
    });
    const err = await rejection(openSpool('webdav+https://h/x', { backends: [broken.descriptor] }));
    expect(isFanoutError(err, 'EBADURL')).toBe(true);
    expect((err as Error).message).toBe(
      "backend not available: @x/dav could not be loaded (Cannot find package 'webdav')",
    );
  });
});

describe('the owner environment a backend supplies', () => {
  const self: OwnerInfo = {
    host: processOwner().host,
    bootId: 'boot-1',
    pidNamespace: '4026531836',
    pid: process.pid,
    startTime: '1234',
  };
  const env: OwnerEnvironment = {
    self,
    lookup: (pid) => (pid === self.pid ? { state: 'present', startTime: '1234' } : { state: 'absent' }),
  };
  const gone: OwnerInfo = { ...self, pid: 999_999_999, startTime: '77' };

  it('becomes the default probe and process owner once a spool of that backend is opened', async () => {
    expect(await defaultOwnerProbe(gone)).toBe('unknown'); // kill(pid, 0) alone cannot prove a pid of this boot gone
    const posix = fake('@x/posix', ['file'], { plainPaths: true, ownerEnvironment: () => env });
    await openSpool('/var/spool/x', { backends: [posix.descriptor] });
    expect(processOwner()).toBe(self);
    expect(await defaultOwnerProbe(gone)).toBe('dead');
    expect(await defaultOwnerProbe(self)).toBe('alive');
  });

  it('does not replace the environment the application declared, nor one already supplied', async () => {
    const declared: OwnerEnvironment = { self: { ...self, bootId: 'boot-app' }, lookup: () => ({ state: 'unknown' }) };
    setOwnerEnvironment(declared);
    let asked = 0;
    const posix = fake('@x/posix', ['file'], {
      plainPaths: true,
      ownerEnvironment: () => {
        asked++;
        return env;
      },
    });
    await openSpool('/var/spool/x', { backends: [posix.descriptor] });
    expect(processOwner()).toBe(declared.self);
    expect(asked).toBe(0);
    setOwnerEnvironment(undefined);
    await openSpool('/var/spool/x', { backends: [posix.descriptor] });
    await openSpool('/var/spool/y', { backends: [posix.descriptor] });
    expect(asked).toBe(1);
  });

  it('keeps the core default when the backend sees nothing better on this host', async () => {
    const posix = fake('@x/posix', ['file'], { plainPaths: true, ownerEnvironment: () => undefined });
    await openSpool('/var/spool/x', { backends: [posix.descriptor] });
    expect(processOwner().bootId).toBe('');
  });
});
