/**
 * The real {@link PosixFs}: a thin promise layer over fs-extra's file API,
 * that is graceful-fs's copy of `node:fs`. Stats are read with `bigint: true`
 * so that 64-bit inode numbers (XFS, btrfs, NFS file ids) compare exactly: the
 * backends decide "is this the same file?" by device and inode.
 *
 * Why fs-extra (graceful-fs underneath): an `open` that fails with `EMFILE` or
 * `ENFILE` (the process or the host is out of file descriptors) is queued and
 * tried again whenever a descriptor is closed anywhere in the process, for up
 * to 60 s, instead of failing the message it was for. Only opens wait so:
 * `write`, `read`, `fsync`, `close`, `link`, `unlink`, `rename`, `lstat`,
 * `fstat` and `mkdir` are Node's own calls, performed once, in the order the
 * backend makes them (pinned by `node-posix-fs.test.ts`). `opendir`, which
 * graceful-fs does not queue, waits here the same way ({@link opendirWhenDescriptorFree}).
 *
 * What importing it changes outside this package (graceful-fs's doing, once
 * per process): `fs.close`/`fs.closeSync` of `node:fs` also wake that queue
 * after a successful close (same result, same errors), and `process.cwd()` is
 * cached until `process.chdir()`. Nothing else of `node:fs` is replaced: every
 * other package's `open` fails with EMFILE exactly as before.
 */
import * as fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import fse from 'fs-extra';
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

/** How long an `opendir` waits for a free descriptor in all: graceful-fs's own limit for a queued open. */
export const DESCRIPTOR_WAIT_MS = 60_000;

function outOfDescriptors(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'EMFILE' || code === 'ENFILE';
}

/**
 * `opendir`, waiting while the process or the host is out of descriptors (up
 * to {@link DESCRIPTOR_WAIT_MS}, then the `EMFILE`/`ENFILE` is thrown), as
 * graceful-fs does for `open`: a listing is one descriptor, and failing it
 * would fail a whole pass for a shortage that the next close ends.
 */
export async function opendirWhenDescriptorFree(path: string, waitMs = DESCRIPTOR_WAIT_MS): Promise<fs.Dir> {
  const started = Date.now();
  for (let delay = 1; ; delay = Math.min(delay * 2, 100)) {
    try {
      return await fse.opendir(path);
    } catch (err) {
      if (!outOfDescriptors(err) || Date.now() - started >= waitMs) throw err;
      await sleep(delay);
    }
  }
}

/** The default {@link PosixFs}, over fs-extra (graceful-fs): see the module comment. */
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
    new Promise((resolve, reject) => fse.open(path, flags, mode ?? 0o666, (e, fd) => (e ? reject(e) : resolve(fd)))),
  write: (fd, buffer, offset, length, position) =>
    new Promise((resolve, reject) =>
      fse.write(fd, buffer, offset, length, position, (e, n) => (e ? reject(e) : resolve(n))),
    ),
  read: (fd, buffer, offset, length, position) =>
    new Promise((resolve, reject) =>
      fse.read(fd, buffer, offset, length, position, (e, n) => (e ? reject(e) : resolve(n))),
    ),
  fsync: (fd) => new Promise((resolve, reject) => fse.fsync(fd, (e) => (e ? reject(e) : resolve()))),
  // graceful-fs's close: after it, a queued open is tried again at once.
  close: (fd) => new Promise((resolve, reject) => fse.close(fd, (e) => (e ? reject(e) : resolve()))),
  fstat: async (fd) => toPosixStats(await fse.fstat(fd, { bigint: true })),
  lstat: async (path) => toPosixStats(await fse.lstat(path, { bigint: true })),
  link: (existingPath, newPath) => fse.link(existingPath, newPath),
  unlink: (path) => fse.unlink(path),
  rename: (oldPath, newPath) => fse.rename(oldPath, newPath),
  mkdir: async (path, options) => {
    await fse.mkdir(path, options);
  },
  opendir: async (path) => toPosixDir(await opendirWhenDescriptorFree(path)),
};
