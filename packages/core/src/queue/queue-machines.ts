import type { EntryStat, SpoolBackend } from '../backend/spool-backend.js';
import { clearAttempts } from '../attempts/attempt-record.js';
import { FanoutError, isFanoutError } from '../errors/fanout-error.js';
import { type HeldFrom, names, parseProtocolName } from '../names/protocol-names.js';
import { type Machine, perform } from '../protocol/ops.js';

/**
 * The queue commands' steps as machines (docs/PROTOCOL.md, "Queue
 * commands"), so that the crash checker can crash and interleave them like
 * every other step. Each acts on a message by one atomic rename of the name
 * it has while it waits (`s<id>` in a source, `d<id>` in a destination, or
 * its held name): a worker or consumer that took it first (renamed it to
 * `p…`/`c…`) wins, and the command finds nothing to rename.
 */

function* stat(spool: SpoolBackend, name: string): Machine<EntryStat | undefined> {
  return yield* perform({ type: 'stat', step: 'Q', spool, name });
}

/** Rename, or `false` when `from` is gone (somebody else renamed it first). */
function* renameIfThere(spool: SpoolBackend, from: string, to: string): Machine<boolean> {
  try {
    yield* perform({ type: 'rename', step: 'Q', spool, from, to });
    return true;
  } catch (err) {
    if (isFanoutError(err, 'ENOENT')) return false;
    throw err;
  }
}

function* sync(spool: SpoolBackend): Machine<void> {
  yield* perform({ type: 'syncDir', step: 'Q', spool });
}

/** A seed copy `d<id>` beside its lock `l<id>` is not committed yet: no command may take it (as no consumer does). */
function* lockedCopy(spool: SpoolBackend, id: string): Machine<void> {
  if ((yield* stat(spool, names.lock(id))) !== undefined) {
    throw new FanoutError('EINFLIGHT', 'is locked by a seed attempt still in flight (l<id> exists); nothing changed', {
      spool: spool.location,
      file: names.delivered(id),
    });
  }
}

/** What {@link holdMachine} did. */
export type HoldOutcome =
  | { readonly outcome: 'held'; readonly name: string }
  | { readonly outcome: 'already-held'; readonly name: string }
  | { readonly outcome: 'absent' };

/**
 * Hold message `id`: rename `s<id>` → `h<id>.s` (or, in a destination,
 * `d<id>` → `h<id>.d`), then sync: once it returns `held`, no crash makes the
 * message waiting again. `absent`: it has no waiting name (in flight, or no
 * such message; the caller tells which).
 */
export function* holdMachine(spool: SpoolBackend, id: string): Machine<HoldOutcome> {
  const moved = (from: HeldFrom) => names.held(id, from);
  if (yield* renameIfThere(spool, names.source(id), moved('s'))) {
    // Q: the hold is durable before it is reported: a crash must not make a held message waiting again.
    yield* sync(spool);
    return { outcome: 'held', name: moved('s') };
  }
  for (const from of ['s', 'd'] as const)
    if ((yield* stat(spool, moved(from))) !== undefined) return { outcome: 'already-held', name: moved(from) };
  if ((yield* stat(spool, names.delivered(id))) === undefined) return { outcome: 'absent' };
  yield* lockedCopy(spool, id);
  if (!(yield* renameIfThere(spool, names.delivered(id), moved('d')))) return { outcome: 'absent' };
  yield* sync(spool);
  return { outcome: 'held', name: moved('d') };
}

/** What {@link releaseMachine} did. */
export type ReleaseOutcome = { readonly outcome: 'released'; readonly name: string } | { readonly outcome: 'not-held' };

/**
 * Release held message `id`: remove its attempt count, then rename
 * `h<id>.s` → `s<id>` (or `h<id>.d` → `d<id>`), then sync. The count goes
 * first, in the same spool: a crash can leave the message held with its
 * count reset (release it again), never waiting with its old count (which
 * would hold it again after one failure).
 */
export function* releaseMachine(spool: SpoolBackend, id: string, dropOrder = false): Machine<ReleaseOutcome> {
  for (const from of ['s', 'd'] as const) {
    const held = names.held(id, from);
    if ((yield* stat(spool, held)) === undefined) continue;
    if (!dropOrder) yield* clearAttempts('Q', spool, id);
    const to = from === 's' ? names.source(id) : names.delivered(id);
    if (!(yield* renameIfThere(spool, held, to))) return { outcome: 'not-held' };
    // The crash checker's --drop-order only: the count goes after the rename (the order the protocol forbids).
    if (dropOrder) yield* clearAttempts('Q', spool, id);
    // Q: the release is durable before it is reported.
    yield* sync(spool);
    return { outcome: 'released', name: to };
  }
  return { outcome: 'not-held' };
}

/** The names a waiting or held message can be deleted from, in the order they are tried. */
const DELETABLE = (id: string) => [names.source(id), names.held(id, 's'), names.held(id, 'd'), names.delivered(id)];

/** What {@link deleteBegin} found. */
export type DeleteStart =
  { readonly outcome: 'marked'; readonly from: string | undefined } | { readonly outcome: 'absent' };

/**
 * Delete, first step: rename the message's waiting or held name to `z<id>`
 * (being deleted). Of this rename and a worker's take (`s<id>` → `p…`), or a
 * consumer's claim, exactly one succeeds. `from` is the name it had
 * (`undefined`: a delete that a crash interrupted is resumed).
 */
export function* deleteBegin(spool: SpoolBackend, id: string): Machine<DeleteStart> {
  for (const from of DELETABLE(id)) {
    if (from === names.delivered(id)) {
      if ((yield* stat(spool, from)) === undefined) continue;
      yield* lockedCopy(spool, id);
    }
    if (yield* renameIfThere(spool, from, names.deleting(id))) return { outcome: 'marked', from };
  }
  if ((yield* stat(spool, names.deleting(id))) !== undefined) return { outcome: 'marked', from: undefined };
  return { outcome: 'absent' };
}

/** Delete, when the message may not go after all (an attempt record names it): `z<id>` gets its name back. */
export function* deleteUndo(spool: SpoolBackend, id: string, from: string): Machine<void> {
  yield* renameIfThere(spool, names.deleting(id), from);
  yield* sync(spool);
}

/**
 * Delete, last step: remove the attempt count, then `z<id>`, then sync: once
 * it returns, no crash brings the message back. A removal is not a commit:
 * recovery reads a missing message of an attempt as one the attempt never
 * took (it only ever publishes what a `k` name committed).
 */
export function* deleteFinish(spool: SpoolBackend, id: string): Machine<void> {
  yield* clearAttempts('Q', spool, id);
  yield* perform({ type: 'remove', step: 'Q', spool, name: names.deleting(id) });
  // Q: the delete is durable before it is reported.
  yield* sync(spool);
}

/**
 * A hold, release or delete that a crash left under two names (both halves
 * of its rename kept; the crash model allows it): the name the command
 * renamed *from* wins — a held name loses to `s<id>`/`d<id>`, `z<id>` to any
 * other — because the command had not returned. Removes the losing name,
 * durably. Recovery calls this for each `h…` and `z…` it lists.
 * @returns whether it removed a name.
 */
export function* resolveQueueTwin(spool: SpoolBackend, name: string, id: string): Machine<boolean> {
  const st = yield* stat(spool, name);
  if (st === undefined || (st.nlink ?? 1) <= 1 || st.fileId === undefined) return false;
  const deleting = parseProtocolName(name).kind === 'deleting';
  const twins = yield* perform({
    type: 'twins',
    step: 'Q',
    spool,
    id,
    fileId: st.fileId,
    kinds: deleting ? ['source', 'delivered', 'held'] : ['source', 'delivered'],
    except: name,
  });
  if (twins.length === 0) return false;
  yield* perform({ type: 'remove', step: 'Q', spool, name });
  yield* sync(spool);
  return true;
}
