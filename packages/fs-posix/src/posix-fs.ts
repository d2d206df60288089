/**
 * The slice of the POSIX file API that fs-posix (and fs-nfs) use, as an
 * injectable interface. `nodePosixFs` (in `node-posix-fs.ts`) is the real
 * thing over fs-extra (graceful-fs, `node:fs`); `@fanout/fs-memory` provides one over memfs and the
 * crash simulator provides one that records durability. Keeping it this small
 * and fd-based is what lets the simulator run the *real* backend code.
 *
 * Every method rejects with a Node-style error carrying `code` (`EEXIST`,
 * `ENOENT`, `ENOSPC`, `ELOOP`, `EISDIR`, `ENOTDIR`, `EIO`, `ESTALE`, …).
 */

/** What `lstat`/`fstat` return (the subset used). */
export interface PosixStats {
  isFile(): boolean;
  isDirectory(): boolean;
  isSymbolicLink(): boolean;
  readonly size: number;
  readonly mtimeMs: number;
  readonly ino: number | bigint;
  readonly dev: number | bigint;
  readonly nlink: number;
}

/** One directory entry from `opendir` (the subset of `fs.Dirent` used). */
export interface PosixDirent {
  readonly name: string;
  isFile(): boolean;
  isDirectory(): boolean;
  isSymbolicLink(): boolean;
}

/** An open directory stream; iterate it to read entries one by one. */
export interface PosixDir extends AsyncIterable<PosixDirent> {
  close(): Promise<void>;
}

/** Open flags, numerically as in `fs.constants` on Linux. */
export interface PosixFsConstants {
  readonly O_RDONLY: number;
  readonly O_WRONLY: number;
  readonly O_RDWR: number;
  readonly O_CREAT: number;
  readonly O_EXCL: number;
  readonly O_NOFOLLOW: number;
  readonly O_DIRECTORY: number;
  /**
   * Optional: when present, `read` opens with it so that a FIFO swapped in
   * after the kind check cannot block the open (regular files ignore it).
   */
  readonly O_NONBLOCK?: number;
}

/** The injectable file API. Paths are absolute POSIX paths. */
export interface PosixFs {
  readonly constants: PosixFsConstants;
  /**
   * Optional: true only where fsync(2) does nothing at all (tmpfs and ramfs, whose files and directories have the
   * kernel's `noop_fsync`: they live in memory and no sync makes them survive a power loss). The backend then makes
   * no fsync call and opens no directory to sync it, which is exactly what the calls would have achieved. Never set
   * it for storage that writes back anywhere.
   */
  readonly fsyncIsNoop?: boolean;
  /** open(2); resolves a file descriptor. */
  open(path: string, flags: number, mode?: number): Promise<number>;
  /** write(2) at `position` (or the current offset when null); resolves bytes written. */
  write(fd: number, buffer: Uint8Array, offset: number, length: number, position: number | null): Promise<number>;
  /** read(2); resolves bytes read, 0 at end of file. */
  read(fd: number, buffer: Uint8Array, offset: number, length: number, position: number | null): Promise<number>;
  /** fsync(2) of a file or a directory opened with O_DIRECTORY. */
  fsync(fd: number): Promise<void>;
  close(fd: number): Promise<void>;
  fstat(fd: number): Promise<PosixStats>;
  lstat(path: string): Promise<PosixStats>;
  /**
   * Optional: `lstat` that resolves `undefined` for a missing name instead of
   * rejecting with `ENOENT` (Node's `throwIfNoEntry: false`): the protocol
   * looks for many names that are usually absent (attempt counts, publish
   * targets), and an error object per miss is most of such a call's cost.
   * Any other failure rejects as `lstat` does.
   */
  lstatIfExists?(path: string): Promise<PosixStats | undefined>;
  link(existingPath: string, newPath: string): Promise<void>;
  unlink(path: string): Promise<void>;
  rename(oldPath: string, newPath: string): Promise<void>;
  mkdir(path: string, options: { recursive: boolean; mode?: number }): Promise<void>;
  /** A streaming directory reader (`fs.promises.opendir`). */
  opendir(path: string): Promise<PosixDir>;
}
