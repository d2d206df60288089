/**
 * The exit statuses of `fanout` (DESIGN.md §6), in one place. Outside scripts
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
} as const;

/** One of {@link ExitStatus}, or 128 + a signal number after an interrupted run. */
export type ExitStatusCode = number;

const usageCodes: readonly FanoutErrorCode[] = ['EUSAGE', 'EBADURL', 'ENOTSPOOL'];
const refusedCodes: readonly FanoutErrorCode[] = ['ECORRUPT', 'EFOREIGN'];
/** A spool that could not be reached or read ended the command: nothing was changed. */
const unavailableCodes: readonly FanoutErrorCode[] = ['EUNAVAILABLE', 'EIO', 'EACCES'];

/** The exit status an error that ended a command stands for. */
export function exitStatusFor(err: unknown): ExitStatusCode {
  if (isFanoutError(err, ...usageCodes)) return ExitStatus.usage;
  if (isFanoutError(err, ...refusedCodes)) return ExitStatus.refused;
  if (isFanoutError(err, ...unavailableCodes)) return ExitStatus.unavailable;
  if (isFanoutError(err, 'EMFILE')) return ExitStatus.resources;
  return ExitStatus.failed;
}

/** How bad a status is when several outcomes are combined: usage > refused > unavailable, in flight, resources > failed > ok; a signal beats all. */
function severity(status: ExitStatusCode): number {
  switch (status) {
    case ExitStatus.ok:
      return 0;
    case ExitStatus.failed:
      return 1;
    case ExitStatus.unavailable:
    case ExitStatus.inFlight:
    case ExitStatus.resources:
      return 2;
    case ExitStatus.refused:
      return 3;
    case ExitStatus.usage:
      return 4;
    default:
      return 5;
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
