import type { SpoolBackend } from '../backend/spool-backend.js';
import { names } from '../names/protocol-names.js';

/**
 * Seed protocol: clear a lock `l<id>` in `dest` that blocks message `id`
 * although no attempt holds the message. A seed owner that was paused past
 * its lease and lost the fence may still create its lock (and copy `d<id>`)
 * after the takeover rolled it back; it cannot remove them itself without
 * racing a newer attempt, and a rollback whose removal failed leaves them too.
 * While the message waits in the source (`s<id>`), no attempt holds it, so
 * such a lock is a leftover and the copy beside it uncommitted (message ids
 * are never reused). A newer attempt cannot slip in between: its own lock
 * would meet this one. Removes the copy, then the lock (the seed order),
 * durably.
 * @returns true if it removed a leftover lock.
 */
export async function clearOrphanLock(dest: SpoolBackend, source: SpoolBackend, id: string): Promise<boolean> {
  if ((await source.stat(names.source(id))) === undefined) return false;
  if ((await dest.stat(names.lock(id))) === undefined) return false;
  await dest.remove(names.delivered(id));
  const removed = await dest.remove(names.lock(id));
  await dest.syncDir();
  return removed;
}
