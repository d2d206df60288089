import { overrideBackend } from '../backend/override-backend.js';
import { type SpoolBackend, type SpoolOpener } from '../backend/spool-backend.js';
import { FanoutError, isFanoutError, toFanoutError } from '../errors/fanout-error.js';
import { clearOrphanLock } from './orphan-locks.js';
import { budgetHooks, DescriptorBudget } from './descriptor-budget.js';
import { type EventSink, ignoreEvents } from '../events/events.js';
import { newId } from '../ids/ids.js';
import type { ProtocolName } from '../marker/marker-codec.js';
import { isValidTx, parseProtocolName } from '../names/protocol-names.js';
import { defaultOwnerProbe, type OwnerInfo, type OwnerProbe, processOwner } from '../owner/owner.js';
import { type ExecutorHooks, MachineStopped, runMachine, unwrapStopped } from '../protocol/executor.js';
import { variantOf } from '../protocol/protocol-variant.js';
import { markerFor, transaction } from '../protocol/transaction.js';
import { recoverAttempt } from '../recovery/recovery-machine.js';
import type {
  MessageFailure,
  TransactionOutcome,
  TransactionPlan,
  TransformFactory,
  VerifiedSpool,
} from '../protocol/transaction-plan.js';
import { recover, type RecoverySummary } from '../recovery/recover.js';
import { attemptEnded, attemptStarted } from './active-attempts.js';
import { startLeaseRenewal } from './lease-renewal.js';
import { BatchSizer } from './batch-sizer.js';
import { readSpoolIdentity } from '../spool/identity.js';
import { tempName } from '../spool/temp-name.js';

/** A destination of {@link fanOut}. */
export interface FanOutDestination {
  readonly spool: SpoolBackend;
  /** Optional per-destination transform; content is streamed through it. */
  readonly transform?: TransformFactory;
}

/** Options of {@link fanOut}. */
export interface FanOutOptions {
  readonly source: SpoolBackend;
  readonly destinations: readonly FanOutDestination[];
  /** `staged` (default) or `seed`; see docs/PROTOCOL.md. */
  readonly protocol?: ProtocolName;
  /**
   * Keeps the batch size learnt from earlier calls (a `--watch` loop passes one):
   * batches are cut when attempts run out of lease and grown back when they fit.
   * Default: a fresh one from `batchSize` and `leaseMs`.
   * @internal `BatchSizer` is in `@fanout/core/internal`, not covered by semver.
   */
  readonly batchSizer?: BatchSizer;
  /**
   * Messages per transaction: they share directory syncs. Default {@link DEFAULT_BATCH_SIZE}; cut, for this call, when
   * attempts run out of lease.
   */
  readonly batchSize?: number;
  /**
   * Transactions writing copies at once. Default {@link DEFAULT_CONCURRENCY}.
   * As many again may be finishing (syncs, commit, publish) meanwhile, so
   * the disk keeps receiving data.
   */
  readonly concurrency?: number;
  /** Messages of a transaction whose copies are written at once. Default {@link DEFAULT_COPY_WINDOW}. */
  readonly copyWindow?: number;
  /**
   * The most file descriptors (or connections) this call holds at once, at
   * least `MIN_OPEN_FILES` (5): operations wait for descriptors before they
   * open anything (see `DescriptorBudget`), so a budget under the process's
   * open-file limit means no EMFILE and no stall, whatever `concurrency`,
   * `copyWindow` and the number of destinations ask for; they then only say
   * how much may run at once. Without it, the bound is
   * `unboundedDescriptors()` (docs/PROTOCOL.md, "Open files").
   */
  readonly maxOpenFiles?: number;
  /** Run recovery of the source first (default true). */
  readonly recoverFirst?: boolean;
  /**
   * Opens spools named by markers found during recovery. Default: the source
   * and destinations given here, matched by location.
   */
  readonly open?: SpoolOpener;
  /** The owner written into markers; default {@link processOwner}(). */
  readonly owner?: OwnerInfo;
  /** Judges owners found by recovery; default {@link defaultOwnerProbe}. */
  readonly ownerProbe?: OwnerProbe;
  /** Lease written into markers. Default 10 minutes. */
  readonly leaseMs?: number;
  /** Stop taking new messages; messages in flight finish or roll back. */
  readonly signal?: AbortSignal;
  readonly onEvent?: EventSink;
  /** For checkers and schedulers: stand between the machines and the backends. @internal */
  readonly hooks?: ExecutorHooks;
  readonly now?: () => number;
  /** Makes attempt ids; injectable for reproducible simulations. Each must be ULID-shaped (`isValidTx`). */
  readonly newTx?: () => string;
  readonly tempName?: () => string;
  /**
   * A copy (read, transform, write) that makes no progress for this long fails with `ETIMEDOUT` and is rolled back.
   * Default 5 minutes; 0: never.
   */
  readonly stallTimeoutMs?: number;
  /**
   * Failed attempts of a message (a transform that throws or gives no
   * stream: `ETRANSFORM`) after which it is held as `h<id>.s` instead of
   * offered again. Default `DEFAULT_MAX_ATTEMPTS` (5). The initial
   * recovery holds a message it gives back whose count reached it.
   */
  readonly maxAttempts?: number;
  /** @internal The crash checker's `--drop-fence`: see `TransactionPlan.dropFence`. */
  readonly dropFence?: boolean;
}

/** What {@link fanOut} did. */
export interface FanOutSummary {
  /** Messages delivered to every destination and removed from the source. */
  readonly committed: number;
  /** Messages that failed; uncommitted ones are still in the source. */
  readonly failed: MessageFailure[];
  /** Messages owned by another worker, or vanished, left alone. */
  readonly skipped: number;
  /** Bytes written to destinations. */
  readonly bytes: number;
  /** Messages held in this call because they failed `maxAttempts` times (each also in `failed`). */
  readonly held: number;
  /** What the initial recovery did (undefined if it did not run). */
  readonly recovery: RecoverySummary | undefined;
}

/**
 * Defaults chosen by `pnpm bench` (docs/BENCHMARKS.md): batches share their
 * directory syncs and several transactions keep the disk's queue busy; one
 * message at a time costs 12 fsyncs per message to 3 destinations, a batch of
 * 32 about 4.
 *
 * @example
 * ```ts
 * import { DEFAULT_BATCH_SIZE, fanOut } from '@fanout/core';
 *
 * // fewer syncs per message, longer attempts
 * await fanOut({ source, destinations, batchSize: DEFAULT_BATCH_SIZE * 2 });
 * ```
 */
export const DEFAULT_BATCH_SIZE = 32;
/**
 * Transactions of one {@link fanOut} call that write copies at once (`concurrency`), unless told otherwise.
 *
 * @example
 * ```ts
 * import { DEFAULT_CONCURRENCY, fanOut } from '@fanout/core';
 *
 * await fanOut({ source, destinations, concurrency: Math.max(1, DEFAULT_CONCURRENCY / 2) }); // a slow disk
 * ```
 */
export const DEFAULT_CONCURRENCY = 4;

/**
 * The smallest `maxOpenFiles`: one copy (2) and, outside the budget, what the
 * driver and recovery hold between operations: the source's listing, a
 * destination's listing of dead temps and one small read.
 */
export const MIN_OPEN_FILES = 5;
const UNBUDGETED_DESCRIPTORS = 3;

/**
 * Default lease of a marker.
 *
 * @example
 * ```ts
 * import { DEFAULT_LEASE_MS, fanOut } from '@fanout/core';
 *
 * await fanOut({ source, destinations, leaseMs: 3 * DEFAULT_LEASE_MS }); // huge messages over a slow link
 * ```
 */
export const DEFAULT_LEASE_MS = 10 * 60 * 1000;

/**
 * Fan out every message of the source to every destination, exactly once,
 * and return when no message is left (messages that failed stay in the source
 * and are reported; they are not retried in the same call).
 *
 * Guarantees (staged protocol): at every instant each message is either in
 * the source or — after recovery — in every destination exactly once; a
 * consumer of a destination never sees an uncommitted copy. With `seed` the
 * copies are visible, under a lock file, before the commit.
 *
 * @throws `ENOTSPOOL` if a spool has no identity; `EUSAGE` for a bad route
 *   (no destination, the source among its destinations, a destination twice).
 *
 * @example
 * ```ts
 * import { fanOut } from '@fanout/core';
 *
 * const summary = await fanOut({
 *   source: outbox,
 *   destinations: [{ spool: archive }, { spool: mailer }],
 *   onEvent: (event) => {
 *     if (event.type === 'message-failed') console.error(event.error.oneLine());
 *   },
 * });
 * console.log(`${summary.committed} delivered, ${summary.failed.length} failed`);
 * ```
 */
export async function fanOut(options: FanOutOptions): Promise<FanOutSummary> {
  return unwrapStopped(() => fanOutUnwrapped(options));
}

async function fanOutUnwrapped(options: FanOutOptions): Promise<FanOutSummary> {
  const hooks = budgetedHooks(options);
  const { source, destinations } = await verifiedRoute(options);
  const owner = options.owner ?? processOwner();
  const recovery = options.recoverFirst === false ? undefined : await recoverFirst(options, destinations, hooks, owner);
  return new FanOutRun(options, source, destinations, hooks, owner, recovery).run();
}

/** A planned destination: verified, with its transform. */
type RouteDestination = { spool: VerifiedSpool; transform: TransformFactory | undefined };

/** The executor hooks of this call: the caller's, behind the descriptor budget when `maxOpenFiles` asks for one. */
function budgetedHooks(options: FanOutOptions): ExecutorHooks | undefined {
  if (options.destinations.length === 0)
    throw new FanoutError('EUSAGE', 'no destination spool given', { spool: options.source.location });
  if (
    options.maxOpenFiles !== undefined &&
    !(Number.isSafeInteger(options.maxOpenFiles) && options.maxOpenFiles >= MIN_OPEN_FILES)
  ) {
    throw new FanoutError(
      'EUSAGE',
      `maxOpenFiles must be an integer of at least ${MIN_OPEN_FILES}, not ${options.maxOpenFiles}`,
      { spool: options.source.location },
    );
  }
  const budget =
    options.maxOpenFiles === undefined
      ? undefined
      : new DescriptorBudget(options.maxOpenFiles - UNBUDGETED_DESCRIPTORS);
  return budget ? budgetHooks(budget, options.hooks) : options.hooks;
}

/** The source and destinations with their identities; the source among its destinations, or one twice, is refused. */
async function verifiedRoute(
  options: FanOutOptions,
): Promise<{ source: VerifiedSpool; destinations: RouteDestination[] }> {
  const source: VerifiedSpool = { backend: options.source, identity: await readSpoolIdentity(options.source) };
  const destinations: RouteDestination[] = [];
  const seen = new Set([source.identity.uuid]);
  for (const d of options.destinations) {
    const identity = await readSpoolIdentity(d.spool);
    if (seen.has(identity.uuid)) {
      throw new FanoutError(
        'EUSAGE',
        identity.uuid === source.identity.uuid
          ? 'destination is the source spool'
          : 'destination given twice (same spool identity)',
        { spool: d.spool.location },
      );
    }
    seen.add(identity.uuid);
    destinations.push({ spool: { backend: d.spool, identity }, transform: d.transform });
  }
  return { source, destinations };
}

/** The initial recovery of the source (and R6 in the destinations), over the spools this call was given. */
async function recoverFirst(
  options: FanOutOptions,
  destinations: readonly RouteDestination[],
  hooks: ExecutorHooks | undefined,
  owner: OwnerInfo,
): Promise<RecoverySummary> {
  const known = new Map([options.source, ...options.destinations.map((d) => d.spool)].map((b) => [b.location, b]));
  const open: SpoolOpener =
    options.open ??
    (async (location) => {
      const b = known.get(location);
      if (!b)
        throw new FanoutError(
          'EBADURL',
          'marker names a spool this run does not know; run `fanout recover` with access to it',
          { spool: location },
        );
      return b;
    });
  return recover({
    spool: options.source,
    // Recovery closes what it opens; it must not close the spools we were given.
    open: async (location) => {
      const b = known.get(location);
      return b ? withoutClose(b) : open(location);
    },
    ownerProbe: options.ownerProbe ?? defaultOwnerProbe,
    owner,
    now: options.now ?? Date.now,
    onEvent: options.onEvent ?? ignoreEvents,
    hooks,
    // R6 in the destinations too: a dead writer's temp there that outlived its record has nobody else to
    // remove it but the destination's consumer, which may run on another host and cannot prove it dead.
    sweepTempsIn: destinations.map((d) => d.spool.backend),
    ...(options.maxAttempts !== undefined ? { maxAttempts: options.maxAttempts } : {}),
  });
}

/**
 * One call of {@link fanOut} after its initial recovery: passes over the source's listing, each cutting batches
 * and dispatching one transaction per batch, until a pass makes no progress.
 */
class FanOutRun {
  private readonly emit: EventSink;
  private readonly now: () => number;
  private readonly protocol: ProtocolName;
  private readonly leaseMs: number;
  /** The batch size actually used: cut when attempts run out of lease, grown back when they fit. */
  private readonly sizer: BatchSizer;
  private readonly concurrency: number;
  private committed = 0;
  private skipped = 0;
  private bytes = 0;
  private held = 0;
  private readonly failed: MessageFailure[] = [];
  /** Messages not to offer again in this call: failed, or held by another worker. */
  private readonly failedIds = new Set<string>();
  private readonly inFlight = new Set<Promise<void>>();
  /**
   * Attempts still writing copies; `concurrency` bounds these, so the disk keeps receiving data while others commit.
   */
  private copying = 0;
  // One waiter at most: the listing loop awaits each dispatch, so a single resolver is enough.
  private slotFreed: () => void = () => undefined;
  /** Seed: messages whose blocking lock was cleared as an orphan in this call (see {@link clearOrphanLock}). */
  private readonly cleared = new Set<string>();
  private stopped: MachineStopped | undefined;

  constructor(
    private readonly options: FanOutOptions,
    private readonly source: VerifiedSpool,
    private readonly destinations: RouteDestination[],
    private readonly hooks: ExecutorHooks | undefined,
    private readonly owner: OwnerInfo,
    private readonly recovery: RecoverySummary | undefined,
  ) {
    this.emit = options.onEvent ?? ignoreEvents;
    this.now = options.now ?? Date.now;
    this.protocol = options.protocol ?? 'staged';
    const batchSize = Math.max(1, Math.floor(options.batchSize ?? DEFAULT_BATCH_SIZE));
    this.leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
    this.sizer = options.batchSizer ?? new BatchSizer(batchSize, this.leaseMs);
    this.concurrency = Math.max(1, Math.floor(options.concurrency ?? DEFAULT_CONCURRENCY));
  }

  async run(): Promise<FanOutSummary> {
    for (;;) {
      const before = this.progress();
      const found = await this.pass();
      // Stop when a pass made no progress: nothing left, or only others' and failed messages.
      // A cut batch size counts as progress (at most log2(batchSize) times): the messages it gave back are offered
      // again.
      if (found === 0 || this.options.signal?.aborted || this.progress() === before) break;
    }
    const { committed, failed, skipped, bytes, held, recovery } = this;
    return { committed, failed, skipped, bytes, held, recovery };
  }

  private progress(): number {
    return this.committed + this.failed.length + this.cleared.size + this.sizer.shrinks;
  }

  /**
   * One pass over the source's listing: every waiting message not failed in this call, in batches, each dispatched
   * as it fills; then wait for them all.
   * @returns how many messages it offered.
   */
  private async pass(): Promise<number> {
    const { options } = this;
    let batch: string[] = [];
    let found = 0;
    for await (const entry of options.source.list()) {
      if (options.signal?.aborted) break;
      const parsed = parseProtocolName(entry.name);
      if (parsed.kind !== 'source' || this.failedIds.has(parsed.id)) continue;
      if (entry.kind !== 'file') {
        // A directory, symlink or FIFO named like a message is not one: an unknown entry, never touched and no
        // failure of this run. The recovery that ran first reported it already; else it is reported here, once.
        this.failedIds.add(parsed.id);
        if (this.recovery === undefined)
          this.emit({ type: 'unknown-entry', spool: options.source.location, name: entry.name, kind: entry.kind });
        continue;
      }
      found++;
      batch.push(parsed.id);
      if (batch.length >= this.sizer.size) {
        await this.dispatch(batch);
        batch = [];
      }
    }
    if (batch.length > 0 && !options.signal?.aborted) await this.dispatch(batch);
    await Promise.all(this.inFlight);
    if (this.stopped) throw this.stopped;
    return found;
  }

  /** Start a transaction over `ids` once the bounds allow: `concurrency` copying, twice that in flight. */
  private async dispatch(ids: string[]): Promise<void> {
    while (this.copying >= this.concurrency || this.inFlight.size >= 2 * this.concurrency) {
      await new Promise<void>((resolve) => {
        this.slotFreed = resolve;
      });
    }
    if (this.stopped) {
      // Let the attempts still running end (a simulated crash stops them at their next operation) before reporting.
      await Promise.all(this.inFlight);
      throw this.stopped;
    }
    this.copying++;
    let copyDone = false;
    const copied = () => {
      if (copyDone) return;
      copyDone = true;
      this.copying--;
      this.slotFreed();
    };
    const p: Promise<void> = this.runBatch(ids, copied)
      .catch((err: unknown) => {
        // A stopped machine (simulated crash) stops the whole run, as a real crash would.
        this.stopped ??= err instanceof MachineStopped ? err : new MachineStopped(err);
      })
      .finally(() => {
        this.inFlight.delete(p);
        copied(); // if the attempt ended before C2 did (a failed sync in C1, a stop)
        this.slotFreed(); // for the bound on attempts in flight
      });
    this.inFlight.add(p);
  }

  private nextTx(): string {
    const tx = (this.options.newTx ?? newId)();
    // A name with an attempt id that does not parse exactly would be unknown to recovery: refuse it up front.
    if (!isValidTx(tx))
      throw new FanoutError('EUSAGE', `attempt id ${JSON.stringify(tx)} is not ULID-shaped`, {
        spool: this.source.backend.location,
      });
    return tx;
  }

  private planFor(ids: string[], copied: () => void): TransactionPlan {
    const { options, now } = this;
    return {
      tx: this.nextTx(),
      ids,
      protocol: this.protocol,
      source: this.source,
      destinations: this.destinations,
      owner: this.owner,
      leaseMs: this.leaseMs,
      now,
      tempName: options.tempName ?? (() => tempName()),
      lease: { renewedMs: now(), generation: 0, lost: false, owned: new Set() },
      onCopied: copied,
      ...(options.copyWindow !== undefined ? { copyWindow: options.copyWindow } : {}),
      ...(options.stallTimeoutMs !== undefined ? { stallMs: options.stallTimeoutMs } : {}),
      ...(options.dropFence === true ? { dropFence: true } : {}),
      ...(options.maxAttempts !== undefined ? { maxAttempts: options.maxAttempts } : {}),
    };
  }

  /** One transaction over `ids`, its lease renewed meanwhile, and its outcome reported. */
  private async runBatch(ids: string[], copied: () => void): Promise<void> {
    const startedMs = this.now();
    const plan = this.planFor(ids, copied);
    // Its steps take their descriptors from the budget through the hooks, like every other machine's.
    const renewal = startLeaseRenewal(this.options.source, plan, plan.lease!, this.hooks);
    for (const id of ids) this.emit({ type: 'message-started', id, tx: plan.tx });
    let committedHere = 0;
    attemptStarted(plan.tx);
    try {
      let outcome;
      let keepLease = false;
      try {
        outcome = await runMachine(transaction(plan), this.hooks);
        if (outcome.hung) {
          keepLease = true;
          this.finishWhenReturned(plan, outcome.hung, renewal);
        }
      } finally {
        if (!keepLease) {
          attemptEnded(plan.tx);
          await renewal.stop(true);
        }
      }
      committedHere = outcome.committed.length;
      await this.report(plan, outcome, startedMs);
    } catch (err) {
      if (err instanceof MachineStopped) throw err;
      // A failed sync: durability unknown, so leave everything to recovery and report.
      const error = toFanoutError(err, 'EIO', { spool: this.options.source.location });
      for (const id of ids) {
        this.failed.push({ id, error, committed: false });
        this.failedIds.add(id);
        this.emit({ type: 'message-failed', id, error, committed: false });
      }
    }
    this.emit({
      type: 'transaction-finished',
      tx: plan.tx,
      messages: ids.length,
      committed: committedHere,
      durationMs: this.now() - startedMs,
    });
  }

  /** Count and report what a transaction did; a batch that ran out of lease is offered again, smaller. */
  private async report(plan: TransactionPlan, outcome: TransactionOutcome, startedMs: number): Promise<void> {
    // A single message that cannot fit its lease is a failure.
    const retry = this.sizer.record({
      messages: plan.ids.length - outcome.skipped.length,
      elapsedMs: this.now() - startedMs,
      leaseRanOut: (outcome.leaseRanOut?.length ?? 0) > 0,
    });
    const again = new Set(retry ? outcome.leaseRanOut : []);
    this.committed += outcome.committed.length;
    this.skipped += outcome.skipped.length;
    for (const id of outcome.skipped) this.failedIds.add(id); // not offered again in this call
    this.bytes += outcome.bytes;
    for (const id of outcome.committed)
      this.emit({ type: 'message-committed', id, tx: plan.tx, bytes: outcome.bytesOf.get(id) ?? 0 });
    for (const id of outcome.skipped)
      this.emit({ type: 'message-skipped', id, reason: 'owned by another worker or gone' });
    for (const f of outcome.failed) {
      if (again.has(f.id)) continue; // back in S: offered again in the next pass, in a smaller batch
      // offered again in the next pass
      if (variantOf(this.protocol).locks && !f.committed && (await this.clearedOrphanLock(f))) continue;
      this.reportFailure(f, outcome.attempts.get(f.id));
    }
  }

  private reportFailure(f: MessageFailure, counted: { count: number; held: boolean } | undefined): void {
    this.failed.push(f);
    this.failedIds.add(f.id);
    this.emit({
      type: 'message-failed',
      id: f.id,
      error: f.error,
      committed: f.committed,
      ...(counted && counted.count > 0 ? { attempts: counted.count } : {}),
    });
    if (counted?.held === true) {
      this.held++;
      this.emit({
        type: 'message-held',
        id: f.id,
        spool: this.options.source.location,
        attempts: counted.count,
        error: f.error,
      });
    }
  }

  /**
   * Seed: a lock that blocked a message and turns out to be an orphan of a lost attempt is cleared (see
   * {@link clearOrphanLock}).
   */
  private async clearedOrphanLock(f: MessageFailure): Promise<boolean> {
    if (!isFanoutError(f.error, 'EEXIST') || f.error.file !== `l${f.id}` || this.cleared.has(f.id)) return false;
    const dest = this.destinations.find((d) => d.spool.backend.location === f.error.spool);
    if (!dest) return false;
    this.cleared.add(f.id); // once per call: a lock that comes back is not an orphan
    // Its steps take their descriptors from the budget through the hooks.
    return runMachine(clearOrphanLock(dest.spool.backend, this.options.source, f.id), this.hooks).catch(
      (err: unknown) => {
        if (err instanceof MachineStopped) throw err;
        return false;
      },
    );
  }

  /**
   * An attempt that left a call in the air (a destination that stopped
   * answering, see `TransactionOutcome.hung`) keeps its lease, so that no
   * recoverer rolls it back while a late copy may still land; once every such
   * call has returned, the owner finishes the back-out itself, as recovery
   * would (the late copy is removed, the message given back). The run does not
   * wait for it: the messages are reported failed (ETIMEDOUT) at once. If the
   * process ends first, the hung call ends with it, and recovery finishes the
   * attempt once its owner is dead.
   */
  private finishWhenReturned(
    plan: TransactionPlan,
    hung: Promise<void>,
    renewal: { stop(cleanUp: boolean): Promise<void> },
  ): void {
    void hung
      .then(() =>
        runMachine(
          recoverAttempt(
            this.source.backend,
            markerFor(plan),
            this.destinations.map((d) => d.spool.backend),
          ),
          this.hooks,
        ),
      )
      .then(
        (o) => {
          for (const m of o.messages) this.emit({ type: 'recovered', id: m.id, tx: plan.tx, action: m.action });
        },
        () => undefined, // a storage error or a stop: the record stays for recovery
      )
      .finally(() => {
        attemptEnded(plan.tx);
        return renewal.stop(true);
      });
  }
}

/** A view of `backend` whose `close()` does nothing. */
export function withoutClose(backend: SpoolBackend): SpoolBackend {
  return overrideBackend(backend, { close: async () => undefined });
}
