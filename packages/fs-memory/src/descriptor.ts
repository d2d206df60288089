/**
 * `@fanout/fs-memory/descriptor`: the in-memory backend as an application
 * lists it for `openSpool`. Importing it loads nothing of the backend; the
 * first `openSpool` of a `memory:` URL does.
 */
import type { BackendDescriptor } from '@fanout/core';

/**
 * In-process spools, `memory://name`, all in one process-wide registry:
 * gone when the process ends. For tests and demos.
 *
 * @example
 * ```ts
 * import { initSpool, openSpool } from '@fanout/core';
 * import { memoryDescriptor } from '@fanout/fs-memory/descriptor';
 *
 * const spool = await openSpool('memory://outgoing', { backends: [memoryDescriptor] });
 * await initSpool(spool);
 * ```
 */
export const memoryDescriptor: BackendDescriptor = {
  name: '@fanout/fs-memory',
  schemes: ['memory'],
  load: async () => (await import('./index.js')).memoryImplementation,
};
