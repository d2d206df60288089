import { FanoutError } from '../errors/fanout-error.js';

/** Default bound on a copy that makes no progress (no chunk read, transformed or written). */
export const DEFAULT_STALL_TIMEOUT_MS = 5 * 60 * 1000;

/**
 * Pass `chunks` through, failing with `ETIMEDOUT` when the next chunk takes
 * longer than `stallMs` to arrive. The timer is deliberately *not* unref'd:
 * a transform that never calls back must not let the event loop drain and
 * the process end with exit 0 and nothing delivered; it keeps the process
 * alive until the stall is reported and the attempt rolled back.
 */
export async function* guardStall(
  chunks: AsyncIterable<Uint8Array>,
  stallMs: number,
  where: { spool: string; file: string },
  watch?: StallWatch,
): AsyncGenerator<Uint8Array> {
  if (!(stallMs > 0) || !Number.isFinite(stallMs)) return yield* chunks;
  const iterator = chunks[Symbol.asyncIterator]();
  let finished = false;
  try {
    for (;;) {
      // The destination asking for more is progress too: from here on a stall is upstream, and ours to report.
      watch?.touch();
      let timer: NodeJS.Timeout | undefined;
      const stalled = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new FanoutError(
                'ETIMEDOUT',
                `no progress for ${stallMs} ms (a stalled transform, source or destination); rolled back`,
                where,
              ),
            ),
          stallMs,
        );
      });
      let step: IteratorResult<Uint8Array>;
      try {
        step = await Promise.race([iterator.next(), stalled]);
      } finally {
        clearTimeout(timer);
      }
      if (step.done) {
        finished = true;
        watch?.touch();
        return;
      }
      watch?.touch();
      yield step.value;
    }
  } finally {
    // Tell a stalled or abandoned source to stop; a stuck one is not awaited.
    if (!finished) void Promise.resolve(iterator.return?.()).catch(() => undefined);
  }
}

/**
 * The other half of a copy's stall bound: {@link guardStall} catches a
 * source or transform that stops producing, but a destination whose write
 * never returns (a hung server, a wedged FUSE daemon) simply stops asking
 * for the next chunk, and nothing upstream can tell. A watch is touched by
 * every chunk the destination takes; {@link StallWatch.bound} fails the whole
 * copy with `ETIMEDOUT` once nothing moved for `stallMs`, wherever it hangs.
 * The hung call itself cannot be cancelled: if it ever returns, its late copy
 * carries this attempt's name, which recovery and a later attempt clean up.
 */
export class StallWatch {
  private last = 0;
  /** Set once the bound gave up on the call: settles (never rejects) when the call finally returns, if ever. */
  hung: Promise<void> | undefined;

  constructor(
    readonly stallMs: number,
    readonly where: { spool: string; file: string },
  ) {}

  /** Progress: a chunk went through, or the copy ended. */
  touch(): void {
    this.last = Date.now();
  }

  /**
   * `work`, or `ETIMEDOUT` once it made no progress for a quarter more than
   * `stallMs`: a source or transform that stalls is caught by `guardStall`
   * first (and the call then fails at once, nothing left in the air); this
   * bound is for the call that stops asking.
   */
  async bound<T>(work: Promise<T>): Promise<T> {
    if (!(this.stallMs > 0) || !Number.isFinite(this.stallMs)) return work;
    const limit = this.stallMs + Math.ceil(this.stallMs / 4);
    this.touch();
    let timer: NodeJS.Timeout | undefined;
    const stalled = new Promise<never>((_, reject) => {
      const check = () => {
        const idle = Date.now() - this.last;
        if (idle >= limit) {
          this.hung = work.then(
            () => undefined,
            () => undefined,
          );
          reject(
            new FanoutError(
              'ETIMEDOUT',
              `no progress for ${limit} ms (a stalled destination); backed out once the stalled call returns`,
              this.where,
            ),
          );
        } else timer = setTimeout(check, limit - idle);
      };
      // Not unref'd, like guardStall's timer: a hung copy must not let the process end "done".
      timer = setTimeout(check, limit);
    });
    try {
      return await Promise.race([work, stalled]);
    } finally {
      clearTimeout(timer);
      // A hung call that fails late must not become an unhandled rejection.
      work.catch(() => undefined);
    }
  }
}
