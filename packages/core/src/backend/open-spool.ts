/**
 * The backend registry: from a location (a plain path or a URL) to a spool,
 * given the backend descriptors the application chose. The same for the CLI
 * and for every embedding application.
 */
import { FanoutError } from '../errors/fanout-error.js';
import { adoptOwnerEnvironment } from '../owner/owner.js';
import type { BackendDescriptor, BackendImplementation, SpoolCredentials } from './backend-descriptor.js';
import type { SpoolBackend } from './spool-backend.js';

/** Options of {@link openSpool}. */
export interface OpenSpoolOptions {
  /** The backends this application accepts; a location any other backend would open is `EBADURL`. */
  readonly backends: readonly BackendDescriptor[];
  /** For backends that take credentials (WebDAV). Never put them in the location: it is written into markers. */
  readonly credentials?: SpoolCredentials | undefined;
}

const URL_SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):/;

/** `file:`, `nfs:`, … and "a path", as an operator would type them. */
function offered(backends: readonly BackendDescriptor[]): string {
  const kinds = backends.flatMap((b) => [
    ...(b.plainPaths === true ? ['a path'] : []),
    ...b.schemes.map((s) => `${s}:`),
  ]);
  return kinds.length === 0 ? 'no backends were given' : `this application opens ${kinds.join(', ')}`;
}

/** The scheme a location names, lowercase, or `undefined` for a plain path. */
function schemeOf(location: string): string | undefined {
  return URL_SCHEME.exec(location)?.[1]?.toLowerCase();
}

/** Whether a URL carries a user name or password (`user:pass@host`). */
function hasUserInfo(location: string): boolean {
  try {
    const url = new URL(location);
    return url.username !== '' || url.password !== '';
  } catch {
    return false;
  }
}

/**
 * The descriptor among `backends` that opens `location`, without loading
 * any backend.
 * @throws `EBADURL` (naming the location and the schemes offered) for an
 *   empty location or a scheme none of them opens; `EUSAGE` when two of them
 *   claim the same scheme, or plain paths.
 *
 * @example
 * ```ts
 * import { backendFor } from '@fanout/core';
 * import { nfsDescriptor } from '@fanout/fs-nfs/descriptor';
 * import { posixDescriptor } from '@fanout/fs-posix/descriptor';
 *
 * console.log(backendFor('nfs:///mnt/spool/out', [posixDescriptor, nfsDescriptor]).name); // @fanout/fs-nfs
 * ```
 */
export function backendFor(location: string, backends: readonly BackendDescriptor[]): BackendDescriptor {
  if (typeof location !== 'string' || location === '')
    throw new FanoutError('EBADURL', 'empty spool location', { spool: String(location) });
  const scheme = schemeOf(location);
  const matches = backends.filter((b) =>
    scheme === undefined ? b.plainPaths === true : b.schemes.some((s) => s.toLowerCase() === scheme),
  );
  if (matches.length > 1) {
    throw new FanoutError(
      'EUSAGE',
      `${matches.map((b) => b.name).join(' and ')} both ` +
        `open ${scheme === undefined ? 'plain paths' : `${scheme}: URLs`}; list one of them`,
      { spool: location },
    );
  }
  const found = matches[0];
  if (found === undefined) {
    const what = scheme === undefined ? 'a plain path' : `the URL scheme "${scheme}:"`;
    throw new FanoutError('EBADURL', `no backend for ${what} (${offered(backends)})`, { spool: location });
  }
  return found;
}

/** Load a backend, or say in one line why it cannot be. */
async function load(descriptor: BackendDescriptor, location: string): Promise<BackendImplementation> {
  let implementation: BackendImplementation;
  try {
    implementation = await descriptor.load();
  } catch (cause) {
    const why = cause instanceof Error ? cause.message.split('\n')[0] : String(cause);
    throw new FanoutError('EBADURL', `backend not available: ${descriptor.name} could not be loaded (${why})`, {
      spool: location,
      cause,
    });
  }
  if (typeof implementation?.open !== 'function') {
    throw new FanoutError('EBADURL', `backend not available: ${descriptor.name} loaded no open() (not built yet?)`, {
      spool: location,
    });
  }
  return implementation;
}

/**
 * Open the spool a location names, with the backend among `backends` that
 * opens its scheme (or plain paths). Only that backend is loaded (each
 * descriptor loads its package by dynamic import). Does no I/O on the spool:
 * call `initSpool` or `readSpoolIdentity` next.
 *
 * The first backend loaded that can see this host's processes better than
 * the core (fs-posix and fs-nfs on Linux: boot id, pid namespace and start
 * times from `/proc`) becomes the process's owner environment, unless the
 * application declared one with `setOwnerEnvironment`: from then on the
 * default owner probe tells a dead or reused pid of this host from a live one.
 *
 * @throws `EBADURL` for an empty location, a scheme none of `backends` opens
 *   (the message names the location and the schemes offered), a user name or
 *   password inside the URL (they go in `options.credentials`), a malformed
 *   location, or a backend that cannot be loaded; `EUSAGE` when two
 *   descriptors claim one scheme.
 *
 * @example Choosing the backends per deployment
 * ```ts
 * import { initSpool, openSpool } from '@fanout/core';
 * import { memoryDescriptor } from '@fanout/fs-memory/descriptor';
 * import { nfsDescriptor } from '@fanout/fs-nfs/descriptor';
 * import { posixDescriptor } from '@fanout/fs-posix/descriptor';
 * import { webdavDescriptor } from '@fanout/fs-webdav/descriptor';
 *
 * const backends = [posixDescriptor, nfsDescriptor, webdavDescriptor, memoryDescriptor];
 * const spool = await openSpool(process.env.OUTBOX ?? 'memory://outbox', { backends });
 * await initSpool(spool); // only the backend OUTBOX names was loaded
 * ```
 */
export async function openSpool(location: string, options: OpenSpoolOptions): Promise<SpoolBackend> {
  const descriptor = backendFor(location, options.backends);
  if (schemeOf(location) !== undefined && hasUserInfo(location)) {
    throw new FanoutError(
      'EBADURL',
      'a spool URL takes no user name or password (they would be written into markers): pass them as credentials',
      {
        spool: redactUserInfo(location),
      },
    );
  }
  const implementation = await load(descriptor, location);
  if (implementation.ownerEnvironment !== undefined) adoptOwnerEnvironment(() => implementation.ownerEnvironment?.());
  return implementation.open(location, options.credentials !== undefined ? { credentials: options.credentials } : {});
}

function redactUserInfo(location: string): string {
  const url = new URL(location);
  url.username = '';
  url.password = '';
  return url.toString();
}
