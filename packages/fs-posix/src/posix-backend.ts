/**
 * `PosixBackend`: a spool in a directory of a local POSIX filesystem, through
 * an injectable {@link PosixFs} (default fs-extra's, over `node:fs`). Creation is `O_EXCL`,
 * publication is `link` + `unlink` (never clobbers), and `syncDir` fsyncs the
 * directory, which is what makes a created, linked or unlinked name durable
 * on Linux.
 */
import { posix as pathPosix } from 'node:path';
import {
  assertPlainName,
  FanoutError,
  type ContentSource,
  type CreateOptions,
  type EntryKind,
  type EntryStat,
  type SpoolBackend,
  type SpoolEntry,
  tempName,
} from '@fanout/core';
import { errnoCode, fromErrno, type ErrnoContext } from './errno.js';
import { localPosixFs } from './local-posix-fs.js';
import { MadeFiles } from './made-files.js';
import type { PosixDirent, PosixFs, PosixStats } from './posix-fs.js';
import { writeNewFile } from './write-new-file.js';

/** Size of each chunk `read` yields. */
export const READ_CHUNK_BYTES = 256 * 1024;

/** Bytes to ask for at `position` of a file whose size was `size` when opened. */
export function readSize(size: number, position: number): number {
  // One byte more than expected, so a file that grew is noticed without an extra read per chunk.
  if (position < size) return Math.min(READ_CHUNK_BYTES, size - position + 1);
  // At the expected end, a one-byte read confirms EOF; past it (the file grew), full chunks.
  return position === size ? 1 : READ_CHUNK_BYTES;
}

/** Options of {@link PosixBackend}. */
export interface PosixBackendOptions {
  /** Absolute path of the spool directory. */
  readonly root: string;
  /**
   * The file API; default {@link localPosixFs} (metadata calls on the calling thread, fsyncs on the
   * thread pool); {@link nodePosixFs} makes every call on the thread pool. Inject one to test or
   * simulate crashes.
   */
  readonly fs?: PosixFs;
  /** What errors and markers call this spool; default `root`. */
  readonly location?: string;
  /**
   * How `publish` gives the file its new name without clobbering:
   * - `'link'` (default): `link(from, to)` then `unlink(from)`. Never replaces
   *   `to`, even under concurrent publishers. A crash between the two leaves
   *   both names on one inode, which the next publish (recovery) completes.
   * - `'rename'`: for filesystems without hard links. Checks that `to` does not
   *   exist, then `rename(from, to)`. Racy: a `to` created by someone else
   *   between the check and the rename is replaced. Only safe when a single
   *   process publishes into the spool.
   */
  readonly publishMode?: 'link' | 'rename';
}

/** The kind of a stat result, without following links. */
export function kindOfStats(s: PosixStats): EntryKind {
  if (s.isSymbolicLink()) return 'symlink';
  if (s.isFile()) return 'file';
  if (s.isDirectory()) return 'directory';
  return 'other';
}

/** The identity two names share when they are one file: `${dev}:${ino}`. */
export function fileIdOf(s: PosixStats): string {
  return `${s.dev}:${s.ino}`;
}

/** True when two stats describe the same file (same device and inode). */
export function sameFile(a: PosixStats, b: PosixStats): boolean {
  return fileIdOf(a) === fileIdOf(b);
}

function kindOfDirent(d: PosixDirent): EntryKind | undefined {
  if (d.isSymbolicLink()) return 'symlink';
  if (d.isFile()) return 'file';
  if (d.isDirectory()) return 'directory';
  return undefined; // a FIFO, socket or device, or a filesystem that does not report types: lstat decides
}

/** A spool directory on a local POSIX filesystem; see the package README. */
export class PosixBackend implements SpoolBackend {
  readonly location: string;
  /** The spool directory's absolute path. */
  protected readonly root: string;
  protected readonly fs: PosixFs;
  protected readonly publishMode: 'link' | 'rename';
  /** Regular files this backend made and still holds under their name: their renames skip the kind check. */
  protected readonly made = new MadeFiles();

  constructor(options: PosixBackendOptions) {
    if (typeof options.root !== 'string' || !pathPosix.isAbsolute(options.root)) {
      throw new FanoutError('EUSAGE', `spool root must be an absolute path: ${JSON.stringify(options.root)}`, {
        spool: options.location ?? String(options.root),
      });
    }
    this.root = options.root.length > 1 ? options.root.replace(/\/+$/, '') : options.root;
    this.fs = options.fs ?? localPosixFs;
    this.location = options.location ?? this.root;
    this.publishMode = options.publishMode ?? 'link';
    // Rename mode is for filesystems without hard links; the contract says "no hard links" by having no link().
    if (this.publishMode === 'rename') Object.defineProperty(this, 'link', { value: undefined });
  }

  /** The absolute path of `name`, after checking it is a plain name. */
  protected pathOf(name: string): string {
    assertPlainName(name, this.location);
    return `${this.root === '/' ? '' : this.root}/${name}`;
  }

  protected where(file?: string): ErrnoContext {
    return file === undefined ? { spool: this.location } : { spool: this.location, file };
  }

  /** lstat that resolves `undefined` for a missing name and maps other failures. */
  protected async lstatOrUndefined(path: string, file?: string): Promise<PosixStats | undefined> {
    try {
      return await (this.fs.lstatIfExists ? this.fs.lstatIfExists(path) : this.fs.lstat(path));
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return undefined;
      throw fromErrno(err, 'lstat', this.where(file));
    }
  }

  /**
   * fsync a directory, which on Linux is what makes the names created, linked
   * or unlinked in it survive a crash. Subclasses may tolerate servers that
   * refuse directory fsyncs.
   */
  protected async fsyncDirectory(path: string, file?: string): Promise<void> {
    const c = this.fs.constants;
    let fd: number;
    try {
      fd = await this.fs.open(path, c.O_RDONLY | c.O_DIRECTORY);
    } catch (err) {
      throw fromErrno(err, 'open directory', this.where(file));
    }
    try {
      await this.fs.fsync(fd);
    } catch (err) {
      await this.fs.close(fd).catch(() => undefined);
      if (this.directoryFsyncRefused(err)) return;
      throw fromErrno(err, 'fsync directory', this.where(file));
    }
    try {
      await this.fs.close(fd);
    } catch (err) {
      throw fromErrno(err, 'close directory', this.where(file));
    }
  }

  /**
   * Whether a failed directory fsync is the storage declining the operation
   * (rather than failing it). Never on a local filesystem; fs-nfs overrides it.
   */
  protected directoryFsyncRefused(_err: unknown): boolean {
    return false;
  }

  async ensureContainer(): Promise<void> {
    // Remember which ancestors are missing: each one created needs its parent fsynced.
    const missing: string[] = [];
    for (let p = this.root; ; p = pathPosix.dirname(p)) {
      if ((await this.lstatOrUndefined(p)) !== undefined) break;
      missing.push(p);
      if (p === '/') break;
    }
    try {
      await this.fs.mkdir(this.root, { recursive: true });
    } catch (err) {
      // EEXIST from a recursive mkdir means a non-directory sits at the path.
      const code = errnoCode(err);
      if (code === 'EEXIST' || code === 'ENOTDIR') {
        throw new FanoutError('EBADENTRY', `spool location exists but is not a directory`, {
          ...this.where(),
          cause: err,
        });
      }
      throw fromErrno(err, 'mkdir', this.where());
    }
    // Opening with O_DIRECTORY also proves the root is (or links to) a directory.
    try {
      await this.fsyncDirectory(this.root);
    } catch (err) {
      if (err instanceof FanoutError && err.code === 'EBADENTRY') {
        throw new FanoutError('EBADENTRY', 'spool location exists but is not a directory', {
          ...this.where(),
          cause: err,
        });
      }
      throw err;
    }
    // Without these fsyncs a crash could forget the new directories (and every spool file in them).
    const parents = new Set(missing.map((p) => pathPosix.dirname(p)));
    // A root that already existed may come from an earlier call that crashed before its fsync.
    parents.add(pathPosix.dirname(this.root));
    for (const parent of parents) {
      if (parent !== this.root) await this.fsyncDirectory(parent);
    }
  }

  async createExclusive(name: string, content: ContentSource, options?: CreateOptions): Promise<number> {
    const path = this.pathOf(name);
    const c = this.fs.constants;
    // O_EXCL: exactly one concurrent creator wins and an existing entry of any kind (even a
    // dangling symlink) is refused; O_NOFOLLOW: never write through a planted symlink.
    const flags = c.O_WRONLY | c.O_CREAT | c.O_EXCL | c.O_NOFOLLOW;
    if (options?.whole !== true) {
      const written = await writeNewFile(
        this.fs,
        path,
        flags,
        content,
        options?.signal,
        this.where(name),
        options?.syncData !== false,
      );
      this.made.note(name);
      return written;
    }
    // Whole: under a temp name first (unique, so no O_EXCL race), then linked as `name` without clobbering.
    if ((await this.lstatOrUndefined(path, name)) !== undefined)
      throw new FanoutError('EEXIST', 'file exists', this.where(name));
    const temp = tempName();
    const tempPath = this.pathOf(temp);
    const bytes = await writeNewFile(
      this.fs,
      tempPath,
      flags,
      content,
      options.signal,
      this.where(name),
      options.syncData !== false,
    );
    try {
      const st = await this.lstatOrUndefined(tempPath, temp);
      if (st === undefined) throw new FanoutError('EIO', 'temp file vanished before it was linked', this.where(name));
      await this.linkNoClobber(name, name, tempPath, path, st);
    } finally {
      // A temp left by a crash here is a second name of the same file: recovery removes it once this writer is dead.
      await this.fs.unlink(tempPath).catch(() => undefined);
    }
    return bytes;
  }

  /** lstat `from` and insist on a regular file; the stats identify it for the no-clobber checks. */
  protected async publishSource(from: string, fromPath: string): Promise<PosixStats> {
    const st = await this.lstatOrUndefined(fromPath, from);
    if (st === undefined) throw new FanoutError('ENOENT', 'nothing to publish: no such file', this.where(from));
    if (!st.isFile()) {
      throw new FanoutError('EBADENTRY', `refusing to publish a ${kindOfStats(st)}`, this.where(from));
    }
    return st;
  }

  async publish(from: string, to: string): Promise<void> {
    const fromPath = this.pathOf(from);
    const toPath = this.pathOf(to);
    const source = await this.publishSource(from, fromPath);
    this.made.take(from);
    if (this.publishMode === 'rename') return this.publishByRename(from, to, fromPath, toPath, source);

    // `from` gone already: a concurrent publisher completed this very publish.
    if (await this.linkNoClobber(from, to, fromPath, toPath, source)) await this.unlinkPublished(from, fromPath);
  }

  /**
   * rename(2) `from` to `to` (the `SpoolBackend.rename` contract): atomic, so
   * of concurrent renames of one `from` exactly one succeeds; an existing `to`
   * that is another file is refused, one that is the same file (a crash kept
   * both names) completes the rename by removing `from`.
   */
  async rename(from: string, to: string): Promise<void> {
    const fromPath = this.pathOf(from);
    const toPath = this.pathOf(to);
    // A file this backend made or moved itself is known to be one; the kind check is for names found in the spool.
    const source = this.made.take(from) ? undefined : await this.publishSource(from, fromPath);
    await this.publishByRename(from, to, fromPath, toPath, source);
    this.made.note(to);
  }

  /** A hard link `to` → the file `from`, never replacing another file (the `SpoolBackend.link` contract). */
  async link(from: string, to: string): Promise<void> {
    const fromPath = this.pathOf(from);
    await this.linkNoClobber(from, to, fromPath, this.pathOf(to), await this.publishSource(from, fromPath));
  }

  /**
   * link(2) `fromPath` as `toPath`; resolves as well when `toPath` already is
   * the file `source` (an earlier link, or a concurrent publisher that got
   * there first), and refuses any other file there with `EEXIST`.
   * @returns false when `fromPath` had vanished (and `toPath` is `source`).
   */
  private async linkNoClobber(
    from: string,
    to: string,
    fromPath: string,
    toPath: string,
    source: PosixStats,
  ): Promise<boolean> {
    try {
      await this.fs.link(fromPath, toPath);
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'ENOENT') {
        // `from` vanished since the lstat: a concurrent publisher may have completed this very publish.
        const target = await this.lstatOrUndefined(toPath, to);
        if (target === undefined || !sameFile(target, source)) throw fromErrno(err, 'link', this.where(from));
        return false;
      }
      if (code !== 'EEXIST') throw fromErrno(err, 'link', this.where(to));
      const target = await this.lstatOrUndefined(toPath, to);
      if (target === undefined || !sameFile(target, source)) {
        throw new FanoutError('EEXIST', 'target exists and is another file', { ...this.where(to), cause: err });
      }
      // Both names on one inode already: an earlier call (or an interrupted publish) made this link.
    }
    return true;
  }

  /** The second half of a link-mode publish: drop the old name (gone already is fine). */
  protected async unlinkPublished(from: string, fromPath: string): Promise<void> {
    try {
      await this.fs.unlink(fromPath);
    } catch (err) {
      // ENOENT: a concurrent publisher of the same file got there first; the target is in place.
      if (errnoCode(err) !== 'ENOENT') throw fromErrno(err, 'unlink', this.where(from));
    }
  }

  /** rename(2) without clobbering; `source` is `from`'s stats when already taken (looked up here if needed). */
  protected async publishByRename(
    from: string,
    to: string,
    fromPath: string,
    toPath: string,
    source: PosixStats | undefined,
  ): Promise<void> {
    const target = await this.lstatOrUndefined(toPath, to);
    if (target !== undefined) {
      source ??= await this.publishSource(from, fromPath);
      if (!sameFile(target, source)) throw new FanoutError('EEXIST', 'publish target exists', this.where(to));
      await this.unlinkPublished(from, fromPath);
      return;
    }
    // Race (documented on publishMode): a `to` created between the lstat above and here is replaced.
    try {
      await this.fs.rename(fromPath, toPath);
    } catch (err) {
      throw fromErrno(err, 'rename', this.where(errnoCode(err) === 'ENOENT' ? from : to));
    }
  }

  async remove(name: string): Promise<boolean> {
    const path = this.pathOf(name);
    this.made.take(name);
    try {
      await this.fs.unlink(path);
      return true;
    } catch (err) {
      return this.removeFailed(name, path, err);
    }
  }

  /** Interpret a failed unlink: missing is `false`, a directory is `EBADENTRY`. */
  protected async removeFailed(name: string, path: string, err: unknown): Promise<boolean> {
    const code = errnoCode(err);
    if (code === 'ENOENT') return false;
    // Linux says EISDIR for a directory, macOS and some others EPERM: look before blaming permissions.
    if (code === 'EISDIR' || code === 'EPERM') {
      const st = await this.lstatOrUndefined(path, name);
      if (st?.isDirectory()) {
        throw new FanoutError('EBADENTRY', 'refusing to remove a directory', { ...this.where(name), cause: err });
      }
    }
    throw fromErrno(err, 'unlink', this.where(name));
  }

  async *list(): AsyncGenerator<SpoolEntry> {
    let dir;
    try {
      dir = await this.fs.opendir(this.root);
    } catch (err) {
      throw fromErrno(err, 'opendir', this.where());
    }
    try {
      for await (const entry of dir) {
        const name = entry.name;
        let kind = kindOfDirent(entry);
        if (kind === undefined) {
          const st = await this.lstatOrUndefined(`${this.root === '/' ? '' : this.root}/${name}`, name);
          if (st === undefined) continue; // removed while we listed
          kind = kindOfStats(st);
        }
        yield { name, kind };
      }
    } catch (err) {
      throw fromErrno(err, 'readdir', this.where());
    } finally {
      // A read-only directory handle: failing to close it loses nothing.
      await dir.close().catch(() => undefined);
    }
  }

  async stat(name: string): Promise<EntryStat | undefined> {
    const st = await this.lstatOrUndefined(this.pathOf(name), name);
    if (st === undefined) return undefined;
    return {
      kind: kindOfStats(st),
      size: st.isFile() ? st.size : 0,
      mtimeMs: st.mtimeMs,
      fileId: fileIdOf(st),
      nlink: st.nlink,
    };
  }

  read(name: string): AsyncIterable<Uint8Array> {
    const path = this.pathOf(name);
    return this.readFile(name, path);
  }

  private async *readFile(name: string, path: string): AsyncGenerator<Uint8Array> {
    const where = this.where(name);
    const c = this.fs.constants;
    if (c.O_NONBLOCK === undefined) {
      // Without O_NONBLOCK opening a FIFO would block: refuse non-files before opening.
      const st = await this.lstatOrUndefined(path, name);
      if (st === undefined) throw new FanoutError('ENOENT', 'no such file', where);
      if (!st.isFile()) throw new FanoutError('EBADENTRY', `not a regular file but a ${kindOfStats(st)}`, where);
    }
    let fd: number;
    try {
      // O_NOFOLLOW: a symlink is refused, never followed; O_NONBLOCK: a FIFO opens without waiting for a writer. The
      // fstat below then refuses whatever is not a regular file, one call fewer than an lstat before the open.
      fd = await this.fs.open(path, c.O_RDONLY | c.O_NOFOLLOW | (c.O_NONBLOCK ?? 0));
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'ELOOP') {
        throw new FanoutError('EBADENTRY', 'not a regular file but a symlink', { ...where, cause: err });
      }
      // ENXIO: a socket (or a device without its driver), which open(2) cannot open.
      if (code === 'ENXIO') {
        throw new FanoutError('EBADENTRY', 'not a regular file but a socket or device', { ...where, cause: err });
      }
      if (code === 'ENOENT') throw new FanoutError('ENOENT', 'no such file', { ...where, cause: err });
      throw fromErrno(err, 'open', where);
    }
    try {
      let opened: PosixStats;
      try {
        opened = await this.fs.fstat(fd);
      } catch (err) {
        throw fromErrno(err, 'fstat', where);
      }
      if (!opened.isFile())
        throw new FanoutError('EBADENTRY', `not a regular file but a ${kindOfStats(opened)}`, where);
      let position = 0;
      for (;;) {
        // Sized from fstat so a small message costs a small buffer; reading on to EOF (instead of
        // trusting the size) still copies exactly what the file holds.
        const buffer = new Uint8Array(readSize(opened.size, position));
        let n: number;
        try {
          n = await this.fs.read(fd, buffer, 0, buffer.byteLength, position);
        } catch (err) {
          throw fromErrno(err, 'read', where);
        }
        if (n === 0) return;
        position += n;
        yield n === buffer.byteLength ? buffer : buffer.subarray(0, n);
        // A regular file reads short only at its end: no second read to hear the end (one call per message).
        if (n < buffer.byteLength) return;
      }
    } finally {
      // Read-only descriptor: a close failure cannot lose data.
      await this.fs.close(fd).catch(() => undefined);
    }
  }

  async syncDir(): Promise<void> {
    // Linux makes creates, links and unlinks durable only once their directory is fsynced (on tmpfs and ramfs the
    // kernel's directory fsync does nothing: the names are as durable as they will ever be).
    if (this.fs.fsyncIsNoop === true) return;
    await this.fsyncDirectory(this.root);
  }

  async close(): Promise<void> {
    // Nothing is held between calls: every descriptor is closed by the call that opened it.
  }
}
