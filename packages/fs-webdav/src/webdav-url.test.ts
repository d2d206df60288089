import { describe, expect, it } from 'vitest';
import { FanoutError } from '@fanout/core';
import { parseWebdavLocation } from './webdav-url.js';
import { openWebdavSpool } from './open-webdav-spool.js';

describe('parseWebdavLocation', () => {
  it('turns webdav+http(s) URLs into a collection URL ending in a slash and a location without one', () => {
    const a = parseWebdavLocation('webdav+https://dav.example:8443/spools/in');
    expect(a.collectionUrl.toString()).toBe('https://dav.example:8443/spools/in/');
    expect(a.location).toBe('webdav+https://dav.example:8443/spools/in');
    expect(parseWebdavLocation('webdav+http://h/x/').collectionUrl.toString()).toBe('http://h/x/');
  });

  it('splits user and password off, so the location never carries them', () => {
    const p = parseWebdavLocation('webdav+http://bob:s%40cret@h:81/x');
    expect(p.location).toBe('webdav+http://h:81/x');
    expect(p.collectionUrl.toString()).toBe('http://h:81/x/');
    expect(p).toMatchObject({ username: 'bob', password: 's@cret' });
  });

  it('refuses other schemes with EBADURL and does not echo a password', async () => {
    // Issue 16: `webdav+http:///path` (no host) was taken as host "path".
    for (const bad of [
      'http://h/x',
      'webdav://h/x',
      'webdav+ftp://h/x',
      'webdav+http://',
      'webdav+http:///path',
      'webdav+https:///a/b',
      'webdav+http://bob@/x',
      'webdav+http://:8080/x',
    ]) {
      expect(() => parseWebdavLocation(bad)).toThrow(FanoutError);
    }
    const err = await openWebdavSpool('webdav+htp://bob:hunter2@h/x').catch((e: unknown) => e as FanoutError);
    expect(err).toMatchObject({ code: 'EBADURL' });
    expect((err as FanoutError).oneLine()).not.toContain('hunter2');
  });
});
