/**
 * A {@link PosixFs} that counts fsyncs, split into file and directory fsyncs
 * (a descriptor opened with `O_DIRECTORY` is a directory's), so that each
 * variant's cost is counted in the one place every backend goes through.
 */
import type { PosixFs } from '@fanout/fs-posix';

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

/** Wrap `inner`; every call is passed through unchanged and counted by method in `calls`. */
export function callCountingFs(inner: PosixFs): { fs: PosixFs; calls: CallCounts } {
  const calls: CallCounts = {};
  const bump = (key: string) => (calls[key] = (calls[key] ?? 0) + 1);
  // Every property kept (constants, flags such as fsyncIsNoop), every method counted.
  const wrapped: Record<string, unknown> = { ...inner };
  for (const [name, value] of Object.entries(inner)) {
    if (typeof value !== 'function') continue;
    const method = value as (...args: unknown[]) => Promise<unknown>;
    wrapped[name] = (...args: unknown[]) => {
      bump(name);
      return method.apply(inner, args).catch((err: unknown) => {
        bump(`${name} failed`);
        throw err;
      });
    };
  }
  return { fs: wrapped as unknown as PosixFs, calls };
}
