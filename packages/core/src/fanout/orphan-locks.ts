import type { SpoolBackend } from '../backend/spool-backend.js';
import type { FanoutError } from '../errors/fanout-error.js';
import { names } from '../names/protocol-names.js';
import { type Machine, perform } from '../protocol/ops.js';
import { readLockOwner, removeSeedLeftover } from '../recovery/recovery-steps.js';

/**
 * Seed protocol: clear a lock `l<id>` in `dest` that blocks message `id` and
 * was left by an attempt that is over. A seed owner that was paused past its
 * lease and lost the fence may still create its lock (and copy `d<id>`)
 * after the takeover rolled it back and its record was retired; it cannot
 * remove them itself without racing a newer attempt. The lock names its
 * attempt (`fanout-lock <tx>`, synced); when the source holds neither that
 * attempt's record (`m<tx>`, `x<tx>`) nor the message under that attempt
 * (`p`, `k`, `b`), and the message waits in the source, the attempt is over
 * without having committed and the copy beside the lock is its uncommitted
 * copy (message ids are never reused). A lock this code did not write is
 * never touched. Removes the copy, then the lock (the seed order, as
 * recovery's `clearSeedLeftovers`), durably.
 * @returns true if it removed a leftover lock.
 * @throws the first removal that failed.
 */
export function* clearOrphanLock(dest: SpoolBackend, source: SpoolBackend, id: string): Machine<boolean> {
  const tx = yield* readLockOwner(dest, id);
  if (tx === undefined) return false;
  for (const name of [
    names.source(id),
    names.record(tx),
    names.retiring(tx),
    names.taken(id, tx),
    names.committed(id, tx),
    names.backout(id, tx),
  ]) {
    const st = yield* perform({ type: 'stat', step: 'R2', spool: source, name });
    // The message must wait (s<id> there), and no name of its attempt may be left.
    if ((st !== undefined) !== (name === names.source(id))) return false;
  }
  const problems: FanoutError[] = [];
  if (!(yield* removeSeedLeftover(dest, id, true, problems))) throw problems[0];
  yield* perform({ type: 'syncDir', step: 'R2', spool: dest });
  return true;
}
