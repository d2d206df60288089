/**
 * Sizes fan-out batches to the lease, so that a healthy but slow mount never livelocks in rollbacks:
 * an attempt that backs out because its lease ran out before the commit (docs/PROTOCOL.md, "lease
 * check") is retried in smaller batches, and the size grows back while attempts commit well within
 * the lease. Issue 15, on NFS: with 32 messages per attempt every attempt ran out of its lease on a
 * slow mount, and the same 32 were offered again, forever.
 */

/** What one attempt took and how it ended. */
export interface BatchResult {
  /** Messages the attempt held (taken at C1). */
  readonly messages: number;
  /** Wall time from the attempt's start to its end. */
  readonly elapsedMs: number;
  /** The attempt backed out at the lease check. */
  readonly leaseRanOut: boolean;
}

/** The current batch size, between 1 and the configured one. */
export class BatchSizer {
  #size: number;
  #shrinks = 0;

  constructor(
    private readonly max: number,
    private readonly leaseMs: number,
  ) {
    this.#size = max;
  }

  /** Messages per attempt to dispatch now. */
  get size(): number {
    return this.#size;
  }

  /** How often the size was cut: each cut is progress (the next attempt is more likely to fit its lease). */
  get shrinks(): number {
    return this.#shrinks;
  }

  /**
   * Learn from an attempt. Resolves whether its lease-expired messages may be
   * offered again at once (the batch was cut for them), or must be reported
   * failed (a single message that cannot be copied within the lease).
   */
  record(result: BatchResult): boolean {
    if (result.leaseRanOut) {
      if (result.messages <= 1) return false;
      const cut = Math.max(1, Math.floor(result.messages / 2));
      if (cut < this.#size) {
        this.#size = cut;
        this.#shrinks++;
      }
      return true;
    }
    // Committed within a third of the lease: room for twice as many (at most the configured size).
    if (result.messages >= this.#size && result.elapsedMs < this.leaseMs / 3)
      this.#size = Math.min(this.max, this.#size * 2);
    return false;
  }
}
