/**
 * The {@link PosixFs} of a spool on a local filesystem (the default of
 * {@link PosixBackend}): the calls that take microseconds on a local disk's
 * page cache (`open`, `close`, `lstat`, `fstat`, `link`, `unlink`, `rename`,
 * `mkdir`, listings, and reads and writes of up to {@link INLINE_IO_BYTES}) run
 * on the calling thread; `fsync` and bigger reads and writes go to the
 * thread pool as in {@link nodePosixFs}.
 *
 * Why: every call through libuv's thread pool costs a hand-over to a pool
 * thread and back (a queue, a condition variable, an eventfd and the event
 * loop waking up) — about 5 futex calls and tens of microseconds of CPU
 * under load, several times the call itself. A 4 KiB message to 3
 * destinations makes about 30 such calls; on tmpfs they were most of the
 * fan-out's CPU (docs/BENCHMARKS.md, "Where the CPU goes"). Only an fsync
 * (milliseconds on a disk) and big copies are worth a thread.
 *
 * The same calls, in the same order, with the same errors: only where they
 * run differs. An `open` that meets `EMFILE`/`ENFILE` is handed to
 * graceful-fs's queued open, exactly as {@link nodePosixFs} would have made
 * it; `close` is graceful-fs's, which wakes that queue.
 *
 * Limits: a call made inline blocks the event loop for as long as the
 * kernel takes. On a local disk whose metadata is not cached (a cold spool on
 * a spinning disk) an `lstat` may wait for a read; and a stall guard (`ETIMEDOUT`)
 * cannot fire while an inline call hangs — it still bounds `fsync`, the call
 * a failing disk hangs in. NFS spools (fs-nfs) use {@link nodePosixFs}: there
 * every call is a network round trip. On tmpfs, {@link memoryBackedPosixFs}.
 */
import * as fs from 'node:fs';
import fse from 'fs-extra';
import { setImmediate as turn } from 'node:timers/promises';
import { nodePosixFs } from './node-posix-fs.js';
import type { PosixDir, PosixFs, PosixStats } from './posix-fs.js';

/** Reads and writes up to this many bytes are made on the calling thread; bigger ones on the thread pool. */
export const INLINE_IO_BYTES = 64 * 1024;

function outOfDescriptors(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'EMFILE' || code === 'ENFILE';
}

/** Stats without the closures of `toPosixStats`: one small object per call on the hot path. */
class LocalStats implements PosixStats {
  readonly size: number;
  readonly mtimeMs: number;
  readonly ino: bigint;
  readonly dev: bigint;
  readonly nlink: number;
  readonly #s: fs.BigIntStats;
  constructor(s: fs.BigIntStats) {
    this.#s = s;
    this.size = Number(s.size);
    this.mtimeMs = Number(s.mtimeMs);
    this.ino = s.ino;
    this.dev = s.dev;
    this.nlink = Number(s.nlink);
  }
  isFile(): boolean {
    return this.#s.isFile();
  }
  isDirectory(): boolean {
    return this.#s.isDirectory();
  }
  isSymbolicLink(): boolean {
    return this.#s.isSymbolicLink();
  }
}

/** Run `call` now; its result or its error as a settled promise, as the async API would give it. */
function inline<T>(call: () => T): Promise<T> {
  try {
    return Promise.resolve(call());
  } catch (err) {
    return Promise.reject(err);
  }
}

/** Entries an inline listing reads per getdents(2) batch (Node's own default is 32). */
export const INLINE_LISTING_BATCH = 256;

/** An inline listing gives the event loop a turn after this many entries, so timers (lease renewals) still fire. */
export const LISTING_ENTRIES_PER_TURN = 4096;

/**
 * A directory read on the calling thread, a batch of {@link INLINE_LISTING_BATCH} entries per call: a listing on the
 * thread pool costs a round trip per 32 entries, which on a page-cached directory is many times the getdents itself.
 * Still a stream: one batch in memory, however big the directory.
 */
function inlineDir(dir: fs.Dir): PosixDir {
  let closed = false;
  return {
    async *[Symbol.asyncIterator]() {
      try {
        for (let n = 1, entry = dir.readSync(); entry !== null; n++, entry = dir.readSync()) {
          yield entry;
          if (n % LISTING_ENTRIES_PER_TURN === 0) await turn();
        }
      } finally {
        // Read-only: a failed close loses nothing, and must not hide the error that ended the listing.
        if (!closed) {
          closed = true;
          try {
            dir.closeSync();
          } catch {
            /* nothing to do */
          }
        }
      }
    },
    close: () => {
      if (closed) return Promise.resolve();
      closed = true;
      return inline(() => dir.closeSync());
    },
  };
}

const BIGINT = { bigint: true } as const;
const IF_EXISTS = { bigint: true, throwIfNoEntry: false } as const;

/** The default {@link PosixFs} of {@link PosixBackend}: see the module comment. */
export const localPosixFs: PosixFs = {
  constants: nodePosixFs.constants,
  open: (path, flags, mode) => {
    try {
      return Promise.resolve(fse.openSync(path, flags, mode ?? 0o666));
    } catch (err) {
      // Out of descriptors: graceful-fs's open queues until a close frees one, as the async path does.
      if (outOfDescriptors(err)) return nodePosixFs.open(path, flags, mode);
      return Promise.reject(err);
    }
  },
  write: (fd, buffer, offset, length, position) =>
    length <= INLINE_IO_BYTES
      ? inline(() => fse.writeSync(fd, buffer, offset, length, position))
      : nodePosixFs.write(fd, buffer, offset, length, position),
  read: (fd, buffer, offset, length, position) =>
    length <= INLINE_IO_BYTES
      ? inline(() => fse.readSync(fd, buffer, offset, length, position))
      : nodePosixFs.read(fd, buffer, offset, length, position),
  // The one call that waits for the disk: on the thread pool, so that other messages go on meanwhile.
  fsync: nodePosixFs.fsync,
  // graceful-fs's closeSync: after it, a queued open is tried again at once.
  close: (fd) => inline(() => fse.closeSync(fd)),
  fstat: (fd) => inline(() => new LocalStats(fse.fstatSync(fd, BIGINT))),
  lstat: (path) => inline(() => new LocalStats(fse.lstatSync(path, BIGINT))),
  lstatIfExists: (path) =>
    inline(() => {
      const s = fse.lstatSync(path, IF_EXISTS);
      return s === undefined ? undefined : new LocalStats(s);
    }),
  link: (existingPath, newPath) => inline(() => fse.linkSync(existingPath, newPath)),
  unlink: (path) => inline(() => fse.unlinkSync(path)),
  rename: (oldPath, newPath) => inline(() => fse.renameSync(oldPath, newPath)),
  mkdir: (path, options) => inline(() => void fse.mkdirSync(path, options)),
  opendir: (path) => {
    try {
      return Promise.resolve(inlineDir(fs.opendirSync(path, { bufferSize: INLINE_LISTING_BATCH })));
    } catch (err) {
      // Out of descriptors: the thread-pool listing waits for one to be freed, as a queued open does.
      if (outOfDescriptors(err)) return nodePosixFs.opendir(path);
      return Promise.reject(err);
    }
  },
};

/**
 * The {@link PosixFs} of a spool on tmpfs or ramfs, where `fsync` returns at
 * once (the kernel's `noop_fsync`: the files live in memory and no sync can
 * make them survive a power loss): {@link localPosixFs} with reads and writes
 * of any size made on the calling thread as well, so that not even they pay a
 * thread-pool round trip, and marked {@link PosixFs.fsyncIsNoop}, so that the
 * backend makes no fsync call (an explicit `fsync` still runs, inline).
 * {@link openPosixSpool} picks it from the filesystem's type.
 */
export const memoryBackedPosixFs: PosixFs = {
  ...localPosixFs,
  // noop_fsync: the backend skips the calls (and the directory opens they need) rather than make them for nothing.
  fsyncIsNoop: true,
  // In memory a read or write of any size is a copy that no thread hand-over would make cheaper.
  write: (fd, buffer, offset, length, position) => inline(() => fse.writeSync(fd, buffer, offset, length, position)),
  read: (fd, buffer, offset, length, position) => inline(() => fse.readSync(fd, buffer, offset, length, position)),
  fsync: (fd) => inline(() => fse.fsyncSync(fd)),
};

/** statfs(2) `f_type` of the filesystems whose fsync does nothing (linux/magic.h). */
const MEMORY_FILESYSTEMS: ReadonlySet<number> = new Set([0x01021994 /* TMPFS_MAGIC */, 0x858458f6 /* RAMFS_MAGIC */]);

/**
 * Whether `path` (or, while it does not exist yet, its nearest existing
 * ancestor) is on tmpfs or ramfs. Anything that cannot be told says `false`:
 * the fsyncs then stay on the thread pool, which is always correct.
 */
export async function onMemoryFilesystem(path: string): Promise<boolean> {
  for (let p = path; ;) {
    try {
      return MEMORY_FILESYSTEMS.has(Number((await fs.promises.statfs(p)).type));
    } catch (err) {
      const parent = p.replace(/\/[^/]*$/, '') || '/';
      if ((err as { code?: unknown }).code !== 'ENOENT' || parent === p) return false;
      p = parent;
    }
  }
}
