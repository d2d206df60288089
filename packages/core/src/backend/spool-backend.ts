/**
 * The backend contract: the few operations the fan-out protocol needs from a
 * storage system, and nothing more. One instance serves one spool (a directory
 * or a WebDAV collection). Names are plain file names inside that spool: never
 * a path, never containing `/`, `\0`, or equal to `.`/`..`; a backend throws
 * `EUSAGE` for anything else.
 *
 * Every method rejects only with a {@link FanoutError} whose `code` is listed in
 * its TSDoc (plus `EIO`, `EUNAVAILABLE`, `EACCES` and `ENOSPC` where the
 * storage fails), with `spool` set to {@link SpoolBackend.location} and `file`
 * to the name concerned. The core never reads error messages, only codes.
 *
 * Durability vocabulary: a *durable* effect survives a machine crash. File data
 * is durable once {@link SpoolBackend.createExclusive} resolves (it syncs the
 * file); a change to the spool's set of names (create, publish, remove) is
 * durable only after a later {@link SpoolBackend.syncDir} resolves (where the
 * storage gives no such control, WebDAV, the backend's README says so).
 *
 * Where backends differ, the contract says so by an optional method, never by
 * a flag beside it: a backend has hard links exactly when it has
 * {@link SpoolBackend.link}.
 */
import type { FanoutError } from '../errors/fanout-error.js';

/** What a directory entry is, determined without following symbolic links. */
export type EntryKind = 'file' | 'directory' | 'symlink' | 'other';

/** How an entry kind reads in a sentence: "a symlink", "a special file (FIFO, socket or device)". */
export function describeKind(kind: EntryKind): string {
  return kind === 'other'
    ? 'a special file (FIFO, socket or device)'
    : kind === 'directory'
      ? 'a directory'
      : `a ${kind}`;
}

/** One entry of a spool listing. */
export interface SpoolEntry {
  /** The entry's name inside the spool. */
  readonly name: string;
  /** Its kind; a symlink is reported as `symlink`, never as what it points to. */
  readonly kind: EntryKind;
}

/** What {@link SpoolBackend.stat} tells about a name. */
export interface EntryStat {
  readonly kind: EntryKind;
  /** Size in bytes (0 for anything but a file if unknown). */
  readonly size: number;
  /** Last modification time, ms since the epoch (0 if unknown). */
  readonly mtimeMs: number;
  /**
   * An identity of the underlying file that two names share when they are the
   * same file (device and inode on POSIX, an ETag or resource id elsewhere);
   * `undefined` when the backend cannot tell.
   */
  readonly fileId: string | undefined;
  /** Number of names the file has, when the backend knows it. */
  readonly nlink: number | undefined;
}

/** Content to write: bytes, or a stream of bytes (a Node `Readable` is one). */
export type ContentSource = Uint8Array | AsyncIterable<Uint8Array>;

/** Options of {@link SpoolBackend.createExclusive}. */
export interface CreateOptions {
  /** Abort the write; the partial file is removed and `EABORTED` thrown. */
  readonly signal?: AbortSignal;
  /**
   * `false`: skip the data sync, for files whose content nobody relies on
   * after a crash (the seed protocol's lock files, where the name is the
   * lock). Default `true`.
   */
  readonly syncData?: boolean;
  /**
   * `true`: the name appears only with its whole, synced content (written
   * under a temp name first, then given the name without clobbering), so no
   * reader, and no crash, ever finds it empty or partial. For files whose
   * content tells who made them (the seed protocol's lock files). Backends
   * whose creates already work that way (fs-nfs, fs-webdav) ignore it.
   */
  readonly whole?: boolean;
}

/**
 * One spool on one storage system. Implemented by `@fanout/fs-posix`,
 * `@fanout/fs-nfs`, `@fanout/fs-memory` and `@fanout/fs-webdav`; checked by the
 * conformance suite in `@fanout/core/testing`.
 */
export interface SpoolBackend {
  /**
   * Where the spool is, as a URL or path an operator recognises. It is
   * written into markers and error messages, so it never contains credentials.
   */
  readonly location: string;

  /**
   * Create the spool's container (directory, collection) and any missing
   * parents; durable when it resolves. Resolves if it already exists.
   * @throws `EBADENTRY` if the location exists but is not a directory.
   */
  ensureContainer(): Promise<void>;

  /**
   * Create `name`, which must not exist, write `content` to it, make the data
   * durable (fsync) and close it. Exclusive: of any number of concurrent
   * callers with the same name, exactly one succeeds and the others get
   * `EEXIST`, and an existing file is never modified. Never follows a symlink.
   * (`options.syncData: false` skips the data sync.)
   * The new *name* is durable only after {@link SpoolBackend.syncDir}.
   *
   * Content is streamed: memory use does not grow with its size.
   * On any failure after the name was created (the content stream throws,
   * `ENOSPC`, abort) the partial file is removed before the error is rethrown.
   *
   * @returns the number of bytes written.
   * @throws `EEXIST` when `name` exists (whatever its kind); `ENOENT` when the
   *   container is missing; `ENOSPC`; `EABORTED`; the content stream's own
   *   error, wrapped as `EIO` unless it is already a FanoutError.
   */
  createExclusive(name: string, content: ContentSource, options?: CreateOptions): Promise<number>;

  /**
   * Give the file `from` the name `to` without ever replacing an existing
   * `to`, and remove the name `from`. Consumers see `to` appear complete.
   *
   * If `to` already exists and is the very same file as `from` (a publish
   * interrupted between its link and its unlink), the publish is completed by
   * removing `from` and resolves. The change is durable after
   * {@link SpoolBackend.syncDir}.
   *
   * @throws `EEXIST` when `to` exists and is another file (nothing changed);
   *   `ENOENT` when `from` does not exist (nothing changed);
   *   `EBADENTRY` when `from` is not a regular file.
   */
  publish(from: string, to: string): Promise<void>;

  /**
   * Move the file `from` to the new name `to` in one atomic step (rename(2),
   * WebDAV `MOVE`): of any number of concurrent renames of the same `from`,
   * exactly one succeeds and the others get `ENOENT`. This is the protocol's
   * fence: an attempt's commit (`p<id>.<tx>` → `k<id>.<tx>`) and a
   * recoverer's takeover (`p<id>.<tx>` → `b<id>.<tx>`) race on it and only
   * one can win. `to` is a name nobody else creates (attempt-specific, or
   * the message's own name on its way back); an existing `to` that is another
   * file is refused with `EEXIST` (checked just before: a creator outside the
   * protocol racing that check is not guarded against). If `to` already is
   * the same file (a crash left both names), `from` is removed and it
   * resolves. Implementations verify by file identity where a reply can be
   * lost (NFS: a retransmitted rename that succeeded answers `ENOENT`). The
   * change is durable after {@link SpoolBackend.syncDir}.
   *
   * @throws `ENOENT` when `from` does not exist (someone else moved it);
   *   `EEXIST` when `to` is another file; `EBADENTRY` when `from` is not a
   *   regular file.
   */
  rename(from: string, to: string): Promise<void>;

  /**
   * Give the file `from` the additional name `to` (a hard link), without
   * ever replacing an existing `to`; `from` keeps its name. Present exactly
   * when the storage has hard links (absent on WebDAV, and on fs-posix in
   * `publishMode: 'rename'`). With it, the seed protocol links the locks of
   * an attempt's messages to its first lock file in a destination; without
   * it, each lock is a file of its own.
   *
   * If `to` already names the very same file (an earlier call whose reply was
   * lost), it resolves. The new name is durable after
   * {@link SpoolBackend.syncDir}.
   *
   * @throws `EEXIST` when `to` exists and is another file (nothing changed);
   *   `ENOENT` when `from` does not exist; `EBADENTRY` when `from` is not a
   *   regular file.
   */
  link?(from: string, to: string): Promise<void>;

  /**
   * Remove the name `name` (a regular file; never a directory, and a symlink
   * is removed as a link, never followed).
   * @returns `true` if it removed the name, `false` if it did not exist.
   * @throws `EBADENTRY` when `name` is a directory.
   */
  remove(name: string): Promise<boolean>;

  /**
   * Stream the spool's entries, without `.` and `..`, in no particular order,
   * without holding the whole listing in memory. Each entry's kind is
   * determined without following links. Entries created or removed while the
   * iteration runs may or may not be reported (as with `readdir`).
   * @throws `ENOENT` (as `ENOTSPOOL` is the core's business) when the
   *   container does not exist.
   */
  list(): AsyncIterable<SpoolEntry>;

  /**
   * Describe `name` without following a symlink.
   * @returns `undefined` when it does not exist.
   */
  stat(name: string): Promise<EntryStat | undefined>;

  /**
   * Stream the content of the regular file `name` without holding it in
   * memory. Never follows a symlink.
   * @throws `ENOENT` when it does not exist; `EBADENTRY` when it is not a
   *   regular file (a symlink, a directory, a FIFO…).
   */
  read(name: string): AsyncIterable<Uint8Array>;

  /**
   * Make every earlier create, publish and remove in this spool durable
   * (fsync of the directory). A no-op where the storage offers no such
   * control (WebDAV: a 2xx reply is not a durability promise).
   */
  syncDir(): Promise<void>;

  /** Release resources (connections, handles). The backend is unusable afterwards. */
  close(): Promise<void>;
}

/** Opens the spool at a location; supplied by whoever knows the backends (the CLI, a test). */
export type SpoolOpener = (location: string) => Promise<SpoolBackend>;

/** @internal keeps the import used for TSDoc links. */
export type _ErrorForDocs = FanoutError;
