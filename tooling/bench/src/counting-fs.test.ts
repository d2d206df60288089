import { describe, expect, it } from 'vitest';
import type { PosixFs } from '@fanout/fs-posix';
import { callCountingFs, countingFs } from './counting-fs.js';

/** A PosixFs whose open hands out increasing fds and whose fsync records what it was given. */
function fakeFs(): { fs: PosixFs; synced: number[] } {
  let next = 10;
  const synced: number[] = [];
  const refuse = () => Promise.reject(new Error('not used'));
  const fs: PosixFs = {
    constants: {
      O_RDONLY: 0,
      O_WRONLY: 1,
      O_RDWR: 2,
      O_CREAT: 64,
      O_EXCL: 128,
      O_NOFOLLOW: 131072,
      O_DIRECTORY: 65536,
    },
    open: async () => next++,
    close: async () => undefined,
    fsync: async (fd) => void synced.push(fd),
    write: refuse,
    read: refuse,
    fstat: refuse,
    lstat: refuse,
    link: refuse,
    unlink: refuse,
    rename: refuse,
    mkdir: refuse,
    opendir: refuse,
  };
  return { fs, synced };
}

describe('countingFs', () => {
  it('counts fsyncs of descriptors opened with O_DIRECTORY as directory fsyncs, others as file fsyncs', async () => {
    const inner = fakeFs();
    const { fs, counts } = countingFs(inner.fs);
    const file = await fs.open('/s/f', fs.constants.O_WRONLY | fs.constants.O_CREAT);
    const dir = await fs.open('/s', fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
    await fs.fsync(file);
    await fs.fsync(dir);
    await fs.fsync(dir);
    expect(counts).toEqual({ file: 1, directory: 2 });
    expect(inner.synced).toEqual([file, dir, dir]);
  });
  it('forgets a directory descriptor once closed, so a reused number counts as what it now is', async () => {
    const inner = fakeFs();
    const { fs, counts } = countingFs(inner.fs);
    const dir = await fs.open('/s', fs.constants.O_DIRECTORY);
    await fs.close(dir);
    await fs.fsync(dir);
    expect(counts).toEqual({ file: 1, directory: 0 });
  });
});

describe('callCountingFs', () => {
  it('counts every call by method, and those that rejected, passing arguments and results through', async () => {
    const inner = fakeFs();
    const { fs, callCounts } = callCountingFs(inner.fs);
    const fd = await fs.open('/s/f', 0);
    await fs.fsync(fd);
    await fs.fsync(fd);
    await expect(fs.lstat('/s/missing')).rejects.toThrow('not used');
    expect(callCounts()).toEqual({ open: 1, fsync: 2, lstat: 1, 'lstat failed': 1 });
    expect(inner.synced).toEqual([fd, fd]);
    expect(fs.constants).toBe(inner.fs.constants);
  });

  it('keeps what the wrapped fs says of itself (fsyncIsNoop), so that the backend over it behaves the same', () => {
    const inner = fakeFs();
    expect(callCountingFs({ ...inner.fs, fsyncIsNoop: true }).fs.fsyncIsNoop).toBe(true);
    expect(callCountingFs(inner.fs).fs.fsyncIsNoop).toBeUndefined();
  });
});
