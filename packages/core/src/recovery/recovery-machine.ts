import type { SpoolBackend } from '../backend/spool-backend.js';
import { FanoutError, isFanoutError, toFanoutError } from '../errors/fanout-error.js';
import type { MarkerRecord } from '../marker/marker-codec.js';
import { names } from '../names/protocol-names.js';
import { type Machine, perform, type StepName, syncAll } from '../protocol/ops.js';
import { type ProtocolVariant, variantOf } from '../protocol/protocol-variant.js';
import { publishTemp } from '../spool/publish-temp.js';
import { removeChecked, stats } from './recovery-steps.js';
import { clearAttempts, DEFAULT_MAX_ATTEMPTS, readAttempts } from '../attempts/attempt-record.js';

/**
 * The name a message recovery gives back gets: `s<id>`, or `h<id>.s` when
 * its attempt count reached `maxAttempts` (its owner counted the failure,
 * then crashed before it could hold it). Reads only.
 */
export function* giveBackName(source: SpoolBackend, id: string, maxAttempts: number): Machine<string> {
  const { record } = yield* readAttempts('R2', source, id);
  return record !== undefined && record.count >= maxAttempts ? names.held(id, 's') : names.source(id);
}

/** What recovering one attempt did. */
export interface AttemptRecoveryOutcome {
  readonly rolledBack: number;
  readonly rolledForward: number;
  /** Removals or publishes that failed, or states recovery must not guess about: the record stays. */
  readonly problems: FanoutError[];
  /** The record is gone: the attempt is over. False: it stays (problems, or the attempt took a message meanwhile). */
  readonly retired: boolean;
  /**
   * Everything was recovered, but the record stays (`keepRecord`): its owner may still be running and make copies of
   * the attempt, which a later recovery removes through the record.
   */
  readonly awaitingOwner: boolean;
  /** What was done to each message that needed something. */
  readonly messages: readonly { readonly id: string; readonly action: 'rolled-back' | 'rolled-forward' }[];
}

/**
 * Recover message `id` of a stale attempt (docs/PROTOCOL.md, "Recovery"),
 * by the name the message has in the source:
 * - `k<id>.<tx>`: committed: roll forward (publish the remaining copies or
 *   unlock them), sync, forget the commit;
 * - `p<id>.<tx>`: in flight: win the fence (`p` → `b`; `ENOENT` means the
 *   owner committed meanwhile: roll forward instead), then as `b`;
 * - `b<id>.<tx>`: backing out: remove the attempt's copies, sync, give the
 *   message its name `s<id>` back;
 * - none of them: the attempt never took it, or finished with it; staged
 *   copies a paused owner may have left after losing the fence are removed.
 * Every step is idempotent; a failed removal leaves the state for later.
 */
function* recoverMessage(m: MessageRecovery): Machine<'back' | 'forward' | 'none' | 'stuck'> {
  const { source, record, id } = m;
  const { tx } = record;
  for (let round = 0; round < 2; round++) {
    const [k, b, p] = yield* stats('R2', source, [names.committed(id, tx), names.backout(id, tx), names.taken(id, tx)]);
    if (k !== undefined) return yield* rollForward(m, p !== undefined);
    // The owner committed (or backed out) first: look again.
    if (b === undefined && p !== undefined && !(yield* winFence(m))) continue;
    if (b === undefined && p === undefined)
      return yield* m.variant.clearLeftovers(source, m.destinations, record, id, m.problems);
    return yield* rollBack(m, b !== undefined && p !== undefined);
  }
  return 'stuck';
}

/** One message of a stale attempt being recovered, and where its problems go. */
interface MessageRecovery {
  readonly source: SpoolBackend;
  readonly record: MarkerRecord;
  readonly variant: ProtocolVariant;
  readonly id: string;
  readonly destinations: SpoolBackend[];
  readonly problems: FanoutError[];
  readonly maxAttempts: number;
}

/**
 * R3, roll forward a committed message: its copies (the variant's roll forward), synced; a twin `p<id>.<tx>`
 * (`twinTaken`), durably; its attempt count; then its commit `k<id>.<tx>`.
 */
function* rollForward(m: MessageRecovery, twinTaken: boolean): Machine<'forward' | 'stuck'> {
  const { source, id, destinations, problems } = m;
  const { tx } = m.record;
  const before = problems.length;
  yield* m.variant.rollForward(destinations, id, tx, problems);
  if (problems.length > before) return 'stuck';
  // R3: the publishes are durable before the commit is forgotten; else a crash leaves copies nothing leads to.
  yield* syncAll('R3', destinations);
  // A twin p<id>.<tx> (a crash kept both names of the commit's rename) goes first, durably: a p left
  // alone after the k would read as an attempt that never committed, and be rolled back.
  if (twinTaken) {
    if (!(yield* removeChecked('R3', [{ spool: source, name: names.taken(id, tx) }], problems, 'roll-forward')))
      return 'stuck';
    yield* syncAll('R3', [source]);
  }
  // A delivered message's attempt count is of no use any more (its owner crashed before it removed it); it goes
  // before the k, as in C6, so that none outlives the message.
  try {
    yield* clearAttempts('R3', source, m.id);
  } catch {
    // Left: a count that names a delivered message is only reported by `status`.
  }
  if (!(yield* removeChecked('R3', [{ spool: source, name: names.committed(id, tx) }], problems, 'roll-forward')))
    return 'stuck';
  return 'forward';
}

/**
 * R2, the fence: rename `p<id>.<tx>` → `b<id>.<tx>`. Exactly one of this rename and the owner's commit (`p` → `k`)
 * succeeds.
 * @returns false when the owner renamed it first (`ENOENT`).
 */
function* winFence(m: MessageRecovery): Machine<boolean> {
  const { tx } = m.record;
  try {
    yield* perform({
      type: 'rename',
      step: 'R2',
      spool: m.source,
      from: names.taken(m.id, tx),
      to: names.backout(m.id, tx),
    });
    return true;
  } catch (err) {
    if (isFanoutError(err, 'ENOENT')) return false;
    throw err;
  }
}

/**
 * R2, roll back a message held as `b<id>.<tx>`: drop a twin `p` (`twinTaken`), remove the attempt's copies in every
 * destination in the variant's order, sync, and give the message back (`s<id>`, or `h<id>.s` when its count is
 * full). A copy that cannot be removed keeps the record (which names it) for a later recovery; the message is given
 * back all the same.
 */
function* rollBack(m: MessageRecovery, twinTaken: boolean): Machine<'back' | 'stuck'> {
  const { source, id, destinations, problems } = m;
  const { tx } = m.record;
  // A twin p (the fence's rename half-kept by a crash) is dropped first.
  if (twinTaken && !(yield* removeChecked('R2', [{ spool: source, name: names.taken(id, tx) }], problems, 'rollback')))
    return 'stuck';
  // Seed: each copy goes before its lock; the other order shows a consumer an unlocked, uncommitted d<id>.
  let removed = true;
  for (const name of m.variant.rollbackNames) {
    if (!removed) break;
    removed = yield* removeChecked(
      'R2',
      destinations.map((spool) => ({ spool, name: name(id, tx) })),
      problems,
      'rollback',
    );
  }
  // R2: the copies' removal is durable before the message is waiting again.
  yield* syncAll('R2', destinations);
  try {
    yield* perform({
      type: 'rename',
      step: 'R2',
      spool: source,
      from: names.backout(id, tx),
      to: yield* giveBackName(source, id, m.maxAttempts),
    });
  } catch (err) {
    if (!isFanoutError(err, 'ENOENT')) {
      problems.push(toFanoutError(err, 'EIO', { spool: source.location, file: names.backout(id, tx) }));
      return 'stuck';
    }
  }
  return removed ? 'back' : 'stuck';
}

/**
 * R4: retire the record of an attempt whose messages are all settled: rename
 * `m<tx>` → `x<tx>`, check again that none of its messages is held (`p`,
 * `k`, `b`), and remove it; if one is (a paused owner took a message between
 * our look and the rename), the record is put back. Pairs with the owner's
 * check after its takes: of the two, at least one sees the other. Also the
 * owner's own last step after it lost the fence on some of `ids` (a
 * recoverer may still be rolling them back: then the record stays for it).
 */
export function* retire(
  source: SpoolBackend,
  tx: string,
  ids: readonly string[],
  fromRetiring: boolean,
): Machine<boolean> {
  if (!fromRetiring) {
    try {
      yield* perform({ type: 'rename', step: 'R4', spool: source, from: names.record(tx), to: names.retiring(tx) });
    } catch (err) {
      if (isFanoutError(err, 'ENOENT')) return true; // retired or finished by someone else
      throw err;
    }
  }
  const held = yield* stats(
    'R4',
    source,
    ids.flatMap((id) => [names.taken(id, tx), names.committed(id, tx), names.backout(id, tx)]),
  );
  if (held.some((st) => st !== undefined)) {
    yield* perform({ type: 'rename', step: 'R4', spool: source, from: names.retiring(tx), to: names.record(tx) });
    return false;
  }
  yield* perform({ type: 'remove', step: 'R4', spool: source, name: names.retiring(tx) });
  return true;
}

/**
 * Recover one verified, stale attempt: each of its messages (see
 * {@link recoverMessage}), then, if nothing is left to do, its record.
 * `destinations` are the record's destinations, opened and verified.
 * `fromRetiring`: the record was found as `x<tx>` (a crash during R4).
 * `keepRecord`: the owner is not proven dead (its lease ran out, but it may
 * be paused, or cut off by a partition, with calls in the air): the record
 * stays however the messages end, since an owner that carries on may still
 * make a staged copy `w<id>.<tx>` (or a seed lock) after this recovery, and
 * if it is killed before it removes it, only a later recovery through the
 * record finds it (real NFS v3, two hosts: copies of a taken-over attempt
 * left in the destinations). The owner retires the record itself when it
 * finds it lost the fence; else recovery does, once the owner is proven dead.
 */
export function* recoverAttempt(
  source: SpoolBackend,
  record: MarkerRecord,
  destinations: SpoolBackend[],
  fromRetiring = false,
  maxAttempts = DEFAULT_MAX_ATTEMPTS,
  keepRecord = false,
): Machine<AttemptRecoveryOutcome> {
  const problems: FanoutError[] = [];
  let rolledBack = 0;
  let rolledForward = 0;
  let stuck = false;
  const messages: { id: string; action: 'rolled-back' | 'rolled-forward' }[] = [];
  const variant = variantOf(record.protocol);
  for (const id of record.ids) {
    const done = yield* recoverMessage({ source, record, variant, id, destinations, problems, maxAttempts });
    if (done === 'back') {
      rolledBack++;
      messages.push({ id, action: 'rolled-back' });
    } else if (done === 'forward') {
      rolledForward++;
      messages.push({ id, action: 'rolled-forward' });
    } else if (done === 'stuck') stuck = true;
  }
  if (stuck) return { rolledBack, rolledForward, problems, retired: false, awaitingOwner: false, messages };
  if (keepRecord) return { rolledBack, rolledForward, problems, retired: false, awaitingOwner: true, messages };
  const retired = yield* retire(source, record.tx, record.ids, fromRetiring);
  return { rolledBack, rolledForward, problems, retired, awaitingOwner: false, messages };
}

/**
 * R1 (takeover): claim attempt `tx` by creating the claim `r<tx>.<g>`
 * exclusively (whole under a temp name, then published without clobbering,
 * so nobody reads a claim without its holder). Of several claimants exactly
 * one creates it; the others get `EEXIST` and leave the attempt alone.
 * @returns true if this recoverer now holds the claim.
 */
export function* claimAttempt(
  source: SpoolBackend,
  claim: string,
  content: Uint8Array,
  temp: string,
): Machine<boolean> {
  const r = yield* publishTemp('R1', source, temp, () => content, claim);
  if (r.published) return true;
  if (!r.removed.ok) throw r.removed.error;
  if (isFanoutError(r.error, 'EEXIST')) return false;
  throw r.error;
}

/** Attempt `tx` is over: neither its record `m<tx>` nor `x<tx>` is in the source. */
export function* recordGone(step: StepName, source: SpoolBackend, tx: string): Machine<boolean> {
  const [m, x] = yield* stats(step, source, [names.record(tx), names.retiring(tx)]);
  return m === undefined && x === undefined;
}

/** After the record is gone: remove the claims of the attempt. */
export function* releaseClaims(source: SpoolBackend, claims: string[]): Machine<void> {
  if (claims.length === 0) return;
  yield {
    type: 'all',
    step: 'R1',
    ops: claims.map((name) => ({ type: 'remove', step: 'R1', spool: source, name }) as const),
  };
}

/**
 * A message name of attempt `tx` whose record is gone (`m<tx>` and `x<tx>`
 * both absent): `p`/`b` are given their name `s<id>` back (an owner that
 * took a message after its record was retired puts it back itself and
 * copied nothing; a rollback had removed the copies before the record went),
 * a `k` is removed (its copies were all published before the record went).
 */
export function* recoverOrphan(
  source: SpoolBackend,
  file: string,
  kind: 'taken' | 'backout' | 'committed',
  id: string,
  tx: string,
  maxAttempts = DEFAULT_MAX_ATTEMPTS,
): Machine<boolean> {
  if (!(yield* recordGone('R2', source, tx))) return false;
  try {
    if (kind === 'committed') return yield* perform({ type: 'remove', step: 'R3', spool: source, name: file });
    yield* perform({
      type: 'rename',
      step: 'R2',
      spool: source,
      from: file,
      to: yield* giveBackName(source, id, maxAttempts),
    });
  } catch (err) {
    if (isFanoutError(err, 'ENOENT')) return false;
    throw err;
  }
  return true;
}
