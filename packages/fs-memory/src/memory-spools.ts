/**
 * `memory://<name>` spools: a registry mapping each name to a directory of one
 * shared memfs volume, so that a source spool and its destinations (and a
 * test inspecting them) see the same volume.
 */
import { FanoutError } from '@fanout/core';
import { Volume } from 'memfs';
import { MemoryBackend } from './memory-backend.js';

const SCHEME = 'memory://';
/** A name segment: what a plain file name may be, minus what needs thinking about in a URL. */
const SEGMENT = /^[^/\\\0?#]+$/;

/** A set of memory spools sharing one volume. */
export interface MemorySpools {
  /** The volume every spool of this registry lives in. */
  readonly volume: Volume;
  /**
   * The directory a `memory://` location maps to: `memory://a/b` is `/a/b`.
   * @throws `EBADURL` for anything but `memory://` followed by plain names joined by `/`.
   */
  directoryOf(location: string): string;
  /** A backend for the spool at `location`. Does no I/O: call `ensureContainer()` to create it. */
  open(location: string): MemoryBackend;
}

/**
 * A new, empty registry of memory spools (one fresh volume, or `volume`).
 * Tests use one each so that they do not see each other's spools.
 */
export function createMemorySpools(volume: Volume = new Volume()): MemorySpools {
  return {
    volume,
    directoryOf: memoryDirectoryOf,
    open(location) {
      return new MemoryBackend({ volume, root: memoryDirectoryOf(location), location });
    },
  };
}

/** The `/a/b` directory that `memory://a/b` names; see {@link MemorySpools.directoryOf}. */
export function memoryDirectoryOf(location: string): string {
  const bad = (why: string) =>
    new FanoutError('EBADURL', `not a memory spool location (${why})`, { spool: String(location) });
  if (typeof location !== 'string' || !location.startsWith(SCHEME)) throw bad(`expected ${SCHEME}<name>`);
  const segments = location.slice(SCHEME.length).split('/');
  if (segments.length === 0 || segments[0] === '') throw bad('no name');
  const names = segments.map((segment) => {
    let name: string;
    try {
      name = decodeURIComponent(segment);
    } catch {
      throw bad(`bad escape in ${JSON.stringify(segment)}`);
    }
    if (!SEGMENT.test(name) || name === '.' || name === '..' || Buffer.byteLength(name) > 255) {
      throw bad(`${JSON.stringify(segment)} is not a plain name`);
    }
    return name;
  });
  return `/${names.join('/')}`;
}

let processSpools: MemorySpools | undefined;

/** The process-wide registry that {@link openMemorySpool} uses by default. */
export function processMemorySpools(): MemorySpools {
  processSpools ??= createMemorySpools();
  return processSpools;
}

/**
 * Open the memory spool at `location` (`memory://name`), in `spools` or the
 * process-wide registry. Does no I/O: call `ensureContainer()` to create it.
 * @throws `EBADURL` for a location that is not `memory://…`.
 */
export async function openMemorySpool(
  location: string,
  spools: MemorySpools = processMemorySpools(),
): Promise<MemoryBackend> {
  return spools.open(location);
}
