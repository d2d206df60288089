import type { BackendImplementation } from '@fanout/core';
import { posixImplementation, posixSpoolPath } from '@fanout/fs-posix';
import { warnAboutNfsMount } from './nfs-mount.js';
import { openNfsSpool } from './open-nfs-spool.js';

/**
 * What `nfsDescriptor` (`@fanout/fs-nfs/descriptor`) loads: opens `nfs:`
 * URLs; on Linux, supplies the same `/proc` owner environment as fs-posix
 * (owners on other hosts stay 'unknown': leases decide). Warns once per mount
 * that several hosts cannot share safely as mounted (NFSv3 with
 * `lookupcache=all`: {@link warnAboutNfsMount}).
 */
export const nfsImplementation: BackendImplementation = {
  open: async (location) => {
    const spool = await openNfsSpool(location);
    warnAboutNfsMount(posixSpoolPath(location, 'nfs:').root);
    return spool;
  },
  ...(posixImplementation.ownerEnvironment ? { ownerEnvironment: posixImplementation.ownerEnvironment } : {}),
};
