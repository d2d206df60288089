/**
 * A bound on the file descriptors (or connections) a fan-out holds at once.
 *
 * Without one, a fan-out holds up to {@link unboundedDescriptors} of them,
 * which grows with `concurrency × copyWindow × destinations`; past the
 * process's open-file limit (`ulimit -n`, systemd's `LimitNOFILE`) opens fail
 * with EMFILE. Queueing those opens (graceful-fs does, in fs-posix) is not
 * enough on its own: a copy opens its destination file and *then* reads the
 * source, so when every descriptor is held by a copy waiting to open its
 * source, nothing closes and the run stalls (each queued open gives up with
 * EMFILE after 60 s). With a budget, an operation waits for its descriptors
 * *before* it opens anything, and an operation that holds descriptors never
 * waits for more of them, so the budget always drains: no deadlock, and no
 * EMFILE as long as the budget fits under the limit.
 */
import type { Op } from '../protocol/ops.js';
import type { ExecutorHooks } from '../protocol/executor.js';
import { variantOf } from '../protocol/protocol-variant.js';

/**
 * Descriptors an operation holds at once while it runs: a copy (a C2 create
 * that streams the message) holds its new file and, at most, one read of the
 * source (a shared read of a small message, or its own read of a big one);
 * any other create, a directory sync, a small read and a twins listing hold
 * one; renames, links, removes and stats hold none. `all` holds nothing of
 * its own: each of its operations is counted.
 */
export function descriptorsOf(op: Op): number {
  switch (op.type) {
    case 'create':
      return op.step === 'C2' && op.whole !== true ? 2 : 1;
    case 'syncDir':
    case 'readSmall':
    case 'twins':
      return 1;
    default:
      return 0;
  }
}

/**
 * A counting semaphore of descriptors, first come first served: a waiter
 * for two is not overtaken by later waiters for one, so a copy is never
 * starved by syncs.
 */
export class DescriptorBudget {
  private used = 0;
  private highWater = 0;
  private readonly waiters: { n: number; go: () => void }[] = [];

  /** @param limit descriptors at most in use at once; at least 2 (a copy needs 2). */
  constructor(readonly limit: number) {
    if (!Number.isSafeInteger(limit) || limit < 2)
      throw new RangeError(`a descriptor budget needs at least 2, not ${limit}`);
  }

  /** Descriptors in use now. */
  get inUse(): number {
    return this.used;
  }

  /** The most descriptors that were in use at once. */
  get peak(): number {
    return this.highWater;
  }

  /** Wait until `n` descriptors are free, then take them. */
  async acquire(n: number): Promise<void> {
    if (n <= 0) return;
    if (this.waiters.length === 0 && this.used + n <= this.limit) return this.take(n);
    await new Promise<void>((go) => this.waiters.push({ n, go }));
  }

  /** Give back `n` descriptors taken by {@link acquire}. */
  release(n: number): void {
    if (n <= 0) return;
    this.used -= n;
    while (this.waiters.length > 0 && this.used + this.waiters[0]!.n <= this.limit) {
      const next = this.waiters.shift()!;
      this.take(next.n);
      next.go();
    }
  }

  /** Run `body` holding `n` descriptors. */
  async use<T>(n: number, body: () => Promise<T>): Promise<T> {
    await this.acquire(n);
    try {
      return await body();
    } finally {
      this.release(n);
    }
  }

  private take(n: number): void {
    this.used += n;
    this.highWater = Math.max(this.highWater, this.used);
  }
}

/**
 * Executor hooks that make each operation hold its {@link descriptorsOf}
 * from just before it starts until it has settled, around the given hooks
 * (theirs run first before an operation, last after it, so a hook that
 * stops the machine never leaves descriptors taken).
 */
export function budgetHooks(budget: DescriptorBudget, inner: ExecutorHooks = {}): ExecutorHooks {
  return {
    async beforeOp(op) {
      await inner.beforeOp?.(op);
      await budget.acquire(descriptorsOf(op));
    },
    afterOp(op, outcome) {
      budget.release(descriptorsOf(op));
      inner.afterOp?.(op, outcome);
    },
  };
}

/** What a {@link unboundedDescriptors} bound is computed from. */
export interface DescriptorShape {
  readonly concurrency: number;
  readonly copyWindow: number;
  readonly destinations: number;
  readonly protocol: 'staged' | 'seed';
}

/**
 * The most descriptors a fan-out without a budget holds at once (docs/PROTOCOL.md,
 * "Open files"), for C attempts copying, W messages copied at once per
 * attempt, D destinations: each copying attempt's `W × D` copies hold 2 each
 * (seed: its next window's `W × D` locks 1 more each); each of up to C
 * attempts that finished copying syncs at most D directories at once; each of
 * the up to 2C attempts in flight may renew its lease (1); the listing of
 * the source (1). Staged: `2·C·W·D + C·D + 2·C + 1`; seed: `3·C·W·D + C·D + 2·C + 1`.
 */
export function unboundedDescriptors(shape: DescriptorShape): number {
  const { concurrency: c, copyWindow: w, destinations: d } = shape;
  const perCopyingAttempt = variantOf(shape.protocol).descriptorsPerCopy * w * d;
  return c * perCopyingAttempt + c * d + 2 * c + 1;
}
