import { isFanoutError } from '@fanout/core';
import { describe, expect, it } from 'vitest';
import {
  assertNoCredentialsOnArgv,
  credentialsFromEnv,
  hasUserInfo,
  openSpool,
  redactLocation,
  spoolScheme,
} from './spool-url.js';

describe('spool URLs', () => {
  it('sends paths and file URLs to the posix backend, and names the other schemes', () => {
    expect(spoolScheme('./spool')).toBe('posix');
    expect(spoolScheme('/var/spool/x')).toBe('posix');
    expect(spoolScheme('file:///var/spool/x')).toBe('posix');
    expect(spoolScheme('nfs:///mnt/x')).toBe('nfs');
    expect(spoolScheme('webdav+http://h/x')).toBe('webdav');
    expect(spoolScheme('webdav+https://h/x')).toBe('webdav');
    expect(spoolScheme('memory://x')).toBe('memory');
  });

  it('refuses an unknown scheme with EBADURL', () => {
    expect(() => spoolScheme('ftp://h/x')).toThrow(expect.objectContaining({ code: 'EBADURL' }));
    expect(() => spoolScheme('')).toThrow(expect.objectContaining({ code: 'EBADURL' }));
  });

  it('opens a relative path as an absolute posix location', async () => {
    const spool = await openSpool('some/dir');
    expect(spool.location).toBe(`${process.cwd()}/some/dir`);
    await spool.close();
  });

  it('refuses credentials in a URL given on the command line, without echoing them', () => {
    expect(hasUserInfo('webdav+https://bob:s3cret@h/x')).toBe(true);
    expect(hasUserInfo('webdav+https://h/x')).toBe(false);
    expect(hasUserInfo('/plain/path')).toBe(false);
    let caught: unknown;
    try {
      assertNoCredentialsOnArgv('webdav+https://bob:s3cret@h/x');
    } catch (err) {
      caught = err;
    }
    expect(isFanoutError(caught, 'EUSAGE')).toBe(true);
    expect(String((caught as Error).message) + String((caught as { spool: string }).spool)).not.toContain('s3cret');
    expect(redactLocation('webdav+https://bob:s3cret@h/x')).toBe('webdav+https://h/x');
  });

  it('rejects a user name in a URL of a backend that takes none', async () => {
    await expect(openSpool('file://bob@localhost/x')).rejects.toMatchObject({ code: 'EBADURL' });
  });

  it('reads WebDAV credentials from FANOUT_WEBDAV_USER and FANOUT_WEBDAV_PASSWORD', () => {
    expect(credentialsFromEnv({})).toBeUndefined();
    expect(credentialsFromEnv({ FANOUT_WEBDAV_USER: 'u', FANOUT_WEBDAV_PASSWORD: 'p' })).toEqual({
      username: 'u',
      password: 'p',
    });
  });
});
