/**
 * What a backend package tells an application before the application loads
 * it: the URL schemes it opens and how to load it (what its spools can do is
 * what their backends' methods say, once loaded).
 * An application lists the descriptors it accepts and {@link openSpool}
 * loads only the one a location names.
 */
import type { OwnerEnvironment } from '../owner/owner.js';
import type { SpoolBackend } from './spool-backend.js';

/** A user name and password for backends that take them (WebDAV). Never part of a location. */
export interface SpoolCredentials {
  readonly username?: string | undefined;
  readonly password?: string | undefined;
}

/** What {@link BackendImplementation.open} is given besides the location. */
export interface BackendOpenOptions {
  /** Credentials, for a backend that takes them; a backend that takes none ignores them. */
  readonly credentials?: SpoolCredentials | undefined;
}

/** What {@link BackendDescriptor.load} resolves to: the backend itself. */
export interface BackendImplementation {
  /**
   * Open the spool at `location` (one whose scheme the descriptor lists, or a
   * plain path if it takes those). Does no I/O on the spool: `initSpool` or
   * `readSpoolIdentity` come next.
   * @throws `EBADURL` for a location it cannot open.
   */
  open(location: string, options: BackendOpenOptions): Promise<SpoolBackend>;
  /**
   * This host's view of its processes, when the backend's platform lets it
   * see them (fs-posix and fs-nfs on Linux: boot id, pid namespace and start
   * times from `/proc`). {@link openSpool} makes it the process's owner
   * environment unless the application declared one; `undefined` when this
   * host shows nothing better than the core's default.
   */
  ownerEnvironment?(): OwnerEnvironment | undefined;
}

/**
 * One backend, as an application lists it. Importing a descriptor loads
 * nothing of its backend: {@link BackendDescriptor.load} does, by dynamic
 * import, on the first {@link openSpool} of a location it opens.
 *
 * @example A backend package's descriptor module
 * ```ts
 * import type { BackendDescriptor } from '@fanout/core';
 *
 * export const posixDescriptor: BackendDescriptor = {
 *   name: '@fanout/fs-posix',
 *   schemes: ['file'],
 *   plainPaths: true,
 *   load: async () => (await import('./posix-implementation.js')).posixImplementation,
 * };
 * ```
 */
export interface BackendDescriptor {
  /** The package that implements it, named in errors (`@fanout/fs-posix`). */
  readonly name: string;
  /** The URL schemes it opens, lowercase and without the colon (`file`, `webdav+https`). */
  readonly schemes: readonly string[];
  /** Whether it opens plain paths (no scheme). At most one descriptor in a list may. */
  readonly plainPaths?: boolean;
  /** Load the backend (a dynamic import: nothing of it is loaded before). */
  load(): Promise<BackendImplementation>;
}
