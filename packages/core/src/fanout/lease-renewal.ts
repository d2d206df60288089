import { hostname } from 'node:os';
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
 * `r<id>.<tx>_<g>` of each owned message, holding this process and a fresh
 * lease: recovery leaves an attempt alone while its newest claim is alive.
 * If a generation is already taken, a recoverer holds the attempt: the lease
 * is lost and the attempt will not commit.
 */
export function startLeaseRenewal(source: SpoolBackend, plan: Pick<TransactionPlan, 'tx' | 'leaseMs' | 'now'>, lease: LeaseState): LeaseRenewal {
  let pending: Promise<void> = Promise.resolve();
  let stopped = false;
  const renew = async () => {
    const g = lease.generation + 1;
    const renewedMs = plan.now();
    const content = encodeClaim({ host: hostname(), pid: process.pid, claimedMs: renewedMs, leaseMs: plan.leaseMs });
    let created = false;
    for (const id of lease.owned) {
      // Whole under a temp name, then published without clobbering: a claim is never seen half-written.
      const temp = tempName();
      try {
        await source.createExclusive(temp, content);
        await source.publish(temp, claimName(id, plan.tx, g));
        created = true;
      } catch (err) {
        await source.remove(temp).catch(() => false);
        if (isFanoutError(err, 'EEXIST')) lease.lost = true;
        // Other failures: the lease simply is not renewed this time; the attempt gives up at 2/3 of it.
      }
    }
    if (created) lease.generation = g;
    if (!lease.lost && created) lease.renewedMs = renewedMs;
  };
  const timer = setInterval(() => {
    if (stopped || lease.owned.size === 0) return;
    pending = pending.then(renew);
  }, Math.max(1, Math.floor(plan.leaseMs / 3)));
  timer.unref();
  return {
    lease,
    async stop(cleanUp) {
      stopped = true;
      clearInterval(timer);
      await pending;
      if (!cleanUp) return;
      // After the markers: a crash before this leaves claims whose holder is dead, which recovery removes.
      for (const id of lease.owned) {
        for (let g = 1; g <= lease.generation; g++) await source.remove(claimName(id, plan.tx, g)).catch(() => false);
      }
    },
  };
}
