/**
 * Bounded retries for the transient failures of an NFS mount: a stale file
 * handle after a server restart or failover, an I/O error or timeout on a
 * flaky link. Only operations that are safe to repeat are retried blindly;
 * `link` and `unlink` are repeated by the backend itself, after checking what
 * the first attempt did.
 */
import { errnoCode, type PosixDir, type PosixFs } from '@fanout/fs-posix';

/** How often and how patiently to retry. */
export interface RetryPolicy {
  /** Attempts in all, the first included (at least 1). */
  readonly tries: number;
  /** Delay before the first retry; doubled before each further one. */
  readonly minDelayMs: number;
  /** The longest delay between two attempts. */
  readonly maxDelayMs: number;
  /** Waits `ms`; injectable so tests need no real time. */
  readonly sleep: (ms: number) => Promise<void>;
}

/** 5 tries, 10 ms, 20 ms, 40 ms, 80 ms apart (capped at 500 ms). */
export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  tries: 5,
  minDelayMs: 10,
  maxDelayMs: 500,
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/** The errno codes worth another try on NFS. */
export const RETRYABLE_CODES: ReadonlySet<string> = new Set(['ESTALE', 'EIO', 'ETIMEDOUT', 'EAGAIN']);

/**
 * Linux errnos that Node 20's libuv has no name for: a stale NFS file handle
 * reaches JavaScript as `code: 'Unknown system error -116'`, `errno: -116`.
 */
const UNNAMED_ERRNOS: ReadonlyMap<number, { code: string; text: string }> = new Map([
  [-116, { code: 'ESTALE', text: 'stale file handle' }],
]);

/**
 * `err` with its errno's name as `code` when Node gave it none (ESTALE); any
 * other value unchanged. The original error is the `cause`.
 */
export function withErrnoName(err: unknown): unknown {
  if (typeof err !== 'object' || err === null) return err;
  const { errno, code, syscall, path } = err as { errno?: unknown; code?: unknown; syscall?: unknown; path?: unknown };
  const named = typeof errno === 'number' ? UNNAMED_ERRNOS.get(errno) : undefined;
  if (named === undefined || code === named.code) return err;
  const where = [typeof syscall === 'string' ? syscall : '', typeof path === 'string' ? `'${path}'` : '']
    .filter(Boolean)
    .join(' ');
  return Object.assign(new Error(`${named.code}: ${named.text}${where === '' ? '' : `, ${where}`}`, { cause: err }), {
    code: named.code,
    errno,
    ...(typeof syscall === 'string' ? { syscall } : {}),
    ...(typeof path === 'string' ? { path } : {}),
  });
}

/** True when `err` is a transient NFS failure. */
export function isRetryable(err: unknown): boolean {
  const code = errnoCode(withErrnoName(err));
  return code !== undefined && RETRYABLE_CODES.has(code);
}

/** The delay before retry number `retry` (1 for the first retry). */
export function backoffDelay(policy: RetryPolicy, retry: number): number {
  return Math.min(policy.maxDelayMs, policy.minDelayMs * 2 ** (retry - 1));
}

/** Complete a partial policy with the defaults. */
export function retryPolicy(partial: Partial<RetryPolicy> = {}): RetryPolicy {
  const policy = { ...DEFAULT_RETRY_POLICY, ...partial };
  if (!Number.isInteger(policy.tries) || policy.tries < 1) throw new RangeError('retry tries must be an integer >= 1');
  return policy;
}

/** The last error, re-labelled to say it survived the retries; code and cause kept. */
export function gaveUp(err: unknown, tries: number): unknown {
  if (!(err instanceof Error) || tries <= 1) return err;
  return Object.assign(new Error(`${err.message} (still failing after ${tries} tries)`, { cause: err }), {
    code: errnoCode(err),
  });
}

/** Run `op`, repeating it on transient failures as the policy allows. `op` must be idempotent. */
export async function withRetries<T>(policy: RetryPolicy, op: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await op();
    } catch (err) {
      if (!isRetryable(err)) throw err;
      if (attempt >= policy.tries) throw gaveUp(err, attempt);
      await policy.sleep(backoffDelay(policy, attempt));
    }
  }
}

/**
 * A {@link PosixFs} that retries the idempotent calls: `lstat`, `fstat`,
 * `opendir`, recursive `mkdir`, `open` without `O_EXCL`, and positional
 * `read`. Never retried: `fsync` (after a failed fsync the dirty pages may
 * already be dropped, so a second fsync can "succeed" over lost data),
 * `write` and `close` (a failed write aborts the file; a retried close could
 * close a reused descriptor), and `link`, `unlink`, `rename` and exclusive
 * `open`, whose repetition after a lost reply answers `EEXIST`/`ENOENT`.
 * Every error leaves it with its errno's name ({@link withErrnoName}), so an
 * ESTALE is retried and reported as ESTALE.
 */
export function retryingFs(fs: PosixFs, policy: RetryPolicy): PosixFs {
  const named = <T>(op: () => Promise<T>): Promise<T> =>
    op().catch((err: unknown) => {
      throw withErrnoName(err);
    });
  const retry = <T>(op: () => Promise<T>) => withRetries(policy, () => named(op));
  return {
    constants: fs.constants,
    open: (path, flags, mode) =>
      (flags & fs.constants.O_EXCL) === 0
        ? retry(() => fs.open(path, flags, mode))
        : named(() => fs.open(path, flags, mode)),
    write: (fd, buffer, offset, length, position) => named(() => fs.write(fd, buffer, offset, length, position)),
    read: (fd, buffer, offset, length, position) =>
      position === null
        ? named(() => fs.read(fd, buffer, offset, length, position))
        : retry(() => fs.read(fd, buffer, offset, length, position)),
    fsync: (fd) => named(() => fs.fsync(fd)),
    close: (fd) => named(() => fs.close(fd)),
    fstat: (fd) => retry(() => fs.fstat(fd)),
    lstat: (path) => retry(() => fs.lstat(path)),
    link: (existingPath, newPath) => named(() => fs.link(existingPath, newPath)),
    unlink: (path) => named(() => fs.unlink(path)),
    rename: (oldPath, newPath) => named(() => fs.rename(oldPath, newPath)),
    mkdir: (path, options) =>
      options.recursive ? retry(() => fs.mkdir(path, options)) : named(() => fs.mkdir(path, options)),
    opendir: async (path) => namedDir(await retry(() => fs.opendir(path))),
  };
}

/** A directory stream whose read errors carry their errno's name (an ESTALE readdir). */
function namedDir(dir: PosixDir): PosixDir {
  return {
    async *[Symbol.asyncIterator]() {
      try {
        yield* dir;
      } catch (err) {
        throw withErrnoName(err);
      }
    },
    close: () =>
      dir.close().catch((err: unknown) => {
        throw withErrnoName(err);
      }),
  };
}
