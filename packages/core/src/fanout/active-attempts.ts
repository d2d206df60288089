import type { OwnerInfo } from '../owner/owner.js';

/**
 * The attempts this process is still running: a transaction from its start until it returns, and one whose copy
 * call hung until the owner has finished its back-out. Counted, in case two calls ever share a tx.
 */
const running = new Map<string, number>();

/** Attempt `tx` started in this process. */
export function attemptStarted(tx: string): void {
  running.set(tx, (running.get(tx) ?? 0) + 1);
}

/** Attempt `tx` ended in this process: nothing of this process acts on it any more. */
export function attemptEnded(tx: string): void {
  const n = running.get(tx) ?? 0;
  if (n <= 1) running.delete(tx);
  else running.set(tx, n - 1);
}

/**
 * Whether `owner` is `self` and attempt `tx` no longer runs here: its owner knows it will not act on it again, so
 * recovery may treat it as an attempt of a dead owner. A live daemon otherwise leaves its own unfinished records (a
 * publish or a removal that failed) to other hosts, which keep a record they cannot prove dead.
 */
export function isOwnIdleAttempt(owner: OwnerInfo, self: OwnerInfo, tx: string): boolean {
  return (
    owner.host === self.host &&
    owner.bootId === self.bootId &&
    owner.pidNamespace === self.pidNamespace &&
    owner.pid === self.pid &&
    owner.startTime === self.startTime &&
    !running.has(tx)
  );
}
