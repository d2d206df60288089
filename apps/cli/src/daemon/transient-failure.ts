/**
 * Which failures of a message are not the message's own but this process's:
 * under `--watch` such a message stays in the source and a later pass tries
 * it again, and it is not counted as failed.
 */
import { isFanoutError } from '@fanout/core';

/** What a failed message reports (`MessageFailure` of `@fanout/core`, or the `message-failed` event). */
export interface FailedMessage {
  readonly error: unknown;
  /** True when the message left the source (committed) and only completing it failed. */
  readonly committed: boolean;
}

/**
 * True for a message that failed, uncommitted, because the process or the
 * host was out of file descriptors (`EMFILE`, which fs-posix and fs-nfs give
 * for EMFILE and ENFILE after waiting up to 60 s for one): it was rolled back,
 * it waits in the source, and it fails nothing once descriptors are free. A
 * committed message is never transient: its record is left for recovery.
 */
export function isTransientFailure(failure: FailedMessage): boolean {
  return !failure.committed && isFanoutError(failure.error, 'EMFILE');
}
