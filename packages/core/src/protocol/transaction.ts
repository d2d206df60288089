import type { EntryStat } from '../backend/spool-backend.js';
import { FanoutError, isFanoutError, toFanoutError } from '../errors/fanout-error.js';
import { encodeMarker, MAX_BATCH_RECORD_IDS, type MarkerRecord } from '../marker/marker-codec.js';
import { names } from '../names/protocol-names.js';
import { countAttempt, DEFAULT_MAX_ATTEMPTS } from '../attempts/attempt-record.js';
import { copyAll, copyName, type CopyState, madeKey } from './copy-step.js';
import { MachineStopped } from './executor.js';
import { type Machine, perform, type Settled, settle, syncAll } from './ops.js';
import { type ProtocolVariant, variantOf } from './protocol-variant.js';
import { retire } from '../recovery/recovery-machine.js';
import {
  messageFailure,
  type MessageFailure,
  type TransactionOutcome,
  type TransactionPlan,
} from './transaction-plan.js';

const utf8 = new TextEncoder();

/** The record of this attempt over its messages `plan.ids` (docs/PROTOCOL.md: `m<tx>`). */
export function markerFor(plan: TransactionPlan): MarkerRecord {
  const now = plan.now();
  return {
    tx: plan.tx,
    ids: plan.ids,
    protocol: plan.protocol,
    source: { uuid: plan.source.identity.uuid, location: plan.source.backend.location },
    destinations: plan.destinations.map((d) => ({ uuid: d.spool.identity.uuid, location: d.spool.backend.location })),
    owner: plan.owner,
    createdMs: now,
    leaseUntilMs: now + plan.leaseMs,
  };
}

/** The error of a message whose attempt a recoverer took over (it won the fence). */
function takenOver(plan: TransactionPlan, id: string): MessageFailure {
  return {
    id,
    error: new FanoutError(
      'EABORTED',
      'taken over by a recoverer while this attempt was paused past its lease; left to it',
      { spool: plan.source.backend.location, file: names.source(id) },
    ),
    committed: false,
  };
}

/**
 * C1, intent: write the attempt's record `m<tx>` (whole under a temp name,
 * then renamed, so nobody reads it half-written), take each message by
 * renaming `s<id>` → `p<id>.<tx>` (atomic: of several workers exactly one
 * takes a message; the others get `ENOENT` and skip it), make the names
 * durable, then check that the record is still there. The check pairs with
 * a recoverer's retirement of a stale record (rename, then check for taken
 * names): of a take and a retirement that cross, at least one side sees the
 * other, so a message is never held by an attempt that has no record.
 * A taken name that has a second name (a crash left a twin) is put back.
 * Returns the ids this attempt goes on with; adds to `a.counted` those that have
 * an attempt count (they failed before).
 */
function* intent(a: Attempt): Machine<string[]> {
  if (!(yield* writeRecord(a))) return [];
  const held = yield* takeMessages(a);
  if (held.length === 0) {
    yield* settle('C1', [{ type: 'remove', step: 'C1', spool: a.plan.source.backend, name: names.record(a.plan.tx) }]);
    return [];
  }
  // C1: the record and the takes are durable before any copy exists: a crash after a copy always finds them.
  yield* syncAll('C1', [a.plan.source.backend]);
  return yield* checkTakes(a, held);
}

/**
 * C1 record: write `m<tx>` whole under a temp name, then rename it into place. A failure fails every message of the
 * attempt; the temp is removed.
 * @returns whether the record is there.
 */
function* writeRecord(a: Attempt): Machine<boolean> {
  const { plan, failed } = a;
  const S = plan.source.backend;
  const record = names.record(plan.tx);
  const temp = plan.tempName();
  if (plan.ids.length > MAX_BATCH_RECORD_IDS)
    throw new FanoutError('EUSAGE', `at most ${MAX_BATCH_RECORD_IDS} messages per attempt`, { spool: S.location });
  const [created] = yield* settle('C1', [
    { type: 'create', step: 'C1', spool: S, name: temp, content: () => utf8.encode(encodeMarker(markerFor(plan))) },
  ]);
  if (!created!.ok) {
    for (const id of plan.ids) failed.push(messageFailure(id, created!.error, false, S, record));
    return false;
  }
  const [named] = yield* settle('C1', [{ type: 'rename', step: 'C1', spool: S, from: temp, to: record }]);
  if (!named!.ok) {
    yield* settle('C1', [{ type: 'remove', step: 'C1', spool: S, name: temp }]);
    for (const id of plan.ids) failed.push(messageFailure(id, named!.error, false, S, record));
    return false;
  }
  return true;
}

/**
 * C1 take: rename every `s<id>` → `p<id>.<tx>` at once. `ENOENT`: taken by another worker, or finished meanwhile
 * (skipped).
 * @returns the messages taken.
 */
function* takeMessages(a: Attempt): Machine<string[]> {
  const { plan } = a;
  const S = plan.source.backend;
  const takes = yield* settle(
    'C1',
    plan.ids.map(
      (id) => ({ type: 'rename', step: 'C1', spool: S, from: names.source(id), to: names.taken(id, plan.tx) }) as const,
    ),
  );
  const held: string[] = [];
  takes.forEach((r, k) => {
    const id = plan.ids[k]!;
    if (r.ok) held.push(id);
    else if (isFanoutError(r.error, 'ENOENT')) a.skipped.push(id);
    else a.failed.push(messageFailure(id, r.error, false, S, names.source(id)));
  });
  return held;
}

/**
 * C1 check: stat the record and every taken name (and the attempt counts of `held`, noted in `a.counted`). No
 * record: a recoverer retired it while we were paused before our takes; every message is put back. A taken name
 * gone: a recoverer won the fence on it; the record stays for it. A taken name with a crash twin: put back, skipped.
 * @returns the messages this attempt goes on with.
 */
function* checkTakes(a: Attempt, held: readonly string[]): Machine<string[]> {
  const { plan, failed } = a;
  const S = plan.source.backend;
  const checks = yield* settle('C1', [
    { type: 'stat', step: 'C1', spool: S, name: names.record(plan.tx) },
    ...held.map((id) => ({ type: 'stat', step: 'C1', spool: S, name: names.taken(id, plan.tx) }) as const),
    // Which messages failed before (an attempt count exists): their count goes once they are delivered.
    ...held.flatMap((id) =>
      [0, 1].map((slot) => ({ type: 'stat', step: 'C1', spool: S, name: names.attempts(id, slot as 0 | 1) }) as const),
    ),
  ]);
  held.forEach((id, k) => {
    const slots = checks.slice(1 + held.length + 2 * k, 3 + held.length + 2 * k);
    if (slots.some((r) => r.ok && r.value !== undefined)) a.counted.add(id);
  });
  const recordThere = checks[0]!.ok && checks[0]!.value !== undefined;
  const live: string[] = [];
  const putBack: string[] = [];
  for (const [k, id] of held.entries()) {
    const r = checks[k + 1]!;
    const st = r.ok ? r.value : undefined;
    if (!recordThere) {
      putBack.push(id);
      failed.push(takenOver(plan, id));
    } else if (st === undefined) {
      // The taken name is gone although our record was there: a recoverer won the fence while we were paused. Nothing
      // was copied for it; the record goes only once the recoverer is done with it (finishRecord).
      failed.push(takenOver(plan, id));
      a.handedOver = true;
    } else if (yield* hasCrashTwin(plan, id, st)) {
      putBack.push(id);
      a.skipped.push(id);
    } else live.push(id);
  }
  // Nothing was copied for these; a put-back that fails leaves a taken name that recovery puts back.
  yield* settle(
    'C1',
    putBack.map(
      (id) => ({ type: 'rename', step: 'C1', spool: S, from: names.taken(id, plan.tx), to: names.source(id) }) as const,
    ),
  );
  return live;
}

/** Whether taken message `id` (`st`) has another protocol name of the same file: a crashed attempt's twin. */
function* hasCrashTwin(plan: TransactionPlan, id: string, st: EntryStat): Machine<boolean> {
  if ((st.nlink ?? 1) <= 1 || st.fileId === undefined) return false;
  const twins = yield* perform({
    type: 'twins',
    step: 'C1',
    spool: plan.source.backend,
    id,
    fileId: st.fileId,
    kinds: ['source', 'taken', 'committed', 'backout', 'held', 'deleting'],
    except: names.taken(id, plan.tx),
  });
  return twins.length > 0;
}

/**
 * Sort the outcomes of the renames of `ids` that race on the fence (the
 * commit `p → k`, a back-out `p → b`): won; lost (`ENOENT`: a recoverer
 * renamed the taken name first), reported as taken over; or failed otherwise,
 * reported with the storage's error.
 */
function sortFence(
  plan: TransactionPlan,
  ids: readonly string[],
  results: readonly Settled[],
  failed: MessageFailure[],
): { won: string[]; lost: string[]; undecided: string[] } {
  const out = { won: [] as string[], lost: [] as string[], undecided: [] as string[] };
  results.forEach((r, k) => {
    const id = ids[k]!;
    if (r.ok) out.won.push(id);
    else if (isFanoutError(r.error, 'ENOENT')) {
      out.lost.push(id);
      failed.push(takenOver(plan, id));
    } else {
      out.undecided.push(id);
      failed.push(messageFailure(id, r.error, false, plan.source.backend, names.source(id)));
    }
  });
  return out;
}

/**
 * Staged: an owner that lost the fence removes the staged copies it made.
 * Their names carry this attempt, so nobody else can have made them: safe
 * whenever it runs, and it spares the spool copies a recoverer that finished
 * before they were written would never see. (Seed copies are `d<id>`, which a
 * newer attempt may own by now: those are left; see `clearOrphanLock`.)
 */
function* dropOwnCopies(plan: TransactionPlan, ids: readonly string[], made: ReadonlySet<string>): Machine<boolean> {
  if (ids.length === 0) return true;
  // Seed: the copies are left (see above), and only the record leads a later recovery to a lock this attempt made.
  if (!variantOf(plan.protocol).copiesNameTheAttempt) return false;
  const ops = plan.destinations.flatMap((d, k) =>
    ids
      .filter((id) => made.has(madeKey(k, copyName(plan, id))))
      .map((id) => ({ type: 'remove', step: 'B', spool: d.spool.backend, name: copyName(plan, id) }) as const),
  );
  return (yield* settle('B', ops)).every((r) => r.ok);
}

/**
 * Back out (roll back) this attempt for `ids`: win the fence first
 * (`p<id>.<tx>` → `b<id>.<tx>`; `ENOENT`: a recoverer took the attempt over
 * and does it instead, so nothing is touched), remove the copies (and seed
 * locks) this attempt made, make that durable, then give each message its
 * name `s<id>` back. A removal that fails is reported and keeps the record,
 * which still names the copy, for recovery to remove later: nothing is ever
 * left that no record points at.
 * @returns `back`, the ids fully backed out (the others are reported in `failed`); `lost`, those whose fence a
 * recoverer won; `dropped`, whether the copies this attempt made of those are gone.
 */
function* backOut(
  plan: TransactionPlan,
  ids: readonly string[],
  made: ReadonlySet<string>,
  failed: MessageFailure[],
  counting?: Counting,
  hung: ReadonlyMap<string, unknown> = new Map(),
): Machine<{ back: string[]; lost: string[]; dropped: boolean }> {
  if (ids.length === 0) return { back: [], lost: [], dropped: true };
  const fences = yield* settle(
    'B',
    ids.map(
      (id) =>
        ({
          type: 'rename',
          step: 'B',
          spool: plan.source.backend,
          from: names.taken(id, plan.tx),
          to: names.backout(id, plan.tx),
        }) as const,
    ),
  );
  const { won, lost } = sortFence(plan, ids, fences, failed);
  // A lost message with a call still in the air may get its copy after this: only the record leads to it then.
  const dropped = (yield* dropOwnCopies(plan, lost, made)) && !lost.some((id) => hung.has(id));
  // A message with a call still in the air stays backed out but not given back (b<id>.<tx>, under the record):
  // its late copy may land any time, and only its owner, once the call returned, finishes the back-out.
  const stuck = new Set<string>(won.filter((id) => hung.has(id)));
  // Seed: the copies go before their locks; the other order shows consumers unlocked, uncommitted d<id>s.
  for (const name of variantOf(plan.protocol).rollbackNames)
    yield* removeMade(plan, won, (id) => name(id, plan.tx), made, stuck, failed);
  // The removals are durable before the message is given back: otherwise a crash could leave copies of a message that
  // is waiting again.
  yield* syncAll(
    'B',
    plan.destinations.map((d) => d.spool.backend),
  );
  const hold = counting
    ? yield* countFailures(
        plan,
        won.filter((id) => !stuck.has(id)),
        counting,
      )
    : new Set<string>();
  // A message whose copies could not all be removed is given back too (a newer attempt's copies have their own
  // names, or its lock waits); the record stays, so that recovery finds and removes what is left.
  const giveBack = won.filter((id) => !hung.has(id));
  const restored = yield* giveBackAll(plan, giveBack, hold);
  giveBack.forEach((id, k) => {
    const n = counting?.counts.get(id);
    if (n !== undefined && restored[k]!.ok) counting!.counts.set(id, { ...n, held: hold.has(id) });
  });
  return { back: giveBack.filter((id, k) => !stuck.has(id) && restored[k]!.ok), lost, dropped };
}

/**
 * B remove: the copies named `name(id)` this attempt made of `won` in every destination, but those of messages in
 * `stuck`. A removal that fails is reported ("left for recovery") and marks its message stuck.
 */
function* removeMade(
  plan: TransactionPlan,
  won: readonly string[],
  name: (id: string) => string,
  made: ReadonlySet<string>,
  stuck: Set<string>,
  failed: MessageFailure[],
): Machine<void> {
  const targets = plan.destinations.flatMap((d, k) =>
    won
      .filter((id) => made.has(madeKey(k, name(id))) && !stuck.has(id))
      .map((id) => ({ id, spool: d.spool.backend, name: name(id) })),
  );
  const results = yield* settle(
    'B',
    targets.map(({ spool, name: n }) => ({ type: 'remove', step: 'B', spool, name: n }) as const),
  );
  results.forEach((r, k) => {
    if (r.ok) return;
    const t = targets[k]!;
    if (!stuck.has(t.id)) {
      const e = toFanoutError(r.error, 'EIO', { spool: t.spool.location, file: t.name });
      failed.push({
        id: t.id,
        error: new FanoutError(e.code, `rollback could not remove ${t.name}: ${e.message}; left for recovery`, {
          spool: t.spool.location,
          file: t.name,
          cause: e,
        }),
        committed: false,
      });
    }
    stuck.add(t.id);
  });
}

/**
 * B give back: rename each `b<id>.<tx>` of `ids` → `s<id>`, or, for a message in `hold` (it failed too often; step
 * A), → `h<id>.s`, which no worker lists.
 */
function* giveBackAll(plan: TransactionPlan, ids: readonly string[], hold: ReadonlySet<string>): Machine<Settled[]> {
  return yield* settle(
    'B',
    ids.map(
      (id) =>
        ({
          type: 'rename',
          step: hold.has(id) ? 'A' : 'B',
          spool: plan.source.backend,
          from: names.backout(id, plan.tx),
          to: hold.has(id) ? names.held(id, 's') : names.source(id),
        }) as const,
    ),
  );
}

/** The back-out's bookkeeping of failed attempts: which messages failed by themselves, and what was counted. */
interface Counting {
  /** Messages whose copy failed because of the message itself (`ETRANSFORM`), with the error. */
  readonly poison: ReadonlyMap<string, FanoutError>;
  /** Filled in: the new count of each counted message, and whether it was held. */
  readonly counts: Map<string, { count: number; held: boolean }>;
}

/**
 * A: count one failed attempt of each message of `ids` that failed by
 * itself, while it is still `b<id>.<tx>` (ours: nobody else acts on it), and
 * before it is given back, in the same spool and in that order, so that a
 * crash never leaves it waiting with its count undone *and* reapplied. A
 * count that cannot be written is reported; the message is given back
 * uncounted (one more attempt).
 * @returns the messages that reached `maxAttempts`: to be held.
 */
function* countFailures(plan: TransactionPlan, ids: readonly string[], counting: Counting): Machine<Set<string>> {
  const S = plan.source.backend;
  const max = plan.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  const hold = new Set<string>();
  for (const id of ids) {
    const error = counting.poison.get(id);
    if (error === undefined) continue;
    try {
      const count = yield* countAttempt('A', S, id, error, plan.now(), plan.tempName());
      counting.counts.set(id, { count, held: false });
      if (count >= max) hold.add(id);
    } catch (err) {
      if (err instanceof MachineStopped) throw err;
      const e = toFanoutError(err, 'EIO', { spool: S.location, file: names.attempts(id, 0) });
      counting.counts.set(id, { count: 0, held: false });
      plan.onCountFailed?.(id, e);
    }
  }
  return hold;
}

/**
 * The commit without its fence (`--drop-fence` of the crash checker only):
 * the message is removed under whichever name it has now, as the old
 * protocol's unlink of `s<id>` did, so a paused owner still "commits" after a
 * recoverer gave the message back. Never used outside the checker.
 */
function* unfencedCommit(plan: TransactionPlan, ids: readonly string[]): Machine<Settled[]> {
  const S = plan.source.backend;
  const out: Settled[] = [];
  for (const id of ids) {
    const [taken] = yield* settle('C5', [{ type: 'remove', step: 'C5', spool: S, name: names.taken(id, plan.tx) }]);
    const removed =
      taken!.ok && taken!.value === true
        ? taken!
        : (yield* settle('C5', [{ type: 'remove', step: 'C5', spool: S, name: names.source(id) }]))[0]!;
    if (removed.ok && removed.value === true)
      yield* settle('C5', [
        { type: 'create', step: 'C5', spool: S, name: names.committed(id, plan.tx), content: () => new Uint8Array() },
      ]);
    out.push(
      removed.ok && removed.value !== true
        ? { ok: false, error: new FanoutError('ENOENT', 'gone', { spool: S.location, file: names.source(id) }) }
        : removed,
    );
  }
  return out;
}

/** One attempt as it goes: what its steps report into, and whether its record must stay. */
interface Attempt {
  readonly plan: TransactionPlan;
  readonly failed: MessageFailure[];
  /** Messages another worker took first, or that are gone. */
  readonly skipped: string[];
  /** Messages that have an attempt count (they failed before): C6 removes it once they are delivered. */
  readonly counted: Set<string>;
  readonly copy: CopyState;
  readonly counting: Counting;
  /** Something of the attempt is left in p/k/b (or a recoverer holds it): the record must stay. */
  outstanding: boolean;
  /**
   * A recoverer won the fence on some messages and this attempt has removed what it made of them: the record goes
   * once the recoverer is done with them too (R4's check), since recovery keeps the record of an owner it cannot
   * prove dead.
   */
  handedOver: boolean;
}

function newAttempt(plan: TransactionPlan): Attempt {
  const failed: MessageFailure[] = [];
  const copy: CopyState = {
    failed,
    copyFailed: new Set(),
    made: new Set(),
    anchors: plan.destinations.map(() => undefined),
    poison: new Map(),
    hung: new Map(),
  };
  return {
    plan,
    failed,
    skipped: [],
    counted: new Set(),
    copy,
    counting: { poison: copy.poison, counts: new Map() },
    outstanding: false,
    handedOver: false,
  };
}

/**
 * C6, last: remove the record, only once nothing of the attempt is left in p/k/b (a recoverer needs it for those).
 * After a lost fence, R4's retirement instead: renamed, checked for p/k/b, and put back if the recoverer still has
 * messages of it in hand (it retires the record itself, or keeps it while this owner might still act).
 */
function* finishRecord(a: Attempt): Machine<void> {
  if (a.outstanding) return;
  const S = a.plan.source.backend;
  if (!a.handedOver) {
    yield* settle('C6', [{ type: 'remove', step: 'C6', spool: S, name: names.record(a.plan.tx) }]);
    return;
  }
  try {
    yield* retire(S, a.plan.tx, a.plan.ids, false);
  } catch {
    // Left for recovery, which retires it once this owner is dead.
  }
}

/** B for `ids` (see {@link backOut}); a message not fully backed out keeps the record. */
function* backOutAll(a: Attempt, ids: readonly string[], withCounting?: Counting): Machine<void> {
  const { back, lost, dropped } = yield* backOut(a.plan, ids, a.copy.made, a.failed, withCounting, a.copy.hung);
  if (lost.length > 0) a.handedOver = true;
  if (!dropped || back.length + lost.length !== ids.length) a.outstanding = true;
}

/** What the attempt did; `done` are the messages delivered and forgotten. */
function outcomeOf(
  a: Attempt,
  done: { committed: string[]; bytesOf: Map<string, number> } | { leaseRanOut: string[] } | undefined,
): TransactionOutcome {
  const { hung } = a.copy;
  const committed = done !== undefined && 'committed' in done ? done : undefined;
  return {
    committed: committed?.committed ?? [],
    skipped: a.skipped,
    failed: a.failed,
    bytes: committed ? committed.committed.reduce((sum, id) => sum + (committed.bytesOf.get(id) ?? 0), 0) : 0,
    bytesOf: committed?.bytesOf ?? new Map(),
    attempts: a.counting.counts,
    ...(done !== undefined && 'leaseRanOut' in done ? { leaseRanOut: done.leaseRanOut } : {}),
    // The calls still in the air, for the owner to wait for before it finishes the back-out.
    ...(hung.size > 0 ? { hung: Promise.all([...hung.values()].flat()).then(() => undefined) } : {}),
  };
}

/**
 * C3: every copy's name is durable before the commit; else a crash after C5 could lose a copy that only the cache
 * held. A sync that fails backs out every message of `live`.
 * @returns whether the copies are durable.
 */
function* syncCopies(a: Attempt, live: readonly string[], copied: readonly string[]): Machine<boolean> {
  const { plan } = a;
  try {
    yield* syncAll(
      'C3',
      plan.destinations.map((d) => d.spool.backend),
    );
    return true;
  } catch (err) {
    for (const id of copied)
      a.failed.push(messageFailure(id, err, false, plan.destinations[0]!.spool.backend, copyName(plan, id)));
    yield* backOutAll(a, live);
    return false;
  }
}

/**
 * The lease check, a courtesy, not the guarantee (the fence is): an owner past 2/3 of its lease, or whose renewal
 * found a recoverer's claim, backs out rather than race a takeover it would probably lose.
 */
function leaseRunningOut(plan: TransactionPlan, startedMs: number): boolean {
  const leaseFrom = Math.max(startedMs, plan.lease?.renewedMs ?? startedMs);
  return plan.lease?.lost === true || plan.now() > leaseFrom + (plan.leaseMs * 2) / 3;
}

/**
 * Back out `copied` because the lease is running out (`EABORTED`).
 * @returns the messages given back for that reason alone: the driver offers them again in a smaller batch.
 */
function* backOutForLease(a: Attempt, copied: readonly string[]): Machine<string[]> {
  const before = a.failed.length;
  yield* backOutAll(a, copied);
  const reported = new Set(a.failed.slice(before).map((f) => f.id));
  const leaseRanOut = copied.filter((id) => !reported.has(id));
  for (const id of leaseRanOut)
    a.failed.push({
      id,
      error: new FanoutError(
        'EABORTED',
        'lease ran out before the commit; rolled back (use a longer lease for slow destinations)',
        { spool: a.plan.source.backend.location, file: names.source(id) },
      ),
      committed: false,
    });
  return leaseRanOut;
}

/**
 * C5: commit each message of `copied` by renaming `p<id>.<tx>` → `k<id>.<tx>`. A recoverer's takeover renames the
 * same name to `b<id>.<tx>`: exactly one of the two renames succeeds, so a paused owner cannot commit a message that
 * was rolled back behind its back. Then the sync of S, the loser's own copies, and the back-out of a commit that
 * failed otherwise.
 * @returns the messages committed.
 */
function* commit(a: Attempt, copied: readonly string[]): Machine<string[]> {
  const { plan } = a;
  const S = plan.source.backend;
  const commits =
    plan.dropFence === true
      ? yield* unfencedCommit(plan, copied)
      : yield* settle(
          'C5',
          copied.map(
            (id) =>
              ({
                type: 'rename',
                step: 'C5',
                spool: S,
                from: names.taken(id, plan.tx),
                to: names.committed(id, plan.tx),
              }) as const,
          ),
        );
  const { won: committed, lost, undecided } = sortFence(plan, copied, commits, a.failed);
  // The recoverer that won the fence on a lost message needs the record until it is done (finishRecord).
  if (lost.length > 0) a.handedOver = true;
  if (committed.length > 0) {
    // C5: the commit is durable before any copy becomes visible (staged) and before anything is forgotten.
    yield* syncAll('C5', [S]);
  }
  if (!(yield* dropOwnCopies(plan, lost, a.copy.made))) a.outstanding = true;
  // A commit that failed otherwise changed nothing: back out (its fence may fail too; then recovery decides).
  if (undecided.length > 0) {
    const before = a.failed.length;
    yield* backOutAll(a, undecided);
    a.failed.splice(before); // the commit's own error is the one reported
  }
  return committed;
}

/**
 * C6: forget the delivered messages `done`, then the record. No sync needed: a `k<id>.<tx>` that reappears after a
 * crash is rolled forward again, which finds nothing left to do.
 */
function* forget(a: Attempt, done: readonly string[]): Machine<void> {
  const { plan } = a;
  const S = plan.source.backend;
  // The count of a message that failed before and is delivered now is of no use any more. It goes before the
  // k<id>.<tx>, in the same spool: a crash that keeps the k's removal keeps this one, so no count outlives its
  // message (a k that stays is rolled forward by recovery, which removes the count too).
  yield* settle(
    'C6',
    done
      .filter((id) => a.counted.has(id))
      .flatMap((id) =>
        [0, 1].map(
          (slot) => ({ type: 'remove', step: 'C6', spool: S, name: names.attempts(id, slot as 0 | 1) }) as const,
        ),
      ),
  );
  const forgets = yield* settle(
    'C6',
    done.map((id) => ({ type: 'remove', step: 'C6', spool: S, name: names.committed(id, plan.tx) }) as const),
  );
  if (forgets.some((r) => !r.ok)) a.outstanding = true;
  yield* finishRecord(a);
}

/**
 * One attempt of the chosen protocol over `plan.ids` (docs/PROTOCOL.md), as
 * a machine that yields backend operations; each step is one function below,
 * named as in the protocol's tables.
 *
 * staged: C1 record `m<tx>`, take `s<id>` → `p<id>.<tx>` → C2 copies as
 * `w<id>.<tx>` → C3 sync → C5 commit `p<id>.<tx>` → `k<id>.<tx>` (the
 * fence) → P publish `w` → `d<id>` → C6 unlink `k<id>.<tx>`, then the record.
 *
 * seed: the same, but C2 locks (`l<id>`) and copies as `d<id>`, and U
 * unlocks after the commit instead of P ({@link ProtocolVariant}).
 */
export function* transaction(plan: TransactionPlan): Machine<TransactionOutcome> {
  const a = newAttempt(plan);
  const startedMs = plan.now();
  const live = yield* intent(a);
  for (const id of live) plan.lease?.owned.add(id);
  if (live.length === 0) {
    yield* finishRecord(a);
    plan.onCopied?.();
    return outcomeOf(a, undefined);
  }
  const bytesOf = yield* copyAll(plan, live, a.copy);
  plan.onCopied?.();
  const copied = live.filter((id) => !a.copy.copyFailed.has(id));
  if (!(yield* syncCopies(a, live, copied))) {
    yield* finishRecord(a);
    return outcomeOf(a, undefined);
  }
  // The messages whose own copy failed: backed out, and counted when the message itself was the cause.
  yield* backOutAll(a, [...a.copy.copyFailed], a.counting);
  if (copied.length > 0 && leaseRunningOut(plan, startedMs)) {
    const leaseRanOut = yield* backOutForLease(a, copied);
    yield* finishRecord(a);
    return outcomeOf(a, { leaseRanOut });
  }
  const committed = yield* commit(a, copied);
  // P (staged) or U (seed): the committed copies become visible.
  const stuck =
    committed.length > 0 ? yield* variantOf(plan.protocol).makeVisible(plan, committed, a.failed) : new Set();
  if (stuck.size > 0) a.outstanding = true;
  const done = committed.filter((id) => !stuck.has(id));
  yield* forget(a, done);
  return outcomeOf(a, { committed: done, bytesOf });
}
