/**
 * A {@link PosixFs} that counts fsyncs, split into file and directory fsyncs
 * (a descriptor opened with `O_DIRECTORY` is a directory's), so that each
 * variant's cost is counted in the one place every backend goes through.
 */
import type { PosixFs } from '@fanout/fs-posix';
import { countingPosixFs, type CountingPosixFs } from '@fanout/fs-posix/testing';

/** fsync calls seen so far. */
export interface FsyncCounts {
  file: number;
  directory: number;
}

/** Wrap `inner`; every call is passed through unchanged, fsyncs are counted in `counts`. */
export function countingFs(inner: PosixFs): { fs: PosixFs; counts: FsyncCounts } {
  const counts: FsyncCounts = { file: 0, directory: 0 };
  const directoryFds = new Set<number>();
  const fs: PosixFs = {
    ...inner,
    async open(path, flags, mode) {
      const fd = await inner.open(path, flags, mode);
      if ((flags & inner.constants.O_DIRECTORY) !== 0) directoryFds.add(fd);
      return fd;
    },
    async close(fd) {
      // Forget first: the number may be reused by the next open even if close reports an error.
      directoryFds.delete(fd);
      await inner.close(fd);
    },
    async fsync(fd) {
      if (directoryFds.has(fd)) counts.directory++;
      else counts.file++;
      await inner.fsync(fd);
    },
  };
  return { fs, counts };
}

/**
 * Calls of each {@link PosixFs} method; `<method> failed` counts those that rejected (mostly `lstat`s of absent
 * names).
 */
export type CallCounts = Record<string, number>;

/**
 * Wrap `inner` (fs-posix's {@link countingPosixFs}); every call is passed through unchanged and counted by method,
 * failures under `<method> failed` as the reports print them.
 */
export function callCountingFs(inner: PosixFs): { fs: PosixFs; callCounts(): CallCounts } {
  const counting = countingPosixFs(inner);
  return { fs: counting.fs, callCounts: () => merged(counting) };
}

function merged(c: CountingPosixFs): CallCounts {
  const out: CallCounts = { ...c.calls };
  for (const [name, n] of Object.entries(c.failures)) out[`${name} failed`] = n;
  return out;
}
