import { FanoutError, type FanoutErrorCode } from '@fanout/core';

/** Where an error happened, for {@link FanoutError}'s `spool` and `file`. */
export interface Where {
  readonly spool: string;
  readonly file?: string | undefined;
}

/** What a failed exchange with the server tells about the request's effect. */
export type NetworkFailure =
  /** The request never reached the server (refused, unreachable): it was not applied. */
  | 'not-sent'
  /** The reply never arrived (reset, hang-up, timeout): the request may have been applied. */
  | 'reply-lost'
  /** Anything else (TLS, a programming error): not worth retrying. */
  | 'fatal';

const NOT_SENT = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EADDRNOTAVAIL']);
const REPLY_LOST = new Set([
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ECONNABORTED',
  'ERR_STREAM_PREMATURE_CLOSE',
  'UND_ERR_SOCKET',
]);

/** Classify an error thrown by fetch (node-fetch `FetchError`, a system error, our own timeout abort). */
export function classifyNetworkError(err: unknown): NetworkFailure {
  const e = err as { code?: unknown; name?: unknown; message?: unknown; erroredSysCall?: unknown } | undefined;
  const code = typeof e?.code === 'string' ? e.code : undefined;
  if (code && NOT_SENT.has(code)) return 'not-sent';
  if (code && REPLY_LOST.has(code)) return 'reply-lost';
  if (e?.name === 'AbortError') return 'reply-lost';
  const message = typeof e?.message === 'string' ? e.message : '';
  if (/socket hang up|premature close|other side closed|ECONNRESET/i.test(message)) return 'reply-lost';
  return 'fatal';
}

/** A plain one-line description of a network error; never includes request headers (credentials). */
export function describeNetworkError(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown } | undefined;
  const code = typeof e?.code === 'string' ? e.code : undefined;
  const message = typeof e?.message === 'string' ? e.message : String(err);
  return code && !message.includes(code) ? `${message} (${code})` : message;
}

/**
 * The contract code for an HTTP error status. `operation` decides the
 * ambiguous ones: 409 on PUT/MKCOL means a missing parent collection, 412 on
 * MOVE an existing target, 423 on LOCK a lock held by somebody else.
 */
export function codeForStatus(status: number, operation: string): FanoutErrorCode {
  switch (status) {
    case 401:
    case 403:
      return 'EACCES';
    case 404:
    case 410:
      return 'ENOENT';
    case 409:
      return operation === 'PUT' || operation === 'MKCOL' || operation === 'MOVE' ? 'ENOENT' : 'EIO';
    case 412:
      return operation === 'MOVE' ? 'EEXIST' : 'EIO';
    case 423:
      // Somebody else's LOCK: for lock() that is "taken"; for writes it is a refusal.
      return operation === 'LOCK' ? 'EEXIST' : 'EACCES';
    case 507:
    case 413:
      return 'ENOSPC';
    case 502:
    case 503:
    case 504:
      return 'EUNAVAILABLE';
    default:
      return 'EIO';
  }
}

/** A FanoutError for an HTTP error reply to `operation`. */
export function statusError(status: number, statusText: string, operation: string, where: Where): FanoutError {
  const code = codeForStatus(status, operation);
  const hint =
    status === 423
      ? ': the resource is locked by another client (a WebDAV LOCK; it lapses when its timeout expires)'
      : status === 507
        ? ': the server has no space left'
        : '';
  return new FanoutError(code, `${operation} answered ${status} ${statusText}`.trimEnd() + hint, where);
}
