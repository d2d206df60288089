/**
 * Translation of native errno codes into the contract's stable
 * {@link FanoutErrorCode}s, in one place so every operation of the posix and
 * nfs backends reports the same failure the same way.
 */
import { FanoutError, type FanoutErrorCode } from '@fanout/core';

const ERRNO_TO_FANOUT: Readonly<Record<string, FanoutErrorCode>> = {
  EEXIST: 'EEXIST',
  ENOTEMPTY: 'EEXIST',
  ENOENT: 'ENOENT',
  ENOSPC: 'ENOSPC',
  EDQUOT: 'ENOSPC',
  EFBIG: 'ENOSPC',
  EIO: 'EIO',
  ESTALE: 'EIO',
  EMLINK: 'EIO',
  EACCES: 'EACCES',
  EPERM: 'EACCES',
  EROFS: 'EACCES',
  ELOOP: 'EBADENTRY',
  EISDIR: 'EBADENTRY',
  ENOTDIR: 'EBADENTRY',
  ENXIO: 'EBADENTRY',
  ETXTBSY: 'EBADENTRY',
  ETIMEDOUT: 'EUNAVAILABLE',
  ECONNREFUSED: 'EUNAVAILABLE',
  ECONNRESET: 'EUNAVAILABLE',
  EHOSTDOWN: 'EUNAVAILABLE',
  EHOSTUNREACH: 'EUNAVAILABLE',
  ENETUNREACH: 'EUNAVAILABLE',
  ENETDOWN: 'EUNAVAILABLE',
  // A FUSE filesystem whose daemon lost its server (GlusterFS after network.ping-timeout) or died: "transport
  // endpoint is not connected", until it reconnects.
  ENOTCONN: 'EUNAVAILABLE',
  EAGAIN: 'EUNAVAILABLE',
  EBUSY: 'EUNAVAILABLE',
  ENOTSUP: 'ENOTSUP',
  EOPNOTSUPP: 'ENOTSUP',
  ENOSYS: 'ENOTSUP',
  EXDEV: 'ENOTSUP',
  ENAMETOOLONG: 'EUSAGE',
  // A resource limit of this process (EMFILE) or of the host (ENFILE), not a fault of the storage.
  EMFILE: 'EMFILE',
  ENFILE: 'EMFILE',
  ABORT_ERR: 'EABORTED',
};

/** Where a failure happened: the spool's location and the file name in it. */
export interface ErrnoContext {
  readonly spool: string;
  readonly file?: string;
}

/**
 * Linux errnos that Node has no name for: it reports them as
 * `code: 'Unknown system error -116'`. ESTALE is the one NFS clients meet
 * (a stale file handle after a server restart or failover).
 */
const UNNAMED_ERRNOS: Readonly<Record<number, string>> = { [-116]: 'ESTALE' };

/**
 * The native `code` of an error (`'ENOENT'`…; `'ESTALE'` for errno −116, which Node leaves unnamed), or
 * undefined.
 */
export function errnoCode(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const { code, errno } = err as { code?: unknown; errno?: unknown };
  const unnamed = typeof errno === 'number' ? UNNAMED_ERRNOS[errno] : undefined;
  if (unnamed !== undefined && (typeof code !== 'string' || code.startsWith('Unknown system error'))) return unnamed;
  return typeof code === 'string' ? code : undefined;
}

/** The contract code for a native errno code (`EIO` for anything unknown). */
export function fanoutCodeOf(code: string | undefined): FanoutErrorCode {
  return (code !== undefined ? ERRNO_TO_FANOUT[code] : undefined) ?? 'EIO';
}

/**
 * Turn what a {@link PosixFs} call threw into a {@link FanoutError} naming the
 * spool, the file and the operation; a FanoutError passes through unchanged.
 * @param op the system call that failed (`open`, `link`…), for the message.
 */
export function fromErrno(err: unknown, op: string, where: ErrnoContext): FanoutError {
  if (err instanceof FanoutError) return err;
  const code = errnoCode(err);
  const native = err instanceof Error ? err.message : String(err);
  // Node says "too many open files" for EMFILE but "file table overflow" for ENFILE: say it in the same words.
  const detail = code === 'ENFILE' ? `too many open files on this host (${native})` : native;
  return new FanoutError(fanoutCodeOf(code), `${op} failed: ${detail}`, {
    spool: where.spool,
    file: where.file,
    cause: err,
  });
}
