export { WebdavBackend, type WebdavLock, type WebdavSpoolOptions } from './webdav-backend.js';
export { openWebdavSpool } from './open-webdav-spool.js';
export { parseWebdavLocation, type WebdavLocation } from './webdav-url.js';
export type { RetryEvent } from './dav-transport.js';
export { webdavImplementation } from './webdav-implementation.js';
