import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openPosixSpool, posixSpoolPath } from './open-posix-spool.js';

describe('openPosixSpool', () => {
  it('accepts an absolute path and reports it as the location', async () => {
    const backend = await openPosixSpool('/var/spool/fanout/in');
    expect(backend.location).toBe('/var/spool/fanout/in');
  });

  it('resolves a relative path against the working directory', () => {
    expect(posixSpoolPath('spool/in')).toEqual({ root: resolve('spool/in'), location: resolve('spool/in') });
  });

  it('accepts a file:/// URL, decoding escapes, and keeps the URL as the location', () => {
    expect(posixSpoolPath('file:///var/spool/my%20spool')).toEqual({
      root: '/var/spool/my spool',
      location: 'file:///var/spool/my%20spool',
    });
    expect(posixSpoolPath('file://localhost/srv/q').root).toBe('/srv/q');
  });

  it.each(['file://otherhost/srv/q', 'nfs:///mnt/q', 'webdav+http://h/q', 'file:///srv/q?x=1', ''])(
    'refuses %j with EBADURL',
    (location) => {
      expect(() => posixSpoolPath(location)).toThrow(expect.objectContaining({ code: 'EBADURL' }));
    },
  );

  it('refuses an encoded slash, which would smuggle a path component', () => {
    expect(() => posixSpoolPath('file:///srv/a%2Fb')).toThrow(expect.objectContaining({ code: 'EBADURL' }));
  });
});
