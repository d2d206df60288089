/**
 * `@fanout/fs-posix/descriptor`: the posix backend as an application lists it
 * for `openSpool`. Importing it loads nothing of the backend; the first
 * `openSpool` of a path or `file:` URL does.
 */
import type { BackendDescriptor } from '@fanout/core';

/**
 * Local filesystems: plain paths and `file:///…` URLs.
 *
 * @example
 * ```ts
 * import { initSpool, openSpool } from '@fanout/core';
 * import { posixDescriptor } from '@fanout/fs-posix/descriptor';
 *
 * const spool = await openSpool('file:///var/spool/fanout/outgoing', { backends: [posixDescriptor] });
 * await initSpool(spool);
 * ```
 */
export const posixDescriptor: BackendDescriptor = {
  name: '@fanout/fs-posix',
  schemes: ['file'],
  plainPaths: true,
  // Those of a PosixBackend in its default publish mode (link + unlink).
  load: async () => (await import('./index.js')).posixImplementation,
};
