import type { BackendImplementation } from '@fanout/core';
import { hasLinuxProc, linuxOwnerEnvironment } from './linux-owner.js';
import { openPosixSpool } from './open-posix-spool.js';

/**
 * What `posixDescriptor` (`@fanout/fs-posix/descriptor`) loads: opens paths and `file:` URLs; on Linux, supplies the
 * `/proc` owner environment.
 */
export const posixImplementation: BackendImplementation = {
  open: async (location) => openPosixSpool(location),
  ownerEnvironment: () => (hasLinuxProc() ? linuxOwnerEnvironment() : undefined),
};
