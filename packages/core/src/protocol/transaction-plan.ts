import type { Transform } from 'node:stream';
import type { SpoolBackend } from '../backend/spool-backend.js';
import { type FanoutError, toFanoutError } from '../errors/fanout-error.js';
import type { ProtocolName } from '../marker/marker-codec.js';
import type { OwnerInfo } from '../owner/owner.js';
import type { SpoolIdentity } from '../spool/identity.js';

/**
 * Messages of a batch whose copies are written at once, each to every
 * destination: enough to keep the disk's queue full while the seed protocol
 * locks the next ones, few enough to bound the memory of shared reads.
 *
 * @example
 * ```ts
 * import { DEFAULT_COPY_WINDOW, fanOut } from '@fanout/core';
 *
 * // one message at a time per transaction (default DEFAULT_COPY_WINDOW)
 * await fanOut({ source, destinations, copyWindow: 1 });
 * ```
 */
export const DEFAULT_COPY_WINDOW = 4;

/** A spool whose identity has been read and verified. */
export interface VerifiedSpool {
  readonly backend: SpoolBackend;
  readonly identity: SpoolIdentity;
}

/**
 * Makes the transform for one message and one destination: a Node `Transform`
 * stream the content flows through, or `undefined` for a plain copy. Called
 * once per copy; content is streamed end to end. If it throws, returns
 * anything else, or its stream fails or yields anything but bytes, that
 * message fails with `ETRANSFORM` (naming `s<id>` in the source) and stays in
 * the source untouched.
 */
export type TransformFactory = (context: {
  readonly id: string;
  readonly destination: string;
}) => Transform | undefined;

/** A destination of a route, with its optional transform. */
export interface PlannedDestination {
  readonly spool: VerifiedSpool;
  readonly transform?: TransformFactory | undefined;
}

/**
 * The lease of a running attempt, shared between the machine and the driver
 * that renews it: each renewal creates the next claim generation
 * `r<tx>.<g>` of the attempt (see docs/MULTI-WORKER.md).
 */
export interface LeaseState {
  /** When the lease was last renewed (initially: when the attempt started). */
  renewedMs: number;
  /** Claim generations created so far by renewals. */
  generation: number;
  /** A renewal found its generation taken: a recoverer holds the attempt; never commit. */
  lost: boolean;
  /** Messages this attempt took (filled in by C1). */
  readonly owned: Set<string>;
}

/** Everything one attempt (transaction) needs; built by the fan-out driver. */
export interface TransactionPlan {
  /** The attempt id. */
  readonly tx: string;
  /** The messages of this attempt (one, or a batch sharing directory syncs). */
  readonly ids: readonly string[];
  readonly protocol: ProtocolName;
  readonly source: VerifiedSpool;
  readonly destinations: readonly PlannedDestination[];
  readonly owner: OwnerInfo;
  /** Lease length written into markers. */
  readonly leaseMs: number;
  /** Renewal state, when the driver renews the lease during the attempt. */
  readonly lease?: LeaseState;
  /** Clock, injectable for tests. */
  readonly now: () => number;
  /** Makes temp names (`t…`); injectable so simulated runs are reproducible. */
  readonly tempName: () => string;
  /** Messages whose copies C2 writes at once (default {@link DEFAULT_COPY_WINDOW}). */
  readonly copyWindow?: number;
  /**
   * Called once when the attempt has no copy left to write (C2 done, or
   * nothing to copy); the rest of it is directory syncs and renames. Lets a
   * driver start the next attempt's copies while this one commits.
   */
  readonly onCopied?: () => void;
  /** A copy that makes no progress for this long fails with `ETIMEDOUT` (default 5 minutes; 0: never). */
  readonly stallMs?: number;
  /**
   * Failed attempts (counted for a copy that failed with `ETRANSFORM`) after
   * which a message is held (`h<id>.s`) instead of given back. Default
   * `DEFAULT_MAX_ATTEMPTS` (5); `Infinity`: count, never hold.
   */
  readonly maxAttempts?: number;
  /** Told when an attempt count could not be written (the message is given back uncounted). */
  readonly onCountFailed?: (id: string, error: FanoutError) => void;
  /**
   * @internal For the crash checker's `--drop-fence` only: commit by removing
   * the message under whatever name it has now (the unfenced commit of the
   * old protocol), so the checker can show the loss the fence prevents.
   */
  readonly dropFence?: boolean;
}

/** Why one message of an attempt did not commit. */
export interface MessageFailure {
  readonly id: string;
  readonly error: FanoutError;
  /**
   * True when the message is committed (left S) but could not be completed
   * (e.g. its `d<id>` name is taken): its marker stays for recovery to retry
   * and report. False when it was rolled back and is still in S.
   */
  readonly committed: boolean;
}

/** What an attempt did. */
export interface TransactionOutcome {
  /** Messages now delivered to every destination and gone from S. */
  readonly committed: string[];
  /** Messages another worker owns (their marker existed) or that vanished: untouched. */
  readonly skipped: string[];
  /** Messages that failed; see {@link MessageFailure.committed}. */
  readonly failed: MessageFailure[];
  /** Bytes written to destinations for the committed messages. */
  readonly bytes: number;
  /** Bytes written to all destinations, per message. */
  readonly bytesOf: ReadonlyMap<string, number>;
  /**
   * Messages backed out, and given back to S, at the lease check: its lease ran out before the commit (or was lost).
   */
  readonly leaseRanOut?: readonly string[];
  /**
   * Present when a call of this attempt (a copy or a lock whose destination
   * stopped answering) is still in the air after its stall bound gave up on
   * it: it settles when every such call has returned. Until then the
   * attempt's messages stay backed-out-but-not-given-back (`b<id>.<tx>`) under
   * its record, and its owner must keep the lease and then finish the back-out
   * (`recoverAttempt`): a late copy lands where nobody else can be working on
   * the message, and is removed.
   */
  readonly hung?: Promise<void>;
  /** Messages whose failed attempt was counted: the new count, and whether the message is now held. */
  readonly attempts: ReadonlyMap<string, { readonly count: number; readonly held: boolean }>;
}

/** The failure of message `id` with `err` (an `EIO` unless it is a `FanoutError`), at `file` in `spool`. */
export function messageFailure(
  id: string,
  err: unknown,
  committed: boolean,
  spool: SpoolBackend,
  file: string,
): MessageFailure {
  return { id, error: toFanoutError(err, 'EIO', { spool: spool.location, file }), committed };
}
