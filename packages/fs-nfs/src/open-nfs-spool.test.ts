import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NfsBackend } from './nfs-backend.js';
import { openNfsSpool } from './open-nfs-spool.js';

describe('openNfsSpool', () => {
  it('opens nfs:///mount/point/path as an NfsBackend on that path', async () => {
    const b = await openNfsSpool('nfs:///mnt/shared/spool%20a');
    expect(b).toBeInstanceOf(NfsBackend);
    expect(b.location).toBe('nfs:///mnt/shared/spool%20a');
  });

  it('accepts a plain path', async () => {
    expect((await openNfsSpool('spool')).location).toBe(resolve('spool'));
  });

  it('refuses an nfs URL with a server, since fanout mounts nothing', async () => {
    await expect(openNfsSpool('nfs://server/export/spool')).rejects.toMatchObject({
      code: 'EBADURL',
      message: expect.stringMatching(/mount the export/),
    });
  });

  it('refuses other schemes', async () => {
    await expect(openNfsSpool('file:///srv/spool')).rejects.toMatchObject({ code: 'EBADURL' });
  });
});
