/**
 * `NfsBackend`: a spool on an NFS mount. It is {@link PosixBackend} with the
 * steps NFS makes unreliable replaced:
 *
 * - exclusive creation writes a uniquely named temp file and `link()`s it to
 *   the name, because `O_EXCL` is not reliable over NFS;
 * - every `link` is verified by device and inode (Postfix's `sane_link`), so a
 *   retransmitted request whose first reply was lost, which answers `EEXIST`
 *   although it succeeded, is recognised — and a "success" that did not
 *   happen is not believed;
 * - an `ENOENT` from the unlink that completes a publish counts only when the
 *   publish is proven (source gone, target is the expected inode);
 * - `ESTALE`, `EIO`, `ETIMEDOUT` and `EAGAIN` are retried with bounded
 *   exponential backoff;
 * - a directory fsync the server declines (`EINVAL`…) is not an error;
 * - on a GlusterFS volume distributed over several subvolumes, where `link()`
 *   is not exclusive, creation, publication and links are refused (`ENOTSUP`).
 */
import { dirname } from 'node:path';
import {
  FanoutError,
  type ContentSource,
  type CreateOptions,
  type OwnerInfo,
  type SpoolEntry,
  tempName,
} from '@fanout/core';
import {
  errnoCode,
  fromErrno,
  nodePosixFs,
  PosixBackend,
  sameFile,
  writeNewFile,
  type PosixBackendOptions,
  type PosixStats,
} from '@fanout/fs-posix';
import { glusterMountOf, glusterRefusal } from './gluster.js';
import { backoffDelay, gaveUp, isRetryable, retryingFs, retryPolicy, type RetryPolicy } from './retry.js';

/** Options of {@link NfsBackend}. */
export interface NfsBackendOptions extends Omit<PosixBackendOptions, 'publishMode'> {
  /** Retry policy for transient NFS failures; defaults to {@link DEFAULT_RETRY_POLICY}. */
  readonly retry?: Partial<RetryPolicy>;
  /**
   * The writer recorded in temp names (the core's `tempName()`,
   * `t<ULID>.<owner tag>`); default the core's `processOwner()`, i.e. this
   * process. Only for tests: recovery judges a temp by this identity.
   */
  readonly owner?: OwnerInfo;
  /**
   * The mount table read to tell which filesystem the spool is on (GlusterFS: see the README), default
   * `/proc/self/mountinfo`; only for tests.
   */
  readonly mountInfo?: string;
}

/** Errors with which NFS servers and clients decline a directory fsync. */
const DIRECTORY_FSYNC_REFUSALS: ReadonlySet<string> = new Set(['EINVAL', 'ENOTSUP', 'EOPNOTSUPP', 'EBADF']);

/** A spool on an NFS-mounted directory; see the package README for mount options. */
export class NfsBackend extends PosixBackend {
  private readonly retry: RetryPolicy;
  private readonly owner: OwnerInfo | undefined;
  private readonly mountInfo: string | undefined;
  /** The refusal found by the first create, publish or link; `null` once none was found. */
  private linksRefusal: FanoutError | null | undefined;

  constructor(options: NfsBackendOptions) {
    const retry = retryPolicy(options.retry);
    super({ ...options, fs: retryingFs(options.fs ?? nodePosixFs, retry), publishMode: 'link' });
    this.retry = retry;
    this.owner = options.owner;
    this.mountInfo = options.mountInfo;
  }

  /**
   * Refuse (`ENOTSUP`) the operations that need an exclusive `link()` (create, publish, link) on a filesystem where it
   * is not: a GlusterFS volume distributed over several subvolumes. Looked up once, on the first such operation,
   * through the host's own filesystem (never the injected one), by the mount table and the GlusterFS client's graph.
   * Synchronously (a few small files in /proc and the FUSE mount's `.meta`): an await here would put real I/O
   * between the backend's own calls, and the crash checker's schedules over a simulated filesystem would then
   * depend on how fast the host answered (seen: fewer, and varying, crash states in its NFS scenarios).
   */
  private requireExclusiveLinks(): void {
    this.linksRefusal ??= glusterRefusal(glusterMountOf(this.root, this.mountInfo), this.location) ?? null;
    if (this.linksRefusal !== null) throw this.linksRefusal;
  }

  protected override directoryFsyncRefused(err: unknown): boolean {
    // Some servers reject COMMIT on a directory (Exim ignores EINVAL here too). NFS servers must
    // commit directory changes before replying, so no durability is lost when the server is sane.
    const code = errnoCode(err);
    return code !== undefined && DIRECTORY_FSYNC_REFUSALS.has(code);
  }

  private async pause(retry: number): Promise<void> {
    await this.retry.sleep(backoffDelay(this.retry, retry));
  }

  override async createExclusive(name: string, content: ContentSource, options?: CreateOptions): Promise<number> {
    const targetPath = this.pathOf(name);
    this.requireExclusiveLinks();
    // Refuse early so that an existing name does not cost a whole copy; the link below decides races.
    if ((await this.lstatOrUndefined(targetPath, name)) !== undefined) {
      throw new FanoutError('EEXIST', 'file exists', this.where(name));
    }
    // The core's one temp name: unique (ULID), and naming this writer exactly, so recovery removes it only once we are
    // dead.
    const tempPath = this.pathOf(tempName(this.owner));
    const c = this.fs.constants;
    // No O_EXCL: the random name is unique, and without it the open can be retried after a lost reply.
    const flags = c.O_WRONLY | c.O_CREAT | c.O_NOFOLLOW;
    // writeNewFile fsyncs the temp: its data is durable before any name points at it.
    const bytes = await writeNewFile(
      this.fs,
      tempPath,
      flags,
      content,
      options?.signal,
      this.where(name),
      options?.syncData !== false,
    );
    try {
      const temp = await this.lstatOrUndefined(tempPath, name);
      if (temp === undefined) throw new FanoutError('EIO', 'temp file vanished before it was linked', this.where(name));
      await this.linkVerified(tempPath, targetPath, temp, name, name);
    } catch (err) {
      await this.unlinkIdempotent(tempPath).catch(() => undefined);
      throw err;
    }
    // The name is in place and verified; a temp left behind by a persistent failure is only a second
    // name of the same file, which recovery deletes once this writer is dead.
    await this.unlinkIdempotent(tempPath).catch(() => undefined);
    return bytes;
  }

  override async publish(from: string, to: string): Promise<void> {
    const fromPath = this.pathOf(from);
    const toPath = this.pathOf(to);
    this.requireExclusiveLinks();
    const source = await this.publishSource(from, fromPath);
    await this.linkVerified(fromPath, toPath, source, to, from);
    await this.unlinkProven(from, fromPath, toPath, source);
  }

  /**
   * rename(2), verified by inode whatever the reply said: a retransmitted
   * rename that succeeded answers `ENOENT` (its source is gone), and only the
   * file in place at `to` tells success from a rename somebody else won.
   */
  override async rename(from: string, to: string): Promise<void> {
    const fromPath = this.pathOf(from);
    const toPath = this.pathOf(to);
    const source = await this.publishSource(from, fromPath);
    const existing = await this.lstatOrUndefined(toPath, to);
    if (existing !== undefined) {
      if (!sameFile(existing, source))
        throw new FanoutError('EEXIST', 'rename target exists and is another file', this.where(to));
      await this.remove(from);
      return;
    }
    try {
      await this.fs.rename(fromPath, toPath);
    } catch (err) {
      // The new name may be answered from a negative lookup cached before the call (the kernel looks the target
      // up first): only a look after revalidating the directory tells a lost reply from a rename that failed.
      const landed = await this.lstatAfterFailure(toPath, to);
      if (landed !== undefined && sameFile(landed, source)) {
        // Our own rename, answered late: make sure no second name of it is left behind.
        const old = await this.lstatOrUndefined(fromPath, from);
        if (old !== undefined && sameFile(old, source)) await this.remove(from);
        return;
      }
      throw fromErrno(err, 'rename', this.where(errnoCode(err) === 'ENOENT' ? from : to));
    }
  }

  /**
   * Read `name`; an `ENOENT` before the first byte is asked again once, after
   * opening the spool directory. The client may answer "no such file" from a
   * cached negative lookup made before another host created the name (the
   * default `lookupcache=all`, for up to `acdirmax`); opening the directory
   * revalidates its attributes, and a changed directory drops those entries.
   * Issue 15 saw existing spools reported as not spools (ENOTSPOOL) on NFS:
   * an identity read as missing.
   */
  override read(name: string): AsyncIterable<Uint8Array> {
    const first = super.read(name);
    const again = () => super.read(name);
    const revalidate = () => this.revalidateDirectory();
    return {
      async *[Symbol.asyncIterator]() {
        let started = false;
        try {
          for await (const chunk of first) {
            started = true;
            yield chunk;
          }
        } catch (err) {
          if (started || !(err instanceof FanoutError) || err.code !== 'ENOENT') throw err;
          await revalidate();
          yield* again();
        }
      },
    };
  }

  /**
   * List the spool; an `ENOENT` for the spool directory itself is asked again
   * once, after opening its parent: as for {@link NfsBackend.read}, a lookup the client
   * cached as missing before another host made the directory (issue 15:
   * consumers stopped on "open directory failed: ENOENT" for a spool that exists).
   */
  override list(): AsyncGenerator<SpoolEntry> {
    const first = super.list();
    const again = () => super.list();
    const revalidate = () => this.revalidateDirectory(dirname(this.root));
    return (async function* () {
      let started = false;
      try {
        for await (const entry of first) {
          started = true;
          yield entry;
        }
      } catch (err) {
        if (started || !(err instanceof FanoutError) || err.code !== 'ENOENT') throw err;
        await revalidate();
        yield* again();
      }
    })();
  }

  /**
   * `lstat` of a name a failed call may have made: a missing answer is asked again once the directory has been
   * revalidated, since it may come from a negative lookup cached before the call. (Seen on real NFS v4.2: a rename
   * whose reply was lost answered ENOENT on retransmission, and the new name still looked missing.)
   */
  private async lstatAfterFailure(path: string, name: string): Promise<PosixStats | undefined> {
    const first = await this.lstatOrUndefined(path, name);
    if (first !== undefined) return first;
    await this.revalidateDirectory(dirname(path));
    return this.lstatOrUndefined(path, name);
  }

  /** Open and close the spool directory: the client revalidates its attributes (and so its cached lookups). */
  private async revalidateDirectory(path: string = this.root): Promise<void> {
    try {
      const dir = await this.fs.opendir(path);
      await dir.close();
    } catch {
      // The read that follows reports what is wrong.
    }
  }

  /** A hard link, verified by inode whatever the reply said (a retransmitted link may answer EEXIST). */
  override async link(from: string, to: string): Promise<void> {
    const fromPath = this.pathOf(from);
    const toPath = this.pathOf(to);
    this.requireExclusiveLinks();
    const source = await this.publishSource(from, fromPath);
    await this.linkVerified(fromPath, toPath, source, to, from);
  }

  /**
   * unlink(2), retried on the errors a flaky server gives. A first `ENOENT` is asked again once the directory has
   * been revalidated: the client may answer it from a negative lookup cached before another host made the name (a
   * recovery removing, through a record it kept, the copy a partitioned owner made after the takeover).
   */
  override async remove(name: string): Promise<boolean> {
    const path = this.pathOf(name);
    let mayHaveRemoved = false;
    let revalidated = false;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.fs.unlink(path);
        return true;
      } catch (err) {
        if (errnoCode(err) === 'ENOENT') {
          // After a failed attempt, ENOENT may be that attempt's own work whose reply was lost.
          if (mayHaveRemoved || revalidated) return mayHaveRemoved;
          revalidated = true;
          await this.revalidateDirectory(dirname(path));
          attempt--; // a second look, not a retry
          continue;
        }
        if (!isRetryable(err)) return this.removeFailed(name, path, err);
        if (attempt >= this.retry.tries) throw fromErrno(gaveUp(err, attempt), 'unlink', this.where(name));
        mayHaveRemoved = true;
        await this.pause(attempt);
      }
    }
  }

  /**
   * `link(fromPath, toPath)` and make sure `toPath` is the file `expected`,
   * whatever the reply said: an error reply with the right inode in place is a
   * lost reply (success); a success reply with another file there is `EEXIST`.
   * @param file the name reported for `EEXIST` and other failures.
   * @param fromFile the name reported when the source is missing (`ENOENT`).
   */
  private async linkVerified(
    fromPath: string,
    toPath: string,
    expected: PosixStats,
    file: string,
    fromFile: string,
  ): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      let failure: unknown;
      try {
        await this.fs.link(fromPath, toPath);
      } catch (err) {
        failure = err;
      }
      // Whatever the reply, a name that looks missing is looked at again past the lookup cache (real NFS v4.2 under
      // packet loss: a link that answered success, then an lstat that said the new name was not there).
      const target = await this.lstatAfterFailure(toPath, file);
      if (target !== undefined && sameFile(target, expected)) return;
      if (target !== undefined) {
        throw new FanoutError('EEXIST', 'file exists', { ...this.where(file), cause: failure });
      }
      if (failure === undefined) {
        // A link that succeeded and whose new name is already gone again: another host took the message it published
        // (a worker's rename of a fresh s<ID>, seen on real NFS v3 and v4.2 while 30% of this client's packets were
        // lost). The source's link count shows the link was made, whatever has since happened to its name.
        const source = await this.lstatOrUndefined(fromPath, fromFile);
        if (source !== undefined && sameFile(source, expected) && source.nlink > expected.nlink) return;
        throw new FanoutError('EIO', 'link reported success but the new name is not there', this.where(file));
      }
      if (isRetryable(failure) && attempt < this.retry.tries) {
        await this.pause(attempt);
        continue;
      }
      const code = errnoCode(failure);
      throw fromErrno(gaveUp(failure, attempt), 'link', this.where(code === 'ENOENT' ? fromFile : file));
    }
  }

  /**
   * Remove the published file's old name. `ENOENT` is success only when the
   * publish is proven: `fromPath` no longer names the file and `toPath` does.
   */
  private async unlinkProven(from: string, fromPath: string, toPath: string, source: PosixStats): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.fs.unlink(fromPath);
        return;
      } catch (err) {
        if (errnoCode(err) === 'ENOENT') {
          const old = await this.lstatOrUndefined(fromPath, from);
          const target = await this.lstatOrUndefined(toPath, from);
          const targetIsOurs = target !== undefined && sameFile(target, source);
          if (targetIsOurs && (old === undefined || !sameFile(old, source))) return;
          if (targetIsOurs && attempt < this.retry.tries) {
            // The old name is still there although unlink said ENOENT: a stale cache; ask again.
            await this.pause(attempt);
            continue;
          }
          throw new FanoutError('EIO', 'unlink answered ENOENT but the publish cannot be proven complete', {
            ...this.where(from),
            cause: err,
          });
        }
        if (isRetryable(err) && attempt < this.retry.tries) {
          await this.pause(attempt);
          continue;
        }
        throw fromErrno(gaveUp(err, attempt), 'unlink', this.where(from));
      }
    }
  }

  /** Unlink a name only this process uses (a temp file): a missing name is fine. */
  private async unlinkIdempotent(path: string): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.fs.unlink(path);
        return;
      } catch (err) {
        if (errnoCode(err) === 'ENOENT') return;
        if (!isRetryable(err) || attempt >= this.retry.tries) throw err;
        await this.pause(attempt);
      }
    }
  }
}
