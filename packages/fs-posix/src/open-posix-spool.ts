/**
 * Opening a posix spool from what an operator types: a plain path or a
 * `file:///…` URL (docs/DESIGN.md §5).
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FanoutError } from '@fanout/core';
import { memoryBackedPosixFs, onMemoryFilesystem } from './local-posix-fs.js';
import { PosixBackend, type PosixBackendOptions } from './posix-backend.js';

/** Options of {@link openPosixSpool}: those of {@link PosixBackend} but the root. */
export type OpenPosixSpoolOptions = Omit<PosixBackendOptions, 'root'>;

const URL_SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:/;

/**
 * The absolute directory path a location names, and the location to report.
 * Accepts `file:///abs/path` and plain paths (relative ones are resolved
 * against the working directory, and the absolute path is reported).
 * @throws `EBADURL` for any other scheme, or a `file:` URL with a remote host.
 */
export function posixSpoolPath(locationOrPath: string, scheme = 'file:'): { root: string; location: string } {
  if (typeof locationOrPath !== 'string' || locationOrPath === '') {
    throw new FanoutError('EBADURL', 'empty spool location', { spool: String(locationOrPath) });
  }
  if (!URL_SCHEME.test(locationOrPath)) {
    const root = resolve(locationOrPath);
    return { root, location: root };
  }
  let url: URL;
  try {
    url = new URL(locationOrPath);
  } catch (cause) {
    throw new FanoutError('EBADURL', 'not a valid URL', { spool: locationOrPath, cause });
  }
  if (url.protocol !== scheme) {
    throw new FanoutError('EBADURL', `expected a ${scheme}// URL or a path`, { spool: locationOrPath });
  }
  if (url.hostname !== '' && url.hostname !== 'localhost') {
    throw new FanoutError('EBADURL', `${scheme}// URLs must name a local path (${scheme}///path)`, {
      spool: locationOrPath,
    });
  }
  if (url.search !== '' || url.hash !== '') {
    throw new FanoutError('EBADURL', 'a spool URL takes no query or fragment', { spool: locationOrPath });
  }
  // fileURLToPath decodes %XX escapes and refuses encoded slashes.
  let root: string;
  try {
    root = fileURLToPath(new URL(`file://${url.pathname}`));
  } catch (cause) {
    throw new FanoutError('EBADURL', 'not a usable path', { spool: locationOrPath, cause });
  }
  return { root, location: locationOrPath };
}

/**
 * Open the posix spool at a plain path or `file:///…` URL. Creates nothing
 * (call `ensureContainer()` for that); it only asks which filesystem the
 * path is on: on tmpfs or ramfs, where an fsync does nothing, every call is
 * made on the calling thread ({@link memoryBackedPosixFs}); elsewhere
 * fsyncs go to the thread pool (the default, {@link localPosixFs}). An `fs`
 * given in `options` is used as it is.
 */
export async function openPosixSpool(
  locationOrPath: string,
  options: OpenPosixSpoolOptions = {},
): Promise<PosixBackend> {
  const { root, location } = posixSpoolPath(locationOrPath);
  const fs = options.fs ?? ((await onMemoryFilesystem(root)) ? memoryBackedPosixFs : undefined);
  return new PosixBackend({ ...options, ...(fs ? { fs } : {}), root, location: options.location ?? location });
}
