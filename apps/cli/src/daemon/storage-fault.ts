/**
 * Which errors are outages of a storage, as opposed to a message's own
 * failure or a mistake of the operator. An outage is ridden out under
 * `--watch` (the messages wait in the source, the route retries with
 * backoff); anything else is reported as it always was.
 */
import { FanoutError, type FanoutErrorCode, type SpoolBackend, isFanoutError } from '@fanout/core';

/**
 * Codes that say the storage, not the message, is at fault: a server or
 * mount away (`EUNAVAILABLE`), an I/O error or a stale NFS handle that the
 * backend's retries did not cure (`EIO`), a full disk or quota (`ENOSPC`),
 * permissions taken away (`EACCES`), too many open files (`EMFILE`), a copy
 * that a hung server stalled (`ETIMEDOUT`).
 */
export const STORAGE_FAULT_CODES: readonly FanoutErrorCode[] = [
  'EUNAVAILABLE',
  'EIO',
  'ENOSPC',
  'EACCES',
  'EMFILE',
  'ETIMEDOUT',
];

/** Native codes that reach here unwrapped (a raw `fs` or socket error), and the fanout code each stands for. */
const NATIVE_FAULTS: Readonly<Record<string, FanoutErrorCode>> = {
  ESTALE: 'EIO',
  EIO: 'EIO',
  ENOSPC: 'ENOSPC',
  EDQUOT: 'ENOSPC',
  EACCES: 'EACCES',
  EPERM: 'EACCES',
  EMFILE: 'EMFILE',
  ENFILE: 'EMFILE',
  ECONNREFUSED: 'EUNAVAILABLE',
  ECONNRESET: 'EUNAVAILABLE',
  ETIMEDOUT: 'EUNAVAILABLE',
  EHOSTUNREACH: 'EUNAVAILABLE',
  ENETUNREACH: 'EUNAVAILABLE',
};

/** errno −116 on Linux: a stale NFS file handle, as some layers report it (a number, no code). */
const ESTALE_ERRNO = -116;

/**
 * The error as a storage fault, or `undefined` when it is something else.
 * A {@link FanoutError} is judged by its code; a raw native error by its
 * `code` or `errno` (and wrapped, so callers always get a code to report).
 * `ENOTSPOOL` is not judged here: only {@link classifyFailure} can tell a
 * missing container (an outage) from a directory that is no spool (a mistake).
 */
export function storageFaultOf(err: unknown): FanoutError | undefined {
  if (err instanceof FanoutError) return STORAGE_FAULT_CODES.includes(err.code) ? err : undefined;
  if (typeof err !== 'object' || err === null) return undefined;
  const { code, errno } = err as { code?: unknown; errno?: unknown };
  const mapped = typeof code === 'string' ? NATIVE_FAULTS[code] : errno === ESTALE_ERRNO ? 'EIO' : undefined;
  if (mapped === undefined) return undefined;
  return new FanoutError(mapped, err instanceof Error ? err.message : String(code ?? errno), { cause: err });
}

/**
 * Whether the spool's container (directory, collection) is missing right
 * now — an unmounted NFS export, a deleted collection — which the core
 * reports as `ENOTSPOOL`, as it does for a directory nobody initialised.
 */
export async function isMissingContainer(spool: SpoolBackend): Promise<boolean> {
  try {
    for await (const _ of spool.list()) break;
    return false;
  } catch (err) {
    return isFanoutError(err, 'ENOENT') || storageFaultOf(err) !== undefined;
  }
}

/**
 * {@link storageFaultOf}, and an `ENOTSPOOL` of one of `spools` whose
 * container is missing (reported as the outage it is, code `ENOTSPOOL`).
 */
export async function classifyFailure(err: unknown, spools: Iterable<SpoolBackend>): Promise<FanoutError | undefined> {
  const fault = storageFaultOf(err);
  if (fault !== undefined || !isFanoutError(err, 'ENOTSPOOL')) return fault;
  for (const spool of spools) {
    if (spool.location !== err.spool) continue;
    if (!(await isMissingContainer(spool))) return undefined;
    return new FanoutError('ENOTSPOOL', "the spool's directory or collection is missing (not mounted, or removed)", {
      spool: spool.location,
      cause: err,
    });
  }
  return undefined;
}
