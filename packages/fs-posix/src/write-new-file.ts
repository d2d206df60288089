/**
 * Writing a new file from a stream: the part of `createExclusive` that the
 * posix and nfs backends share (nfs writes a temp file this way, then links
 * it). Memory stays bounded: each chunk is written as it arrives, never
 * gathered.
 */
import { FanoutError, toFanoutError, type ContentSource } from '@fanout/core';
import { fromErrno, type ErrnoContext } from './errno.js';
import type { PosixFs } from './posix-fs.js';

/** Mode of new spool files; the umask still applies. */
export const NEW_FILE_MODE = 0o644;

function abortedError(where: ErrnoContext, reason: unknown): FanoutError {
  return new FanoutError('EABORTED', 'write aborted', { ...where, cause: reason });
}

function asBytes(chunk: unknown): Uint8Array {
  if (chunk instanceof Uint8Array) return chunk;
  // A Readable with an encoding set yields strings; accept them rather than corrupt them.
  if (typeof chunk === 'string') return Buffer.from(chunk);
  throw new TypeError(`content chunk is not bytes: ${typeof chunk}`);
}

/** write(2) until the whole chunk is written: a short write is not an error, a zero write is. */
async function writeFully(fs: PosixFs, fd: number, chunk: Uint8Array, position: number, where: ErrnoContext) {
  let done = 0;
  while (done < chunk.byteLength) {
    let n: number;
    try {
      n = await fs.write(fd, chunk, done, chunk.byteLength - done, position + done);
    } catch (err) {
      throw fromErrno(err, 'write', where);
    }
    if (!(n > 0)) throw new FanoutError('EIO', `write made no progress (returned ${n})`, where);
    done += n;
  }
}

/**
 * Create `path` with `flags` (which must include `O_CREAT`), stream `content`
 * into it, fsync and close it. On any failure after the open, the file is
 * closed and unlinked before the error is rethrown as a {@link FanoutError}:
 * fs failures by their errno, the content stream's own errors as `EIO` (unless
 * already FanoutErrors), an abort as `EABORTED`.
 * @returns the number of bytes written.
 */
export async function writeNewFile(
  fs: PosixFs,
  path: string,
  flags: number,
  content: ContentSource,
  signal: AbortSignal | undefined,
  where: ErrnoContext,
  syncData = true,
): Promise<number> {
  if (signal?.aborted) throw abortedError(where, signal.reason);
  let fd: number | undefined;
  try {
    fd = await fs.open(path, flags, NEW_FILE_MODE);
  } catch (err) {
    throw fromErrno(err, 'open', where);
  }

  let written = 0;
  let onAbort: (() => void) | undefined;
  let iterator: AsyncIterator<unknown> | undefined;
  let finished = false;
  try {
    if (content instanceof Uint8Array) {
      await writeFully(fs, fd, content, 0, where);
      written = content.byteLength;
    } else {
      const aborted = new Promise<never>((_, reject) => {
        onAbort = () => reject(abortedError(where, signal?.reason));
        signal?.addEventListener('abort', onAbort, { once: true });
      });
      aborted.catch(() => undefined);
      iterator = (content as AsyncIterable<unknown>)[Symbol.asyncIterator]();
      for (;;) {
        let step: IteratorResult<unknown>;
        try {
          // Racing the abort lets a stalled source be abandoned instead of hanging the writer.
          step = await (signal ? Promise.race([iterator.next(), aborted]) : iterator.next());
        } catch (err) {
          if (err instanceof FanoutError && err.code === 'EABORTED') throw err;
          finished = true; // a source that threw is done; do not call return() on it
          throw toFanoutError(err, 'EIO', where);
        }
        if (step.done) {
          finished = true;
          break;
        }
        const chunk = asBytes(step.value);
        await writeFully(fs, fd, chunk, written, where);
        written += chunk.byteLength;
        if (signal?.aborted) throw abortedError(where, signal.reason);
      }
    }
    try {
      // Data must be on disk before the name can be linked or published: otherwise a crash could
      // leave a committed name pointing at an empty or partial file. (Skipped only for files whose
      // name alone matters, such as lock files.)
      if (syncData && fs.fsyncIsNoop !== true) await fs.fsync(fd);
    } catch (err) {
      throw fromErrno(err, 'fsync', where);
    }
    const closing = fd;
    fd = undefined;
    try {
      // On NFS close() flushes and may report a write error that fsync missed; it counts.
      await fs.close(closing);
    } catch (err) {
      throw fromErrno(err, 'close', where);
    }
    return written;
  } catch (err) {
    if (iterator && !finished) {
      // Let the source release what it holds (a Readable is destroyed); never wait on a stalled one.
      Promise.resolve()
        .then(() => iterator?.return?.())
        .catch(() => undefined);
    }
    if (fd !== undefined) await fs.close(fd).catch(() => undefined);
    // Never leave a partial file behind under a name that could be mistaken for a complete one.
    await fs.unlink(path).catch(() => undefined);
    throw err instanceof FanoutError ? err : toFanoutError(err, 'EIO', where);
  } finally {
    if (onAbort) signal?.removeEventListener('abort', onAbort);
  }
}
