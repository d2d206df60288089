import type { EntryStat, SpoolBackend } from '../backend/spool-backend.js';
import { FanoutError, isFanoutError, toFanoutError } from '../errors/fanout-error.js';
import type { MarkerRecord } from '../marker/marker-codec.js';
import { names } from '../names/protocol-names.js';
import { lockOwner } from '../protocol/lock-file.js';
import { type Machine, perform, settle, type StepName, syncAll } from '../protocol/ops.js';

// The steps recovery takes on one message's names, shared by the recovery machine and the protocol variants
// (protocol/protocol-variant.ts): each yields its operations and reports what it could not do in `problems`.

/** Stat `files` in `spool` at once; a stat that fails is thrown (nothing is decided on a guess). */
export function* stats(step: StepName, spool: SpoolBackend, files: string[]): Machine<(EntryStat | undefined)[]> {
  const results = yield* settle(
    step,
    files.map((name) => ({ type: 'stat', step, spool, name }) as const),
  );
  return results.map((r) => {
    if (!r.ok) throw r.error;
    return r.value;
  });
}

/**
 * Remove `targets`; the problems of those that failed (a name that is gone already is no problem). `removedAny`: one
 * was there.
 */
export function* removeAllChecked(
  step: StepName,
  targets: { spool: SpoolBackend; name: string }[],
  problems: FanoutError[],
  why: string,
): Machine<{ ok: boolean; removedAny: boolean }> {
  const results = yield* settle(
    step,
    targets.map(({ spool, name }) => ({ type: 'remove', step, spool, name }) as const),
  );
  let ok = true;
  let removedAny = false;
  results.forEach((r, k) => {
    if (r.ok) {
      if (r.value === true) removedAny = true;
      return;
    }
    ok = false;
    const t = targets[k]!;
    const e = toFanoutError(r.error, 'EIO', { spool: t.spool.location, file: t.name });
    problems.push(
      new FanoutError(e.code, `${why} could not remove ${t.name}: ${e.message}; left for a later recovery`, {
        spool: t.spool.location,
        file: t.name,
        cause: e,
      }),
    );
  });
  return { ok, removedAny };
}

/** {@link removeAllChecked}: whether every removal succeeded. */
export function* removeChecked(
  step: StepName,
  targets: { spool: SpoolBackend; name: string }[],
  problems: FanoutError[],
  why: string,
): Machine<boolean> {
  return (yield* removeAllChecked(step, targets, problems, why)).ok;
}

/**
 * R3, roll forward one staged copy: publish `w<id>.<tx>` as `d<id>` unless
 * it is published already. A staged copy that has a second name was
 * published by a crashed publish (or a consumer holds that second name as its
 * claim `c<id>.<who>`, or took it and is acknowledging it): only the
 * leftover name goes, so a message a consumer has taken is never published
 * again.
 */
export function* publishStaged(spool: SpoolBackend, id: string, tx: string, problems: FanoutError[]): Machine<void> {
  const from = names.staged(id, tx);
  const [st] = yield* stats('R3', spool, [from]);
  if (st === undefined) return;
  if ((st.nlink ?? 1) > 1 && st.fileId !== undefined) {
    const twins = yield* perform({
      type: 'twins',
      step: 'R3',
      spool,
      id,
      fileId: st.fileId,
      kinds: ['delivered', 'claimed', 'held', 'deleting'],
      except: from,
    });
    if (twins.length > 0) {
      yield* removeChecked('R3', [{ spool, name: from }], problems, 'roll-forward');
      return;
    }
  }
  try {
    yield* perform({ type: 'rename', step: 'R3', spool, from, to: names.delivered(id) });
  } catch (err) {
    if (isFanoutError(err, 'ENOENT')) return; // published meanwhile by the attempt's owner
    if (isFanoutError(err, 'EEXIST')) {
      problems.push(
        new FanoutError(
          'EEXIST',
          `cannot publish ${from}: ${names.delivered(id)} exists and is another file; left in place`,
          { spool: spool.location, file: names.delivered(id), cause: err },
        ),
      );
      return;
    }
    throw err;
  }
}

/** What clearing a message's leftovers came to: `stuck` when a removal failed (reported; the record stays). */
export type RecoveryLeftovers = 'none' | 'stuck';

/**
 * Staged, a message of the attempt that holds none of its names any more: remove a straggling copy `name`
 * (`w<id>.<tx>`) in every destination (a rollback could not remove it, or a lost owner wrote it after the takeover),
 * syncing if one went.
 */
export function* removeStragglers(
  destinations: SpoolBackend[],
  name: string,
  problems: FanoutError[],
): Machine<RecoveryLeftovers> {
  const straggling = yield* removeAllChecked(
    'R2',
    destinations.map((spool) => ({ spool, name })),
    problems,
    'cleanup',
  );
  if (!straggling.ok) return 'stuck';
  if (straggling.removedAny) yield* syncAll('R2', destinations);
  return 'none';
}

/**
 * Seed, a message of the attempt that holds none of its names any more: a
 * lock `l<id>` whose content names this attempt is what its rollback could
 * not remove, or what its owner made after losing the fence. While the
 * message waits in the source again, the copy `d<id>` beside that lock is
 * this attempt's uncommitted copy (no other attempt can copy past the lock).
 * Both go, the copy first.
 */
export function* clearSeedLeftovers(
  source: SpoolBackend,
  destinations: SpoolBackend[],
  record: MarkerRecord,
  id: string,
  problems: FanoutError[],
): Machine<RecoveryLeftovers> {
  // Held or being deleted, the message is not delivered either: a leftover copy beside the lock is uncommitted.
  const waiting = (yield* stats('R2', source, [names.source(id), names.held(id, 's'), names.deleting(id)])).some(
    (st) => st !== undefined,
  );
  let removedAny = false;
  for (const spool of destinations) {
    if ((yield* readLockOwner(spool, id)) !== record.tx) continue;
    if (!(yield* removeSeedLeftover(spool, id, waiting, problems))) return 'stuck';
    removedAny = true;
  }
  if (removedAny) yield* syncAll('R2', destinations);
  return 'none';
}

/**
 * Seed: the attempt that wrote lock `l<id>` in `spool` (its content), or `undefined` (no lock, or not one this code
 * wrote).
 */
export function* readLockOwner(spool: SpoolBackend, id: string): Machine<string | undefined> {
  return lockOwner(yield* perform({ type: 'readSmall', step: 'R2', spool, name: names.lock(id), maxBytes: 1024 }));
}

/**
 * Seed: remove a lost attempt's leftover lock `l<id>` in `spool` and, when
 * the message waits in the source (`waiting`), first the uncommitted copy
 * `d<id>` beside it (the other order shows a consumer an unlocked,
 * uncommitted copy). Not synced: the caller syncs once. False: a removal
 * failed (in `problems`).
 */
export function* removeSeedLeftover(
  spool: SpoolBackend,
  id: string,
  waiting: boolean,
  problems: FanoutError[],
): Machine<boolean> {
  if (waiting && !(yield* removeChecked('R2', [{ spool, name: names.delivered(id) }], problems, 'cleanup')))
    return false;
  return yield* removeChecked('R2', [{ spool, name: names.lock(id) }], problems, 'cleanup');
}
