import type { BackendImplementation } from '@fanout/core';
import { posixImplementation } from '@fanout/fs-posix';
import { openNfsSpool } from './open-nfs-spool.js';

/**
 * What `nfsDescriptor` (`@fanout/fs-nfs/descriptor`) loads: opens `nfs:`
 * URLs; on Linux, supplies the same `/proc` owner environment as fs-posix
 * (owners on other hosts stay 'unknown': leases decide).
 */
export const nfsImplementation: BackendImplementation = {
  open: async (location) => openNfsSpool(location),
  ...(posixImplementation.ownerEnvironment ? { ownerEnvironment: posixImplementation.ownerEnvironment } : {}),
};
