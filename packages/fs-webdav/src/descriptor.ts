/**
 * `@fanout/fs-webdav/descriptor`: the WebDAV backend as an application lists
 * it for `openSpool`. Importing it loads nothing of the backend (nor the
 * `webdav` client); the first `openSpool` of a `webdav+http(s):` URL does.
 */
import type { BackendDescriptor } from '@fanout/core';

/**
 * WebDAV collections: `webdav+https://host/path` (or `webdav+http://`).
 * Credentials go in `openSpool`'s `credentials`, never in the URL.
 *
 * @example
 * ```ts
 * import { initSpool, openSpool } from '@fanout/core';
 * import { webdavDescriptor } from '@fanout/fs-webdav/descriptor';
 *
 * const spool = await openSpool('webdav+https://dav.example.com/spools/outgoing', {
 *   backends: [webdavDescriptor],
 *   credentials: { username: process.env.DAV_USER, password: process.env.DAV_PASSWORD },
 * });
 * await initSpool(spool);
 * ```
 */
export const webdavDescriptor: BackendDescriptor = {
  name: '@fanout/fs-webdav',
  schemes: ['webdav+http', 'webdav+https'],
  // A 2xx is not a durability promise and WebDAV has no fsync; MOVE publishes in one step.
  load: async () => (await import('./index.js')).webdavImplementation,
};
