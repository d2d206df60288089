import type { SpoolBackend } from '../backend/spool-backend.js';
import { type EventSink, ignoreEvents } from '../events/events.js';
import { parseProtocolName } from '../names/protocol-names.js';
import type { Liveness, OwnerProbe } from '../owner/owner.js';
import { type ExecutorHooks, runMachine } from '../protocol/executor.js';
import { type Machine, perform } from '../protocol/ops.js';

/**
 * R6 for one temp `name` whose writer `probe` judged `liveness`: removed when
 * the writer is 'dead', or, when nobody can tell ('unknown'), once its mtime
 * is older than `staleMs` at `now`; a live writer's temp never.
 * @returns true if it removed the temp.
 */
export function* removeDeadTemp(
  spool: SpoolBackend,
  name: string,
  liveness: Liveness,
  staleMs: number,
  now: number,
): Machine<boolean> {
  if (liveness === 'alive') return false;
  if (liveness !== 'dead') {
    const st = yield* perform({ type: 'stat', step: 'R6', spool, name });
    if (!(st !== undefined && st.kind === 'file' && st.mtimeMs > 0 && now - st.mtimeMs > staleMs)) return false;
  }
  return yield* perform({ type: 'remove', step: 'R6', spool, name });
}

/**
 * R6: remove the temp files of dead writers. Only a name exactly as
 * `tempName()` writes it, `t<ULID>.<owner tag>`, is a temp: anything else
 * starting with `t` (`todo.txt`, `tags`, an older `t<id>.<pid>.<host>`) is
 * not ours and is never touched. A temp is removed when `probe` says its
 * writer (the owner tag in its name) is 'dead', or, when the probe cannot
 * tell ('unknown': another host, another pid namespace, …), once its mtime is
 * older than `staleMs`. A live writer's temp is never removed, however old.
 * Each removal is {@link removeDeadTemp}'s steps, under `hooks` (checkers;
 * a hook's error stops it as `MachineStopped`).
 *
 * @returns how many temps it removed.
 */
export async function removeDeadTemps(
  spool: SpoolBackend,
  probe: OwnerProbe,
  staleMs: number,
  now: number,
  emit: EventSink = ignoreEvents,
  hooks?: ExecutorHooks,
): Promise<number> {
  let removed = 0;
  for await (const entry of spool.list()) {
    const parsed = parseProtocolName(entry.name);
    if (parsed.kind !== 'temp' || entry.kind !== 'file') continue;
    const liveness = await probe(parsed.writer);
    if (await runMachine(removeDeadTemp(spool, entry.name, liveness, staleMs, now), hooks)) {
      removed++;
      emit({ type: 'temp-removed', spool: spool.location, file: entry.name });
    }
  }
  return removed;
}
