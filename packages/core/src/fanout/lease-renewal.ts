import type { SpoolBackend } from '../backend/spool-backend.js';
import { isFanoutError } from '../errors/fanout-error.js';
import { type ExecutorHooks, MachineStopped, runMachine } from '../protocol/executor.js';
import { type Machine, perform } from '../protocol/ops.js';
import type { LeaseState, TransactionPlan } from '../protocol/transaction-plan.js';
import { claimName, encodeClaim } from '../recovery/recoverer.js';
import { publishTemp } from '../spool/publish-temp.js';

/** A running renewal; see {@link startLeaseRenewal}. */
export interface LeaseRenewal {
  readonly lease: LeaseState;
  /** Stop renewing; with `cleanUp`, remove the renewal claims this attempt created. */
  stop(cleanUp: boolean): Promise<void>;
}

/** What a renewal remembers between its steps besides the lease. */
export interface RenewalState {
  /** The claim of a renewal that failed after it may have been published (a lost reply on NFS): it may be ours. */
  unsure?: { readonly generation: number; readonly content: Uint8Array; readonly renewedMs: number } | undefined;
}

/** What a renewal needs of its attempt. */
export type RenewalPlan = Pick<TransactionPlan, 'tx' | 'leaseMs' | 'owner' | 'tempName'>;

/** True when claim `g` is the one this owner published although the publish reported a failure; adopts it. */
function* isOurs(
  source: SpoolBackend,
  tx: string,
  g: number,
  lease: LeaseState,
  state: RenewalState,
): Machine<boolean> {
  const unsure = state.unsure;
  if (unsure?.generation !== g) return false;
  let text: string | undefined;
  try {
    text = yield* perform({
      type: 'readSmall',
      step: 'L',
      spool: source,
      name: claimName(tx, g),
      maxBytes: 64 * 1024,
    });
  } catch {
    return false;
  }
  if (text !== new TextDecoder().decode(unsure.content)) return false;
  lease.generation = g;
  if (!lease.lost) lease.renewedMs = unsure.renewedMs;
  return true;
}

/**
 * One renewal of an attempt's lease at `renewedMs`: the next claim generation
 * `r<tx>.<g>`, holding this owner and a fresh lease, written whole under a
 * temp name and published without clobbering (a claim is never seen
 * half-written). A generation already taken means a recoverer holds the
 * attempt: the lease is lost (`lease.lost`), unless it is this owner's own
 * earlier claim whose publish reported a failure. Any other failure leaves
 * the lease unrenewed this time and remembers the claim as maybe ours.
 */
export function* renewLease(
  source: SpoolBackend,
  plan: RenewalPlan,
  lease: LeaseState,
  state: RenewalState,
  renewedMs: number,
): Machine<void> {
  for (;;) {
    const g = lease.generation + 1;
    const content = encodeClaim({ owner: plan.owner, claimedMs: renewedMs, leaseMs: plan.leaseMs });
    const temp = plan.tempName();
    // A temp that cannot be removed is left for R6: its writer's tag names this process, and it is removed once this
    // process is dead.
    const r = yield* publishTemp('L', source, temp, () => content, claimName(plan.tx, g), true);
    if (r.published) {
      lease.generation = g;
      state.unsure = undefined;
      if (!lease.lost) lease.renewedMs = renewedMs;
      return;
    }
    if (isFanoutError(r.error, 'EEXIST')) {
      // Our own earlier renewal, published though it reported a failure, is not a recoverer's claim.
      if (yield* isOurs(source, plan.tx, g, lease, state)) continue;
      lease.lost = true;
      return;
    }
    // The claim may have been published all the same: remember it, so the next renewal knows it for ours.
    state.unsure = { generation: g, content, renewedMs };
    return;
  }
}

/**
 * When the attempt is over (its record gone): remove the renewal claims it
 * created, including one published by a renewal that reported failure (only
 * if it is ours). Removals that fail are left: their holder is dead once
 * this process is, and recovery removes them then.
 */
export function* dropRenewalClaims(
  source: SpoolBackend,
  tx: string,
  lease: LeaseState,
  state: RenewalState,
): Machine<void> {
  if (state.unsure !== undefined) yield* isOurs(source, tx, state.unsure.generation, lease, state);
  for (let g = 1; g <= lease.generation; g++) {
    try {
      yield* perform({ type: 'remove', step: 'L', spool: source, name: claimName(tx, g) });
    } catch {
      // See above: left for recovery.
    }
  }
}

/**
 * Renew an attempt's lease every third of it while the attempt runs, so a
 * long transaction (a large message, a slow server) is not taken for dead by
 * a recoverer on another host (see {@link renewLease}): recovery leaves an
 * attempt alone while its newest claim is alive. If a generation is already
 * taken, a recoverer holds the attempt: the lease is lost and the attempt
 * backs out instead of committing. (That is a courtesy: the commit itself is
 * fenced, so an owner that misses it still cannot commit a message that was
 * taken over.) Each renewal and the clean-up run as machines under `hooks`.
 */
export function startLeaseRenewal(
  source: SpoolBackend,
  plan: RenewalPlan & Pick<TransactionPlan, 'now'>,
  lease: LeaseState,
  hooks?: ExecutorHooks,
): LeaseRenewal {
  let pending: Promise<void> = Promise.resolve();
  let stopped = false;
  const state: RenewalState = {};
  // A renewal stopped by a hook (a simulated crash) is the process's end; the attempt's own machine reports it.
  const renew = () => runMachine(renewLease(source, plan, lease, state, plan.now()), hooks).catch(() => undefined);
  const timer = setInterval(
    () => {
      if (stopped || lease.owned.size === 0) return;
      pending = pending.then(renew);
    },
    Math.max(1, Math.floor(plan.leaseMs / 3)),
  );
  // The attempt's own work keeps the process alive (copies are bounded by the stall timeout).
  timer.unref();
  return {
    lease,
    async stop(cleanUp) {
      stopped = true;
      clearInterval(timer);
      await pending;
      if (!cleanUp) return;
      // After the record: a crash before this leaves claims whose holder is dead, which recovery removes.
      await runMachine(dropRenewalClaims(source, plan.tx, lease, state), hooks).catch((err: unknown) => {
        if (err instanceof MachineStopped) throw err;
      });
    },
  };
}
