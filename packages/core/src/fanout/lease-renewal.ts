import type { SpoolBackend } from '../backend/spool-backend.js';
import { isFanoutError } from '../errors/fanout-error.js';
import type { LeaseState, TransactionPlan } from '../protocol/transaction-plan.js';
import { claimName, encodeClaim } from '../recovery/recoverer.js';
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
      if (!lease.lost) lease.renewedMs = renewedMs;
    } catch (err) {
      await source.remove(temp).catch(() => false);
      if (isFanoutError(err, 'EEXIST')) lease.lost = true;
      // Other failures: the lease simply is not renewed this time; the attempt gives up at 2/3 of it.
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
      // After the record: a crash before this leaves claims whose holder is dead, which recovery removes.
      for (let g = 1; g <= lease.generation; g++) await source.remove(claimName(plan.tx, g)).catch(() => false);
    },
  };
}
