import type { SpoolBackend } from '../backend/spool-backend.js';
import { type EventSink, ignoreEvents } from '../events/events.js';
import { parseProtocolName } from '../names/protocol-names.js';
import type { OwnerProbe } from '../owner/owner.js';

/**
 * R6: remove the temp files of dead writers. Only a name exactly as
 * `tempName()` writes it, `t<ULID>.<owner tag>`, is a temp: anything else
 * starting with `t` (`todo.txt`, `tags`, an older `t<id>.<pid>.<host>`) is
 * not ours and is never touched. A temp is removed when `probe` says its
 * writer (the owner tag in its name) is 'dead', or, when the probe cannot
 * tell ('unknown': another host, another pid namespace, …), once its mtime is
 * older than `staleMs`. A live writer's temp is never removed, however old.
 *
 * @returns how many temps it removed.
 */
export async function removeDeadTemps(spool: SpoolBackend, probe: OwnerProbe, staleMs: number, now: number, emit: EventSink = ignoreEvents): Promise<number> {
  let removed = 0;
  for await (const entry of spool.list()) {
    const parsed = parseProtocolName(entry.name);
    if (parsed.kind !== 'temp' || entry.kind !== 'file') continue;
    const liveness = await probe(parsed.writer);
    if (liveness === 'alive') continue;
    let dead = liveness === 'dead';
    if (!dead) {
      const st = await spool.stat(entry.name);
      dead = st !== undefined && st.kind === 'file' && st.mtimeMs > 0 && now - st.mtimeMs > staleMs;
    }
    if (dead && (await spool.remove(entry.name))) {
      removed++;
      emit({ type: 'temp-removed', spool: spool.location, file: entry.name });
    }
  }
  return removed;
}
