/**
 * The real {@link PosixFs}: a thin promise layer over `node:fs`'s
 * file-descriptor API. Stats are read with `bigint: true` so that 64-bit inode
 * numbers (XFS, btrfs, NFS file ids) compare exactly: the backends decide
 * "is this the same file?" by device and inode.
 */
import * as fs from 'node:fs';
import type { PosixDir, PosixFs, PosixStats } from './posix-fs.js';

function toPosixStats(s: fs.BigIntStats): PosixStats {
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

/** Node's `Dir` closes itself when an iteration ends; a second close must not fail. */
function toPosixDir(dir: fs.Dir): PosixDir {
  let closed = false;
  return {
    async *[Symbol.asyncIterator]() {
      try {
        for await (const entry of dir) yield entry;
      } finally {
        closed = true;
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      try {
        await dir.close();
      } catch (err) {
        if ((err as { code?: unknown }).code !== 'ERR_DIR_CLOSED') throw err;
      }
    },
  };
}

/** The default {@link PosixFs}, over `node:fs`. */
export const nodePosixFs: PosixFs = {
  constants: {
    O_RDONLY: fs.constants.O_RDONLY,
    O_WRONLY: fs.constants.O_WRONLY,
    O_RDWR: fs.constants.O_RDWR,
    O_CREAT: fs.constants.O_CREAT,
    O_EXCL: fs.constants.O_EXCL,
    O_NOFOLLOW: fs.constants.O_NOFOLLOW,
    O_DIRECTORY: fs.constants.O_DIRECTORY,
    O_NONBLOCK: fs.constants.O_NONBLOCK,
  },
  open: (path, flags, mode) =>
    new Promise((resolve, reject) => fs.open(path, flags, mode ?? 0o666, (e, fd) => (e ? reject(e) : resolve(fd)))),
  write: (fd, buffer, offset, length, position) =>
    new Promise((resolve, reject) =>
      fs.write(fd, buffer, offset, length, position, (e, n) => (e ? reject(e) : resolve(n))),
    ),
  read: (fd, buffer, offset, length, position) =>
    new Promise((resolve, reject) =>
      fs.read(fd, buffer, offset, length, position, (e, n) => (e ? reject(e) : resolve(n))),
    ),
  fsync: (fd) => new Promise((resolve, reject) => fs.fsync(fd, (e) => (e ? reject(e) : resolve()))),
  close: (fd) => new Promise((resolve, reject) => fs.close(fd, (e) => (e ? reject(e) : resolve()))),
  fstat: (fd) =>
    new Promise((resolve, reject) =>
      fs.fstat(fd, { bigint: true }, (e, s) => (e ? reject(e) : resolve(toPosixStats(s)))),
    ),
  lstat: async (path) => toPosixStats(await fs.promises.lstat(path, { bigint: true })),
  link: (existingPath, newPath) => fs.promises.link(existingPath, newPath),
  unlink: (path) => fs.promises.unlink(path),
  rename: (oldPath, newPath) => fs.promises.rename(oldPath, newPath),
  mkdir: async (path, options) => {
    await fs.promises.mkdir(path, options);
  },
  opendir: async (path) => toPosixDir(await fs.promises.opendir(path)),
};
