import type { BackendImplementation } from '@fanout/core';
import { openWebdavSpool } from './open-webdav-spool.js';

/**
 * What `webdavDescriptor` (`@fanout/fs-webdav/descriptor`) loads: opens `webdav+http(s):` URLs with the credentials
 * given.
 */
export const webdavImplementation: BackendImplementation = {
  open: async (location, { credentials }) =>
    openWebdavSpool(
      location,
      credentials?.username !== undefined || credentials?.password !== undefined
        ? { username: credentials.username, password: credentials.password }
        : {},
    ),
};
