import { FanoutError, type SpoolBackend } from '@fanout/core';
import { createMemorySpools } from '@fanout/fs-memory';
import { describe, expect, it } from 'vitest';
import { classifyFailure, isMissingContainer, storageFaultOf } from './storage-fault.js';

describe('storageFaultOf', () => {
  it.each(['EUNAVAILABLE', 'EIO', 'ENOSPC', 'EACCES', 'EMFILE', 'ETIMEDOUT'] as const)(
    'takes %s for an outage of the storage',
    (code) => {
      const err = new FanoutError(code, 'x', { spool: '/s' });
      expect(storageFaultOf(err)).toBe(err);
    },
  );

  it.each(['EUSAGE', 'EBADURL', 'ECORRUPT', 'EFOREIGN', 'ETRANSFORM', 'EBADENTRY', 'ENOTSPOOL', 'EEXIST'] as const)(
    'does not take %s for one',
    (code) => {
      expect(storageFaultOf(new FanoutError(code, 'x'))).toBeUndefined();
    },
  );

  it('wraps raw native errors, a stale NFS handle (-116) included', () => {
    expect(storageFaultOf(Object.assign(new Error('stale'), { code: 'ESTALE' }))?.code).toBe('EIO');
    expect(storageFaultOf(Object.assign(new Error('stale'), { errno: -116 }))?.code).toBe('EIO');
    expect(storageFaultOf(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }))?.code).toBe('EUNAVAILABLE');
    expect(storageFaultOf(Object.assign(new Error('files'), { code: 'ENFILE' }))?.code).toBe('EMFILE');
    expect(storageFaultOf(new TypeError('a bug'))).toBeUndefined();
    expect(storageFaultOf('text')).toBeUndefined();
  });
});

describe('classifyFailure', () => {
  const missing = (location: string): SpoolBackend =>
    ({
      location,
      // eslint-disable-next-line require-yield
      async *list() {
        throw new FanoutError('ENOENT', 'no such directory', { spool: location });
      },
    }) as unknown as SpoolBackend;

  it('takes ENOTSPOOL of a spool whose container is missing for an outage', async () => {
    const err = new FanoutError('ENOTSPOOL', 'not a fanout spool', { spool: '/gone' });
    expect(await isMissingContainer(missing('/gone'))).toBe(true);
    expect(await classifyFailure(err, [missing('/gone')])).toMatchObject({
      code: 'ENOTSPOOL',
      spool: '/gone',
      message: expect.stringContaining('missing'),
    });
  });

  it('keeps ENOTSPOOL of an existing, uninitialised container a mistake', async () => {
    const spools = createMemorySpools();
    const present = spools.open('memory://present');
    await present.ensureContainer();
    expect(await isMissingContainer(spools.open('memory://absent'))).toBe(true);
    const err = new FanoutError('ENOTSPOOL', 'not a fanout spool', { spool: present.location });
    expect(await isMissingContainer(present)).toBe(false);
    expect(await classifyFailure(err, [present])).toBeUndefined();
    expect(await classifyFailure(new FanoutError('ENOTSPOOL', 'x', { spool: '/unknown' }), [present])).toBeUndefined();
  });
});
