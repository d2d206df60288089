/**
 * Capped exponential backoff with jitter, for a route that retries a storage
 * that went away: the wait doubles from `initialMs` up to `maxMs`, and each
 * wait is drawn from its upper half ("equal jitter"), so that many workers
 * that lost one server at the same instant do not come back in lock step,
 * while none retries sooner than half the nominal wait.
 */

/** Settings of a {@link Backoff}. */
export interface BackoffOptions {
  /** The first wait (before jitter). Default {@link DEFAULT_BACKOFF_INITIAL_MS}. */
  readonly initialMs?: number;
  /** No wait is longer than this. Default {@link DEFAULT_BACKOFF_MAX_MS}. */
  readonly maxMs?: number;
  /** A number in [0, 1); injectable so tests are deterministic. Default `Math.random`. */
  readonly random?: () => number;
}

/** The first retry of a route that went down comes after about this long. */
export const DEFAULT_BACKOFF_INITIAL_MS = 500;
/** A route that stays down is retried at least this often. */
export const DEFAULT_BACKOFF_MAX_MS = 30_000;

/** The waits between the retries of one outage; {@link Backoff.reset} once it is over. */
export class Backoff {
  private failures = 0;
  private readonly initialMs: number;
  private readonly maxMs: number;
  private readonly random: () => number;

  constructor(options: BackoffOptions = {}) {
    this.maxMs = Math.max(1, options.maxMs ?? DEFAULT_BACKOFF_MAX_MS);
    this.initialMs = Math.min(this.maxMs, Math.max(1, options.initialMs ?? DEFAULT_BACKOFF_INITIAL_MS));
    this.random = options.random ?? Math.random;
  }

  /** The wait before the next retry, in ms: between half and all of min(max, initial · 2^failures). */
  next(): number {
    // 2^failures overflows nothing here: the exponent stops growing once the cap is reached.
    const nominal = Math.min(this.maxMs, this.initialMs * 2 ** Math.min(this.failures, 40));
    this.failures++;
    const half = nominal / 2;
    return Math.round(half + this.random() * half);
  }

  /** How many waits {@link Backoff.next} has handed out since the last reset. */
  get attempts(): number {
    return this.failures;
  }

  /** The outage is over: the next one starts from `initialMs` again. */
  reset(): void {
    this.failures = 0;
  }
}
