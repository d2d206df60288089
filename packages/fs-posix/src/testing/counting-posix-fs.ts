import type { PosixFs } from '../posix-fs.js';

/** Calls of each {@link PosixFs} method. */
export type PosixCallCounts = Record<string, number>;

/** A {@link PosixFs} that counts its calls: see {@link countingPosixFs}. */
export interface CountingPosixFs {
  readonly fs: PosixFs;
  /** Calls made, by method. */
  readonly calls: PosixCallCounts;
  /** Calls that rejected, by method (mostly `lstat`s of absent names). */
  readonly failures: PosixCallCounts;
  /** Start counting again from nothing. */
  reset(): void;
}

/**
 * `inner` with every call counted by method, passed through unchanged; every other property (`constants`,
 * `fsyncIsNoop`) kept as it is. For tests and benchmarks that pin how many calls an operation costs.
 */
export function countingPosixFs(inner: PosixFs): CountingPosixFs {
  const calls: PosixCallCounts = {};
  const failures: PosixCallCounts = {};
  const bump = (counts: PosixCallCounts, name: string) => (counts[name] = (counts[name] ?? 0) + 1);
  const fs: Record<string, unknown> = { ...inner };
  for (const [name, value] of Object.entries(inner)) {
    if (typeof value !== 'function') continue;
    const method = value as (...args: unknown[]) => Promise<unknown>;
    fs[name] = (...args: unknown[]) => {
      bump(calls, name);
      return method.apply(inner, args).catch((err: unknown) => {
        bump(failures, name);
        throw err;
      });
    };
  }
  const reset = () => {
    for (const counts of [calls, failures]) for (const k of Object.keys(counts)) delete counts[k];
  };
  return { fs: fs as unknown as PosixFs, calls, failures, reset };
}
