import { describe, expect, it } from 'vitest';
import { nodePosixFs, type PosixFs } from '@fanout/fs-posix';
import { backoffDelay, isRetryable, retryingFs, retryPolicy, withErrnoName, withRetries } from './retry.js';

const errno = (code: string) => Object.assign(new Error(`${code}: injected`), { code });

function recordingPolicy(tries = 5) {
  const slept: number[] = [];
  return { slept, policy: retryPolicy({ tries, sleep: async (ms) => void slept.push(ms) }) };
}

describe('retry policy', () => {
  it('backs off exponentially from 10 ms and never waits more than 500 ms', () => {
    const policy = retryPolicy();
    expect([1, 2, 3, 4, 5, 6, 7, 8].map((n) => backoffDelay(policy, n))).toEqual([10, 20, 40, 80, 160, 320, 500, 500]);
  });

  it('refuses a policy without at least one try', () => {
    expect(() => retryPolicy({ tries: 0 })).toThrow(RangeError);
  });

  it('retries a stale handle that Node reports as errno -116 without a name', async () => {
    const { slept, policy } = recordingPolicy();
    let calls = 0;
    const result = await withRetries(policy, async () => {
      if (++calls < 2)
        throw Object.assign(new Error('Unknown system error -116, readdir'), {
          code: 'Unknown system error -116',
          errno: -116,
        });
      return 'ok';
    });
    expect(result).toBe('ok');
    expect(slept).toEqual([10]);
  });

  it('retries ESTALE until it succeeds', async () => {
    const { slept, policy } = recordingPolicy();
    let calls = 0;
    const result = await withRetries(policy, async () => {
      if (++calls < 3) throw errno('ESTALE');
      return 'ok';
    });
    expect(result).toBe('ok');
    expect(slept).toEqual([10, 20]);
  });

  it('gives up after the last try, keeping the code and the cause', async () => {
    const { slept, policy } = recordingPolicy(3);
    const first = errno('EIO');
    const err = await withRetries(policy, async () => {
      throw first;
    }).catch((e: unknown) => e as Error & { code: string });
    expect(err.code).toBe('EIO');
    expect(err.message).toMatch(/after 3 tries/);
    expect(err.cause).toBe(first);
    expect(slept).toHaveLength(2);
  });

  it('does not retry errors that are not transient', async () => {
    const { slept, policy } = recordingPolicy();
    let calls = 0;
    await expect(
      withRetries(policy, async () => {
        calls++;
        throw errno('ENOENT');
      }),
    ).rejects.toMatchObject({ code: 'ENOENT' });
    expect(calls).toBe(1);
    expect(slept).toEqual([]);
  });
});

describe('retryingFs', () => {
  function counting(code: string) {
    const calls: Record<string, number> = {};
    const fail = (op: string) => async () => {
      calls[op] = (calls[op] ?? 0) + 1;
      throw errno(code);
    };
    const fs: PosixFs = {
      ...nodePosixFs,
      open: fail('open'),
      fsync: fail('fsync'),
      write: fail('write'),
      lstat: fail('lstat'),
      link: fail('link'),
      unlink: fail('unlink'),
      read: fail('read'),
    };
    return { calls, fs };
  }

  it('retries lstat, positional reads and open without O_EXCL', async () => {
    const { calls, fs } = counting('ESTALE');
    const r = retryingFs(fs, recordingPolicy(4).policy);
    const c = nodePosixFs.constants;
    await expect(r.lstat('/x')).rejects.toMatchObject({ code: 'ESTALE' });
    await expect(r.read(3, new Uint8Array(1), 0, 1, 0)).rejects.toMatchObject({ code: 'ESTALE' });
    await expect(r.open('/x', c.O_RDONLY)).rejects.toMatchObject({ code: 'ESTALE' });
    expect(calls).toEqual({ lstat: 4, read: 4, open: 4 });
  });

  it('never repeats fsync, write, link, unlink or an exclusive open', async () => {
    const { calls, fs } = counting('EIO');
    const r = retryingFs(fs, recordingPolicy(4).policy);
    const c = nodePosixFs.constants;
    await expect(r.fsync(3)).rejects.toMatchObject({ code: 'EIO' });
    await expect(r.write(3, new Uint8Array(1), 0, 1, 0)).rejects.toMatchObject({ code: 'EIO' });
    await expect(r.link('/a', '/b')).rejects.toMatchObject({ code: 'EIO' });
    await expect(r.unlink('/a')).rejects.toMatchObject({ code: 'EIO' });
    await expect(r.open('/x', c.O_WRONLY | c.O_CREAT | c.O_EXCL)).rejects.toMatchObject({ code: 'EIO' });
    expect(calls).toEqual({ fsync: 1, write: 1, link: 1, unlink: 1, open: 1 });
  });
});

/** ESTALE as Node 20 reports it on a real NFS mount (seen there: tooling/real-nfs two-clients test). */
const nodeEstale = () =>
  Object.assign(new Error('Unknown system error -116: Unknown system error -116, fstat'), {
    code: 'Unknown system error -116',
    errno: -116,
    syscall: 'fstat',
  });

describe('ESTALE without its name (Node 20: errno -116, code "Unknown system error -116")', () => {
  it('is named ESTALE, keeping errno, syscall and the original as cause', () => {
    const original = nodeEstale();
    const named = withErrnoName(original) as Error & { code: string; errno: number; syscall: string };
    expect(named).toMatchObject({ code: 'ESTALE', errno: -116, syscall: 'fstat' });
    expect(named.message).toBe('ESTALE: stale file handle, fstat');
    expect(named.cause).toBe(original);
  });

  it('is retryable', () => {
    expect(isRetryable(nodeEstale())).toBe(true);
  });

  it('is retried by the retrying fs and surfaces as ESTALE when it persists', async () => {
    const { slept, policy } = recordingPolicy(3);
    const fs: PosixFs = { ...nodePosixFs, fstat: async () => Promise.reject(nodeEstale()) };
    const err = (await retryingFs(fs, policy)
      .fstat(3)
      .catch((e: unknown) => e)) as Error & { code: string };
    expect(err.code).toBe('ESTALE');
    expect(err.message).toMatch(/stale file handle.*after 3 tries/);
    expect(slept).toHaveLength(2);
  });

  it('reaches a directory listing named ESTALE', async () => {
    const fs: PosixFs = {
      ...nodePosixFs,
      opendir: async () => ({
        // eslint-disable-next-line require-yield
        async *[Symbol.asyncIterator]() {
          throw nodeEstale();
        },
        close: async () => undefined,
      }),
    };
    const dir = await retryingFs(fs, recordingPolicy().policy).opendir('/x');
    await expect(
      (async () => {
        for await (const _ of dir) void _;
      })(),
    ).rejects.toMatchObject({ code: 'ESTALE' });
  });
});
