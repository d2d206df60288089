/**
 * One read of `s<id>` for all of its copies. Every destination of a message
 * needs the same bytes; reading them once per destination costs a lookup, an
 * open and the reads again for each (18 of the ~36 file operations a 4 KiB
 * message cost on fs-posix). Messages up to a bounded size are read once and
 * the chunks handed to every copy; a bigger message is streamed by its first
 * reader and read afresh by the others, so memory stays bounded by the limit,
 * never by the message.
 */

/** Messages up to this many bytes are read once for all their destinations. */
export const SHARED_READ_LIMIT_BYTES = 1024 * 1024;

interface Head {
  readonly chunks: readonly Uint8Array[];
  /** The rest of the first read, when the message was bigger than the limit. */
  readonly rest?: AsyncIterator<Uint8Array>;
}

async function readHead(open: () => AsyncIterable<Uint8Array>, limitBytes: number): Promise<Head> {
  const iterator = open()[Symbol.asyncIterator]();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      if (size > limitBytes) return { chunks, rest: iterator };
      const step = await iterator.next();
      if (step.done) return { chunks };
      chunks.push(step.value);
      size += step.value.byteLength;
    }
  } catch (err) {
    await iterator.return?.()?.catch(() => undefined);
    throw err;
  }
}

/**
 * A factory of content streams over one source: each call returns a stream of
 * the whole source; the source is read once if it is at most `limitBytes`
 * long. The streams may be consumed concurrently or one after another, in any
 * order: no stream ever waits for another, so an executor that performs the
 * copies one at a time cannot deadlock. Consumers must not modify the chunks.
 */
export function sharedRead(
  open: () => AsyncIterable<Uint8Array>,
  limitBytes = SHARED_READ_LIMIT_BYTES,
): () => AsyncIterable<Uint8Array> {
  let head: Promise<Head> | undefined;
  let restTaken = false;
  async function* stream(): AsyncGenerator<Uint8Array> {
    head ??= readHead(open, limitBytes);
    const { chunks, rest } = await head;
    if (rest === undefined) {
      yield* chunks;
      return;
    }
    if (restTaken) {
      // Too big to keep: this copy reads the source on its own.
      yield* open();
      return;
    }
    restTaken = true;
    try {
      yield* chunks;
      for (;;) {
        const step = await rest.next();
        if (step.done) return;
        yield step.value;
      }
    } finally {
      await rest.return?.()?.catch(() => undefined);
    }
  }
  return () => ({ [Symbol.asyncIterator]: stream });
}
