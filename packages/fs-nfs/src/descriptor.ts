/**
 * `@fanout/fs-nfs/descriptor`: the NFS backend as an application lists it
 * for `openSpool`. Importing it loads nothing of the backend; the first
 * `openSpool` of an `nfs:` URL does.
 */
import type { BackendDescriptor } from '@fanout/core';

/**
 * Spools in an NFS-mounted directory: `nfs:///mount/point/path` (fanout
 * mounts nothing).
 *
 * @example
 * ```ts
 * import { initSpool, openSpool } from '@fanout/core';
 * import { nfsDescriptor } from '@fanout/fs-nfs/descriptor';
 * import { posixDescriptor } from '@fanout/fs-posix/descriptor';
 *
 * const spool = await openSpool('nfs:///mnt/shared/fanout/outgoing', { backends: [posixDescriptor, nfsDescriptor] });
 * await initSpool(spool);
 * ```
 */
export const nfsDescriptor: BackendDescriptor = {
  name: '@fanout/fs-nfs',
  schemes: ['nfs'],
  load: async () => (await import('./index.js')).nfsImplementation,
};
