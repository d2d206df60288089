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
export async function* guardStall(chunks: AsyncIterable<Uint8Array>, stallMs: number, where: { spool: string; file: string }): AsyncGenerator<Uint8Array> {
  if (!(stallMs > 0) || !Number.isFinite(stallMs)) return yield* chunks;
  const iterator = chunks[Symbol.asyncIterator]();
  let finished = false;
  try {
    for (;;) {
      let timer: NodeJS.Timeout | undefined;
      const stalled = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new FanoutError('ETIMEDOUT', `no progress for ${stallMs} ms (a stalled transform, source or destination); rolled back`, where)), stallMs);
      });
      let step: IteratorResult<Uint8Array>;
      try {
        step = await Promise.race([iterator.next(), stalled]);
      } finally {
        clearTimeout(timer);
      }
      if (step.done) {
        finished = true;
        return;
      }
      yield step.value;
    }
  } finally {
    // Tell a stalled or abandoned source to stop; a stuck one is not awaited.
    if (!finished) void Promise.resolve(iterator.return?.()).catch(() => undefined);
  }
}
