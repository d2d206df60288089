/**
 * Stable error codes. Backends translate their native failures into these so
 * that the core never parses messages. The CLI maps them to exit statuses in one
 * place (`apps/cli/src/exit-status.ts`).
 */
export type FanoutErrorCode =
  /** The target name already exists (exclusive create, no-clobber publish). */
  | 'EEXIST'
  /** The name does not exist. */
  | 'ENOENT'
  /** No space left on the device or quota exceeded (ENOSPC, EDQUOT, HTTP 507). */
  | 'ENOSPC'
  /** An I/O error, a server error, or a stale handle that retries did not cure. */
  | 'EIO'
  /** The server or mount did not answer in time, or went away. */
  | 'EUNAVAILABLE'
  /** Permission denied (EACCES, EPERM, HTTP 401/403). */
  | 'EACCES'
  /** The entry is not what the protocol expects (a symlink, a directory, a FIFO…). */
  | 'EBADENTRY'
  /** The location is not a fanout spool (no or unreadable `.fanout-spool`). */
  | 'ENOTSPOOL'
  /** The spool's identity does not match the one a marker names. */
  | 'EFOREIGN'
  /** A marker that does not parse, fails its checksum or names a bad location. */
  | 'ECORRUPT'
  /** A location (URL) that no backend accepts, or a backend that is not installed. */
  | 'EBADURL'
  /** Invalid arguments or configuration. */
  | 'EUSAGE'
  /** The operation was interrupted (signal, abort), or the attempt was taken over by a recoverer. */
  | 'EABORTED'
  /** A copy or a transform made no progress for longer than the stall timeout. */
  | 'ETIMEDOUT'
  /** Something the backend does not support (e.g. locks on a backend without them). */
  | 'ENOTSUP'
  /** Too many open files (EMFILE, ENFILE): a resource limit of this process or host, not a storage fault. */
  | 'EMFILE'
  /** A queue command met a message that an attempt or a consumer holds right now; nothing was changed. */
  | 'EINFLIGHT'
  /** A transform threw, or gave something other than a stream: the message's own failure. */
  | 'ETRANSFORM';

/** Options for {@link FanoutError}. */
export interface FanoutErrorOptions {
  /** The spool's location (URL or path, never with credentials). */
  spool?: string;
  /** The file name inside the spool. */
  file?: string;
  /** The underlying error. */
  cause?: unknown;
}

/**
 * The one error type fanout throws. `message` is the cause in plain words;
 * {@link FanoutError.oneLine} is what the CLI prints: spool, file and cause.
 *
 * @example
 * ```ts
 * import { FanoutError } from '@fanout/core';
 *
 * const err = new FanoutError('ENOENT', 'no such message', { spool: 'file:///var/spool/out', file: 's01J9Z' });
 * console.error(err.oneLine()); // one line for operators: spool, file, cause and code
 * ```
 */
export class FanoutError extends Error {
  override readonly name = 'FanoutError';
  readonly code: FanoutErrorCode;
  readonly spool: string | undefined;
  readonly file: string | undefined;

  constructor(code: FanoutErrorCode, message: string, options: FanoutErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.spool = options.spool;
    this.file = options.file;
  }

  /** `spool: file: message (CODE)` — the single line an operator reads. */
  oneLine(): string {
    const where = [this.spool, this.file].filter((x) => x !== undefined && x !== '').join(': ');
    return `${where ? `${where}: ` : ''}${this.message} (${this.code})`;
  }
}

/**
 * True when `err` is a {@link FanoutError} with one of the given codes.
 *
 * @example
 * ```ts
 * import { holdMessage, isFanoutError } from '@fanout/core';
 *
 * try {
 *   await holdMessage(outbox, id);
 * } catch (err) {
 *   if (isFanoutError(err, 'EINFLIGHT')) console.error('a worker has it; try again');
 *   else throw err;
 * }
 * ```
 */
export function isFanoutError(err: unknown, ...codes: FanoutErrorCode[]): err is FanoutError {
  return err instanceof FanoutError && (codes.length === 0 || codes.includes(err.code));
}

/**
 * Wrap anything thrown into a FanoutError, keeping a FanoutError as it is.
 *
 * @example
 * ```ts
 * import { toFanoutError } from '@fanout/core';
 *
 * // In a backend: whatever the storage threw, as a FanoutError naming the spool and file.
 * const err = toFanoutError(new Error('socket hang up'), 'EUNAVAILABLE', { spool: location, file: name });
 * console.error(err.code);
 * ```
 */
export function toFanoutError(err: unknown, fallback: FanoutErrorCode, options: FanoutErrorOptions = {}): FanoutError {
  if (err instanceof FanoutError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new FanoutError(fallback, message, { ...options, cause: err });
}
