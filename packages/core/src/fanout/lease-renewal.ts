import type { SpoolBackend } from '../backend/spool-backend.js';
import { isFanoutError } from '../errors/fanout-error.js';
import type { LeaseState, TransactionPlan } from '../protocol/transaction-plan.js';
import { claimName, encodeClaim } from '../recovery/recoverer.js';
import { readSmall } from '../spool/read-small.js';
import { tempName } from '../spool/temp-name.js';

/** A running renewal; see {@link startLeaseRenewal}. */
export interface LeaseRenewal {
  readonly lease: LeaseState;
  /** Stop renewing; with `cleanUp`, remove the renewal claims this attempt created. */
  stop(cleanUp: boolean): Promise<void>;
}

/**
 * Renew an attempt's lease every third of it while the attempt runs, so a
 * long transaction (a large message, a slow server) is not taken for dead by
 * a recoverer on another host. A renewal is the next claim generation
 * `r<tx>.<g>` of the attempt, holding this process and a fresh lease:
 * recovery leaves an attempt alone while its newest claim is alive. If a
 * generation is already taken, a recoverer holds the attempt: the lease is
 * lost and the attempt backs out instead of committing. (That is a courtesy:
 * the commit itself is fenced, so an owner that misses it still cannot
 * commit a message that was taken over.)
 */
export function startLeaseRenewal(source: SpoolBackend, plan: Pick<TransactionPlan, 'tx' | 'leaseMs' | 'now' | 'owner'>, lease: LeaseState): LeaseRenewal {
  let pending: Promise<void> = Promise.resolve();
  let stopped = false;
  /** The claim of a renewal that failed after it may have been published (a lost reply on NFS): it may be ours. */
  let unsure: { generation: number; content: Uint8Array; renewedMs: number } | undefined;
  /** True when claim `g` is the one this owner published although the publish reported a failure. */
  const isOurs = async (g: number): Promise<boolean> => {
    if (unsure?.generation !== g) return false;
    const text = await readSmall(source, claimName(plan.tx, g), 64 * 1024).catch(() => undefined);
    if (text !== new TextDecoder().decode(unsure.content)) return false;
    lease.generation = g;
    if (!lease.lost) lease.renewedMs = unsure.renewedMs;
    return true;
  };
  const renew = async () => {
    const g = lease.generation + 1;
    const renewedMs = plan.now();
    const content = encodeClaim({ owner: plan.owner, claimedMs: renewedMs, leaseMs: plan.leaseMs });
    // Whole under a temp name, then published without clobbering: a claim is never seen half-written.
    const temp = tempName();
    try {
      await source.createExclusive(temp, content);
      await source.publish(temp, claimName(plan.tx, g));
      lease.generation = g;
      unsure = undefined;
      if (!lease.lost) lease.renewedMs = renewedMs;
    } catch (err) {
      await source.remove(temp).catch(() => false);
      if (isFanoutError(err, 'EEXIST')) {
        // Our own earlier renewal, published though it reported a failure, is not a recoverer's claim.
        if (await isOurs(g)) return renew();
        lease.lost = true;
        return;
      }
      // Other failures: the lease is not renewed this time (the attempt gives up at 2/3 of it), but the
      // claim may have been published all the same: remember it, so the next renewal knows it for ours.
      unsure = { generation: g, content, renewedMs };
    }
  };
  const timer = setInterval(() => {
    if (stopped || lease.owned.size === 0) return;
    pending = pending.then(renew);
  }, Math.max(1, Math.floor(plan.leaseMs / 3)));
  // The attempt's own work keeps the process alive (copies are bounded by the stall timeout).
  timer.unref();
  return {
    lease,
    async stop(cleanUp) {
      stopped = true;
      clearInterval(timer);
      await pending;
      if (!cleanUp) return;
      // A claim published by a renewal that reported failure is ours to remove too (only if it is ours).
      if (unsure !== undefined) await isOurs(unsure.generation);
      // After the record: a crash before this leaves claims whose holder is dead, which recovery removes.
      for (let g = 1; g <= lease.generation; g++) await source.remove(claimName(plan.tx, g)).catch(() => false);
    },
  };
}
