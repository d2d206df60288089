/**
 * A {@link PosixFs} over a memfs `Volume`, so that the real `PosixBackend`
 * code runs in memory. memfs 4.x departs from POSIX in ways a spool cares
 * about; this adapter restores POSIX behaviour where it matters (each
 * workaround is pinned by a test in `memfs-posix-fs.test.ts` that shows the raw
 * memfs bug, so we learn when memfs fixes it):
 *
 * - `rename` onto an existing name leaves the replaced file's link count as it
 *   was and the directory's child count one too high (a later `rmdir` of the
 *   emptied directory fails with ENOTEMPTY): the adapter unlinks the target
 *   first, in the same synchronous step.
 * - `rename` between two hard links of one file removes the source; POSIX says
 *   do nothing: the adapter does nothing.
 * - `rename` follows a symlink given as source (moving its target and leaving
 *   the link): the adapter moves the link itself.
 * - `rename` of a file onto a directory replaces the directory; POSIX says
 *   EISDIR (and ENOTDIR / ENOTEMPTY for a directory onto a file / a non-empty
 *   directory).
 * - `link` of a directory succeeds; POSIX says EPERM.
 * - `mkdir -p` over an existing file succeeds; POSIX says EEXIST.
 * - `write` through a read-only descriptor succeeds; POSIX says EBADF.
 * - `read` of a directory descriptor returns 0; POSIX says EISDIR.
 *
 * Every operation runs memfs's synchronous API inside one call, so it is
 * atomic with respect to other JavaScript, as a system call is.
 * `fsync` validates the descriptor and does nothing else: memory has nothing
 * to flush, and the volume does not survive the process anyway.
 */
import type { PosixDir, PosixDirent, PosixFs, PosixStats } from '@fanout/fs-posix';
import type { Volume } from 'memfs';

/** Linux open flags; memfs uses the same numbers. */
const O = {
  O_RDONLY: 0,
  O_WRONLY: 1,
  O_RDWR: 2,
  O_ACCMODE: 3,
  O_CREAT: 0o100,
  O_EXCL: 0o200,
  O_NONBLOCK: 0o4000,
  O_DIRECTORY: 0o200000,
  O_NOFOLLOW: 0o400000,
} as const;

/** A Node-style system error: `code`, `syscall`, `path`, as node:fs throws them. */
export function posixError(code: string, syscall: string, path: string, dest?: string): NodeJS.ErrnoException {
  const messages: Record<string, string> = {
    EBADF: 'bad file descriptor',
    EEXIST: 'file already exists',
    EINVAL: 'invalid argument',
    EISDIR: 'illegal operation on a directory',
    ENOTDIR: 'not a directory',
    ENOTEMPTY: 'directory not empty',
    EPERM: 'operation not permitted',
  };
  const where = dest === undefined ? `'${path}'` : `'${path}' -> '${dest}'`;
  const err: NodeJS.ErrnoException = new Error(`${code}: ${messages[code] ?? code}, ${syscall} ${where}`);
  err.code = code;
  err.syscall = syscall;
  err.path = path;
  if (dest !== undefined) (err as { dest?: string }).dest = dest;
  return err;
}

interface MemfsStats {
  isFile(): boolean;
  isDirectory(): boolean;
  isSymbolicLink(): boolean;
  size: number;
  mtimeMs: number;
  ino: number;
  dev: number;
  nlink: number;
}

function toPosixStats(s: MemfsStats): PosixStats {
  return {
    isFile: () => s.isFile(),
    isDirectory: () => s.isDirectory(),
    isSymbolicLink: () => s.isSymbolicLink(),
    size: Number(s.size),
    mtimeMs: Number(s.mtimeMs),
    ino: s.ino,
    dev: s.dev,
    nlink: Number(s.nlink),
  };
}

function errnoCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null ? ((err as { code?: unknown }).code as string | undefined) : undefined;
}

function parentOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

/** Run a synchronous memfs call as an async one: errors become rejections, like node:fs/promises. */
function async<T>(fn: () => T): Promise<T> {
  try {
    return Promise.resolve(fn());
  } catch (err) {
    return Promise.reject(err);
  }
}

/**
 * The {@link PosixFs} for a memfs volume. Paths are absolute paths in `vol`.
 *
 * @example
 * const vol = new Volume();
 * const backend = new PosixBackend({ root: '/spool', fs: memfsPosixFs(vol) });
 */
export function memfsPosixFs(vol: Volume): PosixFs {
  /** The access mode each open descriptor was opened with (memfs does not enforce it). */
  const accessModes = new Map<number, number>();

  const lstatOrUndefined = (path: string): MemfsStats | undefined => {
    try {
      return vol.lstatSync(path) as unknown as MemfsStats;
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return undefined;
      throw err;
    }
  };

  const isEmptyDirectory = (path: string): boolean => vol.readdirSync(path).length === 0;

  /** POSIX rename(2), from memfs primitives that behave. */
  const rename = (oldPath: string, newPath: string): void => {
    const source = vol.lstatSync(oldPath) as unknown as MemfsStats; // ENOENT when missing, never follows
    const target = lstatOrUndefined(newPath);
    if (source.isDirectory() && (newPath + '/').startsWith(oldPath.replace(/\/+$/, '') + '/') && newPath !== oldPath) {
      throw posixError('EINVAL', 'rename', oldPath, newPath);
    }
    if (target !== undefined) {
      // Two names of one file: POSIX rename does nothing and reports success.
      if (target.ino === source.ino && target.dev === source.dev) return;
      if (source.isDirectory()) {
        if (!target.isDirectory()) throw posixError('ENOTDIR', 'rename', oldPath, newPath);
        if (!isEmptyDirectory(newPath)) throw posixError('ENOTEMPTY', 'rename', oldPath, newPath);
        vol.rmdirSync(newPath);
      } else {
        if (target.isDirectory()) throw posixError('EISDIR', 'rename', oldPath, newPath);
        // memfs would overwrite without dropping the old file's link: drop it properly first.
        vol.unlinkSync(newPath);
      }
    } else {
      // Let memfs report a missing or non-directory parent of the target before anything changes.
      const parent = vol.statSync(parentOf(newPath)) as unknown as MemfsStats;
      if (!parent.isDirectory()) throw posixError('ENOTDIR', 'rename', oldPath, newPath);
    }
    if (source.isSymbolicLink()) {
      // memfs renames what the link points to; move the link itself.
      vol.symlinkSync(String(vol.readlinkSync(oldPath)), newPath);
      vol.unlinkSync(oldPath);
      return;
    }
    vol.renameSync(oldPath, newPath);
  };

  const toPosixDir = (dir: AsyncIterable<unknown> & { close(): Promise<void> }): PosixDir => {
    let closed = false;
    return {
      async *[Symbol.asyncIterator]() {
        try {
          for await (const entry of dir) yield entry as PosixDirent;
        } finally {
          closed = true; // memfs, like node:fs, closes the Dir when iteration ends
        }
      },
      async close() {
        if (closed) return;
        closed = true;
        try {
          await dir.close();
        } catch (err) {
          if (errnoCode(err) !== 'ERR_DIR_CLOSED') throw err;
        }
      },
    };
  };

  return {
    constants: {
      O_RDONLY: O.O_RDONLY,
      O_WRONLY: O.O_WRONLY,
      O_RDWR: O.O_RDWR,
      O_CREAT: O.O_CREAT,
      O_EXCL: O.O_EXCL,
      O_NOFOLLOW: O.O_NOFOLLOW,
      O_DIRECTORY: O.O_DIRECTORY,
      O_NONBLOCK: O.O_NONBLOCK,
    },
    open: (path, flags, mode) =>
      async(() => {
        const fd = vol.openSync(path, flags, mode ?? 0o666) as number;
        accessModes.set(fd, flags & O.O_ACCMODE);
        return fd;
      }),
    write: (fd, buffer, offset, length, position) =>
      async(() => {
        const accessMode = accessModes.get(fd);
        if (accessMode === O.O_RDONLY) throw posixError('EBADF', 'write', String(fd));
        return vol.writeSync(fd, buffer, offset, length, position);
      }),
    read: (fd, buffer, offset, length, position) =>
      async(() => {
        if ((vol.fstatSync(fd) as unknown as MemfsStats).isDirectory()) throw posixError('EISDIR', 'read', String(fd));
        return vol.readSync(fd, buffer, offset, length, position);
      }),
    // Nothing to flush in memory; fstat still reports EBADF for a descriptor that is not open.
    fsync: (fd) => async(() => vol.fsyncSync(fd)),
    close: (fd) =>
      async(() => {
        vol.closeSync(fd);
        accessModes.delete(fd);
      }),
    fstat: (fd) => async(() => toPosixStats(vol.fstatSync(fd) as unknown as MemfsStats)),
    lstat: (path) => async(() => toPosixStats(vol.lstatSync(path) as unknown as MemfsStats)),
    link: (existingPath, newPath) =>
      async(() => {
        const source = vol.lstatSync(existingPath) as unknown as MemfsStats;
        if (source.isDirectory()) throw posixError('EPERM', 'link', existingPath, newPath);
        vol.linkSync(existingPath, newPath);
      }),
    unlink: (path) => async(() => vol.unlinkSync(path)),
    rename: (oldPath, newPath) => async(() => rename(oldPath, newPath)),
    mkdir: (path, options) =>
      async(() => {
        vol.mkdirSync(path, options);
        // memfs's mkdir -p accepts a file where the directory should be.
        if (options.recursive && !(vol.statSync(path) as unknown as MemfsStats).isDirectory()) {
          throw posixError('EEXIST', 'mkdir', path);
        }
      }),
    opendir: async (path) =>
      toPosixDir((await vol.promises.opendir(path)) as unknown as AsyncIterable<unknown> & { close(): Promise<void> }),
  };
}
