import { describe, expect, it } from 'vitest';
import { FanoutError } from '@fanout/core';
import { errnoCode, fanoutCodeOf, fromErrno } from './errno.js';

function nodeError(code: string, message = `${code}: something`): NodeJS.ErrnoException {
  return Object.assign(new Error(message), { code });
}

describe('errno mapping', () => {
  it.each([
    ['EEXIST', 'EEXIST'],
    ['ENOENT', 'ENOENT'],
    ['ENOSPC', 'ENOSPC'],
    ['EDQUOT', 'ENOSPC'],
    ['EIO', 'EIO'],
    ['ESTALE', 'EIO'],
    ['EACCES', 'EACCES'],
    ['EPERM', 'EACCES'],
    ['EROFS', 'EACCES'],
    ['ELOOP', 'EBADENTRY'],
    ['EISDIR', 'EBADENTRY'],
    ['ENOTDIR', 'EBADENTRY'],
    ['ETIMEDOUT', 'EUNAVAILABLE'],
    ['ECONNREFUSED', 'EUNAVAILABLE'],
    ['ENOTCONN', 'EUNAVAILABLE'],
    ['EOPNOTSUPP', 'ENOTSUP'],
    ['ENAMETOOLONG', 'EUSAGE'],
    ['EMFILE', 'EMFILE'],
    ['ENFILE', 'EMFILE'],
  ])('maps %s to %s', (native, expected) => {
    expect(fanoutCodeOf(native)).toBe(expected);
  });

  it('names errno -116, which Node leaves unnamed, ESTALE (a stale NFS handle), so it is retried and mapped to EIO', () => {
    const stale = Object.assign(new Error('Unknown system error -116, readdir'), {
      code: 'Unknown system error -116',
      errno: -116,
    });
    expect(errnoCode(stale)).toBe('ESTALE');
    expect(errnoCode(Object.assign(new Error('x'), { errno: -116 }))).toBe('ESTALE');
    expect(fromErrno(stale, 'readdir', { spool: '/mnt/a' }).code).toBe('EIO');
    expect(errnoCode(Object.assign(new Error('x'), { code: 'ENOENT', errno: -2 }))).toBe('ENOENT');
  });

  it('maps unknown and missing codes to EIO', () => {
    expect(fanoutCodeOf('EWHATEVER')).toBe('EIO');
    expect(fanoutCodeOf(undefined)).toBe('EIO');
  });

  it('names the spool, the file, the operation and keeps the cause', () => {
    const cause = nodeError('ENOSPC', 'ENOSPC: no space left on device, write');
    const err = fromErrno(cause, 'write', { spool: '/var/spool/a', file: 'w1.2' });
    expect(err).toBeInstanceOf(FanoutError);
    expect(err.code).toBe('ENOSPC');
    expect(err.spool).toBe('/var/spool/a');
    expect(err.file).toBe('w1.2');
    expect(err.cause).toBe(cause);
    expect(err.oneLine()).toBe('/var/spool/a: w1.2: write failed: ENOSPC: no space left on device, write (ENOSPC)');
  });

  it('reports a process out of descriptors as EMFILE, saying "too many open files" and naming the file (not EIO)', () => {
    const cause = nodeError('EMFILE', "EMFILE: too many open files, open '/var/spool/s/p1.2'");
    const err = fromErrno(cause, 'open', { spool: '/var/spool/s', file: 'p1.2' });
    expect(err.code).toBe('EMFILE');
    expect(err.oneLine()).toBe(
      "/var/spool/s: p1.2: open failed: EMFILE: too many open files, open '/var/spool/s/p1.2' (EMFILE)",
    );
  });

  it('reports a host out of descriptors (ENFILE) as EMFILE, in the same words', () => {
    const err = fromErrno(nodeError('ENFILE', "ENFILE: file table overflow, open '/a/w1.2'"), 'open', {
      spool: '/a',
      file: 'w1.2',
    });
    expect(err.code).toBe('EMFILE');
    expect(err.oneLine()).toBe(
      "/a: w1.2: open failed: too many open files on this host (ENFILE: file table overflow, open '/a/w1.2') (EMFILE)",
    );
  });

  it('passes a FanoutError through unchanged', () => {
    const original = new FanoutError('EABORTED', 'stop', { spool: 'x' });
    expect(fromErrno(original, 'write', { spool: 'y' })).toBe(original);
  });

  it('reads the code of Node errors only', () => {
    expect(errnoCode(nodeError('EIO'))).toBe('EIO');
    expect(errnoCode(new Error('plain'))).toBeUndefined();
    expect(errnoCode('EIO')).toBeUndefined();
  });
});
