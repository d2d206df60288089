/** Opening an NFS spool from `nfs:///mount/point/path` or a plain path (docs/DESIGN.md §5). */
import { FanoutError } from '@fanout/core';
import { posixSpoolPath } from '@fanout/fs-posix';
import { NfsBackend, type NfsBackendOptions } from './nfs-backend.js';

/** Options of {@link openNfsSpool}: those of {@link NfsBackend} but the root. */
export type OpenNfsSpoolOptions = Omit<NfsBackendOptions, 'root'>;

/**
 * Open the spool in an already mounted NFS directory, named by
 * `nfs:///mnt/spool` (no host: fanout does not mount anything) or a plain
 * path. Does no I/O: call `ensureContainer()` to create it.
 * @throws `EBADURL` for another scheme or an `nfs://host/…` URL.
 */
export async function openNfsSpool(locationOrPath: string, options: OpenNfsSpoolOptions = {}): Promise<NfsBackend> {
  let resolved: { root: string; location: string };
  try {
    resolved = posixSpoolPath(locationOrPath, 'nfs:');
  } catch (err) {
    if (err instanceof FanoutError && err.code === 'EBADURL' && /^nfs:\/\/[^/]/i.test(locationOrPath)) {
      throw new FanoutError('EBADURL', 'fanout does not mount NFS: mount the export and use nfs:///mount/point/path', {
        spool: locationOrPath,
        cause: err,
      });
    }
    throw err;
  }
  return new NfsBackend({ ...options, root: resolved.root, location: options.location ?? resolved.location });
}
