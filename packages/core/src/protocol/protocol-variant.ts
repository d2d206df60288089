import type { SpoolBackend } from '../backend/spool-backend.js';
import { type FanoutError, isFanoutError } from '../errors/fanout-error.js';
import type { MarkerRecord, ProtocolName } from '../marker/marker-codec.js';
import { names } from '../names/protocol-names.js';
import {
  clearSeedLeftovers,
  publishStaged,
  removeChecked,
  removeStragglers,
  type RecoveryLeftovers,
} from '../recovery/recovery-steps.js';
import { type LeafOp, type Machine, settle, syncAll } from './ops.js';
import { messageFailure, type MessageFailure, type TransactionPlan } from './transaction-plan.js';

/**
 * Everything that differs between the two protocols (docs/PROTOCOL.md, "staged" and "seed"), in one object per
 * protocol, used by the forward machine (`transaction`), by recovery (`recoverAttempt`) and by the fan-out driver.
 * The machines themselves have no branch on the protocol's name: what they do differently, they ask this.
 */
export interface ProtocolVariant {
  readonly name: ProtocolName;
  /**
   * C2's name for a copy of message `id` by attempt `tx` in a destination: staged `w<id>.<tx>` (invisible until P
   * publishes it), seed `d<id>` (visible at once, under its lock).
   */
  readonly copyName: (id: string, tx: string) => string;
  /**
   * The names a back-out (B) or a rollback (R2) removes for message `id` in each destination, in this order: a seed
   * copy goes before its lock, since the other order shows a consumer an unlocked, uncommitted `d<id>`.
   */
  readonly rollbackNames: readonly ((id: string, tx: string) => string)[];
  /**
   * Seed: C2 makes each copy only under its lock `l<id>`, made a window ahead of the copies; a lock that blocks a
   * message may be an orphan of a lost attempt, which the driver clears (`clearOrphanLock`).
   */
  readonly locks: boolean;
  /**
   * Staged: a copy's name carries its attempt, so an owner that lost the fence removes the copies it made (nobody else
   * can have made them). A seed copy `d<id>` may be a newer attempt's by then: it is left.
   */
  readonly copiesNameTheAttempt: boolean;
  /**
   * Descriptors each copy of a copying attempt holds (docs/PROTOCOL.md, "Open files"): 2 for the copy (its new file
   * and a read of the source); seed 1 more, for the lock of the next window made meanwhile.
   */
  readonly descriptorsPerCopy: number;
  /**
   * After C5's sync, make the committed copies visible, durably: staged P (rename `w<id>.<tx>` → `d<id>`), seed U
   * (remove the locks `l<id>`); then sync every destination. A step that fails is reported in `failed` as committed.
   * @returns the messages whose step failed: their commit `k<id>.<tx>` and the record stay for recovery.
   */
  readonly makeVisible: (
    plan: TransactionPlan,
    committed: readonly string[],
    failed: MessageFailure[],
  ) => Machine<Set<string>>;
  /**
   * R3, recovery's roll forward of committed message `id` in `destinations` (not synced): staged publishes the copies
   * not published yet, seed removes the locks. What fails is reported in `problems`.
   */
  readonly rollForward: (
    destinations: SpoolBackend[],
    id: string,
    tx: string,
    problems: FanoutError[],
  ) => Machine<void>;
  /**
   * Recovery of message `id` of `record` that holds none of the attempt's names (`p`, `k`, `b`): what the attempt
   * may have left (staged: a straggling `w<id>.<tx>`; seed: a lock naming it, and the copy beside it while the
   * message waits again), removed durably.
   */
  readonly clearLeftovers: (
    source: SpoolBackend,
    destinations: SpoolBackend[],
    record: MarkerRecord,
    id: string,
    problems: FanoutError[],
  ) => Machine<RecoveryLeftovers>;
}

/**
 * One step for each committed message in every destination, at once (`op` makes it); the first failure of a message
 * that `tolerated` does not excuse is reported, on `failedName`, and marks it stuck.
 */
function* inEveryDestination(
  plan: TransactionPlan,
  step: 'P' | 'U',
  committed: readonly string[],
  op: (id: string, spool: SpoolBackend) => LeafOp,
  failedName: (id: string) => string,
  failed: MessageFailure[],
  tolerated: (error: unknown) => boolean = () => false,
): Machine<Set<string>> {
  const targets = plan.destinations.flatMap((d) => committed.map((id) => ({ id, spool: d.spool.backend })));
  const results = yield* settle(
    step,
    targets.map(({ id, spool }) => op(id, spool)),
  );
  const stuck = new Set<string>();
  results.forEach((r, k) => {
    const { id, spool } = targets[k]!;
    if (r.ok || tolerated(r.error) || stuck.has(id)) return;
    stuck.add(id);
    failed.push(messageFailure(id, r.error, true, spool, failedName(id)));
  });
  return stuck;
}

/** The staged protocol (the default): copies are staged as `w<id>.<tx>` and published after the commit. */
export const STAGED: ProtocolVariant = {
  name: 'staged',
  copyName: names.staged,
  rollbackNames: [names.staged],
  locks: false,
  copiesNameTheAttempt: true,
  descriptorsPerCopy: 2,
  *makeVisible(plan, committed, failed) {
    // P: publish the staged copies; a consumer never sees an uncommitted one.
    const stuck = yield* inEveryDestination(
      plan,
      'P',
      committed,
      (id, spool) => ({ type: 'rename', step: 'P', spool, from: names.staged(id, plan.tx), to: names.delivered(id) }),
      names.delivered,
      failed,
      // ENOENT: a recoverer rolling the commit forward published it already.
      (error) => isFanoutError(error, 'ENOENT'),
    );
    // P: the d-names are durable before the commit record goes; else a crash could leave w-files that nobody
    // publishes (loss).
    yield* syncAll(
      'P',
      plan.destinations.map((d) => d.spool.backend),
    );
    return stuck;
  },
  *rollForward(destinations, id, tx, problems) {
    for (const spool of destinations) yield* publishStaged(spool, id, tx, problems);
  },
  clearLeftovers: (_source, destinations, record, id, problems) =>
    removeStragglers(destinations, names.staged(id, record.tx), problems),
};

/** The seed protocol (the post's): copies are made as `d<id>` under a lock `l<id>`, unlocked after the commit. */
export const SEED: ProtocolVariant = {
  name: 'seed',
  copyName: (id) => names.delivered(id),
  rollbackNames: [(id) => names.delivered(id), names.lock],
  locks: true,
  copiesNameTheAttempt: false,
  descriptorsPerCopy: 3,
  *makeVisible(plan, committed, failed) {
    const stuck = yield* inEveryDestination(
      plan,
      'U',
      committed,
      (id, spool) => ({ type: 'remove', step: 'U', spool, name: names.lock(id) }),
      names.lock,
      failed,
    );
    // U: the unlocks are durable before the commit record goes; else a crash leaves locks that no recovery will find.
    yield* syncAll(
      'U',
      plan.destinations.map((d) => d.spool.backend),
    );
    return stuck;
  },
  *rollForward(destinations, id, _tx, problems) {
    yield* removeChecked(
      'R3',
      destinations.map((spool) => ({ spool, name: names.lock(id) })),
      problems,
      'roll-forward',
    );
  },
  clearLeftovers: clearSeedLeftovers,
};

/** The variant of protocol `name`. */
export function variantOf(name: ProtocolName): ProtocolVariant {
  return name === 'seed' ? SEED : STAGED;
}
