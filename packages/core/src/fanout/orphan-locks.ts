import type { SpoolBackend } from '../backend/spool-backend.js';
import { isFanoutError } from '../errors/fanout-error.js';
import { names } from '../names/protocol-names.js';
import { lockOwner } from '../protocol/transaction.js';
import { readSmall } from '../spool/read-small.js';

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
 * never touched. Removes the copy, then the lock (the seed order), durably.
 * @returns true if it removed a leftover lock.
 */
export async function clearOrphanLock(dest: SpoolBackend, source: SpoolBackend, id: string): Promise<boolean> {
  let tx: string | undefined;
  try {
    tx = lockOwner(await readSmall(dest, names.lock(id), 1024));
  } catch (err) {
    if (isFanoutError(err, 'ENOENT')) return false;
    throw err;
  }
  if (tx === undefined) return false;
  if ((await source.stat(names.source(id))) === undefined) return false;
  for (const name of [names.record(tx), names.retiring(tx), names.taken(id, tx), names.committed(id, tx), names.backout(id, tx)]) {
    if ((await source.stat(name)) !== undefined) return false;
  }
  await dest.remove(names.delivered(id));
  const removed = await dest.remove(names.lock(id));
  await dest.syncDir();
  return removed;
}
