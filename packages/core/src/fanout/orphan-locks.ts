import type { SpoolBackend } from '../backend/spool-backend.js';
import { isFanoutError } from '../errors/fanout-error.js';
import { isValidId, names } from '../names/protocol-names.js';
import { readSmall } from '../spool/read-small.js';

/**
 * Seed protocol: a lock `l<id>` in `dest` left by an attempt that can no
 * longer commit. A seed owner that was paused past its lease and lost the
 * fence may still have created its lock (and copy `d<id>`) after the
 * takeover rolled it back; it cannot remove them itself without racing a
 * newer attempt, so they would block the message forever. The lock names its
 * attempt: when the source holds neither that attempt's record (`m<tx>`,
 * `x<tx>`) nor the message under that attempt (`p`, `k`, `b`), the attempt
 * is over without having committed, and its copy is an uncommitted one.
 * Removes the copy, then the lock (the seed order), durably.
 * @returns true if it removed an orphaned lock.
 */
export async function clearOrphanLock(dest: SpoolBackend, source: SpoolBackend, id: string): Promise<boolean> {
  let tx: string;
  try {
    tx = (await readSmall(dest, names.lock(id), 256)).trim();
  } catch (err) {
    if (isFanoutError(err, 'ENOENT')) return false;
    throw err;
  }
  if (!isValidId(tx)) return false;
  for (const name of [names.record(tx), names.retiring(tx), names.taken(id, tx), names.committed(id, tx), names.backout(id, tx)]) {
    if ((await source.stat(name)) !== undefined) return false;
  }
  await dest.remove(names.delivered(id));
  const removed = await dest.remove(names.lock(id));
  await dest.syncDir();
  return removed;
}
