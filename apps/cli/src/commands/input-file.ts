/**
 * The content of one input file of `fanout enqueue`: a regular file is read
 * with synchronous calls on the calling thread, in chunks of at most
 * {@link INPUT_CHUNK_BYTES}; anything else (a FIFO, `/dev/stdin` on a pipe, a
 * device) is streamed as before, through the thread pool.
 *
 * Why: `createReadStream` makes every call of a small file (open, read, the
 * read that sees the end, close) a thread-pool round trip, about 5 futex
 * calls and tens of microseconds each; enqueueing 3,000 files of 4 KiB on
 * tmpfs spent most of its time handing calls to pool threads and back
 * (issue 17, docs/BENCHMARKS.md). `enqueue` adds one file at a time, so
 * nothing else waits for the event loop meanwhile; it is still given a turn
 * every {@link TURN_EVERY_BYTES}, so that a signal is handled while a big
 * file is read.
 *
 * Memory stays bounded: each chunk is handed on as it is read, never gathered.
 */
import { closeSync, constants, createReadStream, fstatSync, openSync, readSync } from 'node:fs';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { FanoutError } from '@fanout/core';

/** The largest read: the size of `createReadStream`'s own chunks. */
export const INPUT_CHUNK_BYTES = 64 * 1024;

/** Bytes read between two turns of the event loop. */
export const TURN_EVERY_BYTES = 1024 * 1024;

/** Read into when the file should be at its end: used again for every file, copied from only if the file grew. */
const endProbe = Buffer.allocUnsafe(INPUT_CHUNK_BYTES);

function cannotRead(file: string, cause: unknown): FanoutError {
  const code = (cause as NodeJS.ErrnoException | null)?.code;
  return new FanoutError(code === 'EIO' ? 'EIO' : 'EUSAGE', `cannot read input file: ${code ?? String(cause)}`, {
    file,
    cause,
  });
}

/**
 * The bytes of input file `file`, chunk by chunk. The file is opened when the
 * first chunk is asked for and closed when the last is read or the reader
 * stops (`return()`).
 * @throws `EUSAGE` naming the file when it cannot be opened; `EIO` when a read fails.
 */
export async function* readInputFile(file: string): AsyncGenerator<Uint8Array, void, undefined> {
  let fd: number;
  try {
    // O_NONBLOCK: a FIFO without a writer opens at once (and is then streamed), instead of blocking the thread.
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (cause) {
    throw cannotRead(file, cause);
  }
  let expected: number;
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) {
      closeSync(fd);
      // Not a regular file: a read may wait for a writer, which only the thread pool can do without stopping the loop.
      yield* createReadStream(file) as AsyncIterable<Uint8Array>;
      return;
    }
    expected = st.size;
  } catch (err) {
    closeSync(fd);
    throw err;
  }
  try {
    let sinceTurn = 0;
    for (;;) {
      const chunk = readChunk(file, fd, expected);
      if (chunk === undefined) return;
      expected -= chunk.byteLength;
      yield chunk;
      sinceTurn += chunk.byteLength;
      if (sinceTurn >= TURN_EVERY_BYTES) {
        sinceTurn = 0;
        await nextTurn();
      }
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * The next chunk of `fd`, or `undefined` at its end. A chunk is a buffer of its own (the reader may still hold the
 * one before): sized to what the file's size says is left, so that a small file costs one buffer of its size and one
 * more read that finds the end.
 */
function readChunk(file: string, fd: number, expected: number): Uint8Array | undefined {
  const buffer = expected > 0 ? Buffer.allocUnsafe(Math.min(INPUT_CHUNK_BYTES, expected)) : endProbe;
  let n: number;
  try {
    n = readSync(fd, buffer, 0, buffer.byteLength, null);
  } catch (cause) {
    throw cannotRead(file, cause);
  }
  if (n === 0) return undefined;
  // The file grew while it was read: what came after its size is copied out of the shared probe.
  if (buffer === endProbe) return Buffer.from(endProbe.subarray(0, n));
  return n === buffer.byteLength ? buffer : buffer.subarray(0, n);
}
