/**
 * The exit statuses of `fanout` (docs/DESIGN.md §6), in one place. Outside scripts
 * drive the command by these numbers, so they never change meaning.
 */
import { type FanoutErrorCode, isFanoutError } from '@fanout/core';

/** The statuses `fanout` exits with. */
export const ExitStatus = {
  /** Everything was done. */
  ok: 0,
  /** Some messages failed; they stay in the source spool and each reason was printed. */
  failed: 1,
  /** A usage or configuration error: bad flags, bad URL, missing spool, not a spool. */
  usage: 2,
  /** Recovery refused something (a quarantined marker, a foreign spool); nothing was deleted. */
  refused: 3,
  /** A spool could not be reached or read (server away, I/O error, permission): nothing was changed. */
  unavailable: 4,
  /** A queue command met a message in flight (taken by a worker or claimed by a consumer); nothing was changed. */
  inFlight: 5,
  /** Too many open files (EMFILE/ENFILE) even after waiting: raise LimitNOFILE or lower --batch/--concurrency. */
  resources: 6,
  /**
   * A queue command (show, hold, release, delete, recover --discard-record) named a message or record that does not
   * exist.
   */
  notFound: 7,
} as const;

/** One of {@link ExitStatus}, or 128 + a signal number after an interrupted run. */
export type ExitStatusCode = number;

/** A location that is not a spool at all: missing, not a directory (`EBADENTRY`), no identity. */
const usageCodes: readonly FanoutErrorCode[] = ['EUSAGE', 'EBADURL', 'ENOTSPOOL', 'EBADENTRY'];
const refusedCodes: readonly FanoutErrorCode[] = ['ECORRUPT', 'EFOREIGN'];
/** The storage, not the messages: a server away, an I/O error, permission denied. */
const unavailableCodes: readonly FanoutErrorCode[] = ['EUNAVAILABLE', 'EIO', 'EACCES'];
/** The process or the host ran out of file descriptors even after waiting for one (fs-posix waits up to 60 s). */
const resourceCodes: readonly FanoutErrorCode[] = ['EMFILE'];

/**
 * The exit status an error that ended a command stands for: one met while
 * opening or reading a spool, outside the processing of a message. (A message
 * that fails — its copy, its transform (`ETRANSFORM`), its command — is
 * counted by the command, which exits {@link ExitStatus.failed}.)
 */
export function exitStatusFor(err: unknown): ExitStatusCode {
  if (isFanoutError(err, ...usageCodes)) return ExitStatus.usage;
  if (isFanoutError(err, ...refusedCodes)) return ExitStatus.refused;
  if (isFanoutError(err, 'EINFLIGHT')) return ExitStatus.inFlight;
  if (isFanoutError(err, ...unavailableCodes)) return ExitStatus.unavailable;
  if (isFanoutError(err, ...resourceCodes)) return ExitStatus.resources;
  return ExitStatus.failed;
}

/**
 * The exit status of a queue command's error about one message: as
 * {@link exitStatusFor}, and `ENOENT` (no such message or record) is
 * {@link ExitStatus.notFound}. Only there: elsewhere a missing name is the
 * storage's business.
 */
export function queueExitStatusFor(err: unknown): ExitStatusCode {
  return isFanoutError(err, 'ENOENT') ? ExitStatus.notFound : exitStatusFor(err);
}

/**
 * How bad a status is when several outcomes are combined:
 * usage > refused > unavailable, resources > in flight > not found > failed > ok; a signal beats all.
 */
function severity(status: ExitStatusCode): number {
  switch (status) {
    case ExitStatus.ok:
      return 0;
    case ExitStatus.failed:
      return 1;
    case ExitStatus.notFound:
      return 2;
    case ExitStatus.inFlight:
      return 3;
    case ExitStatus.unavailable:
    case ExitStatus.resources:
      return 4;
    case ExitStatus.refused:
      return 5;
    case ExitStatus.usage:
      return 6;
    default:
      return 7;
  }
}

/** The status of several outcomes (several spools, several routes): the most severe one. */
export function worstStatus(...statuses: ExitStatusCode[]): ExitStatusCode {
  return statuses.reduce((worst, s) => (severity(s) > severity(worst) ? s : worst), ExitStatus.ok);
}

/** The signals that stop a long command once its work in hand is done. */
export type StopSignal = 'SIGINT' | 'SIGTERM' | 'SIGHUP';

/** 128 + the signal's number, as shells report a process ended by it. */
export function signalStatus(signal: StopSignal): ExitStatusCode {
  return signal === 'SIGINT' ? 130 : signal === 'SIGHUP' ? 129 : 143;
}
