/**
 * Which fan-outs the matrix of issue 17 runs (where, how many destinations,
 * what size, how many messages), and what it reads out of `strace -c`. Pure,
 * so it is tested without running anything.
 */

/** Where a case runs: a RAM-backed filesystem, or the disk the rest of the bench uses. */
export type PlaceName = 'tmpfs' | 'disk';

/** One fan-out of the matrix. */
export interface MatrixCase {
  readonly place: PlaceName;
  readonly destinations: number;
  readonly size: number;
  readonly count: number;
}

/** What the matrix is told (see options.ts). */
export interface MatrixShape {
  /** Messages of the 1 KiB and 4 KiB cases. */
  readonly messages: number;
  /** Messages of the scale case (4 KiB, 3 destinations): the cost per message must not grow with it. */
  readonly manyMessages: number;
  /** Messages of the 256 KiB case. */
  readonly largeMessages: number;
  /** Messages of the 16 MiB case. */
  readonly hugeMessages: number;
  /** Whether the scale case also runs on disk (its naive durable baseline takes minutes there). */
  readonly manyOnDisk: boolean;
}

const KiB = 1024;

/**
 * The cases of one place: 1, 3 and 10 destinations at 4 KiB; 1 KiB, 256 KiB
 * and 16 MiB at 3 destinations; and the 4 KiB case again with `manyMessages`
 * (on disk only when asked).
 */
export function matrixCases(place: PlaceName, s: MatrixShape): MatrixCase[] {
  const at = (destinations: number, size: number, count: number): MatrixCase => ({ place, destinations, size, count });
  const cases = [
    at(1, 4 * KiB, s.messages),
    at(3, 4 * KiB, s.messages),
    at(10, 4 * KiB, s.messages),
    at(3, KiB, s.messages),
    at(3, 256 * KiB, s.largeMessages),
    at(3, 16 * KiB * KiB, s.hugeMessages),
  ];
  if (s.manyMessages !== s.messages && (place === 'tmpfs' || s.manyOnDisk)) cases.push(at(3, 4 * KiB, s.manyMessages));
  return cases;
}

/** System calls of one traced run, from `strace -c -f`'s summary. */
export interface SyscallCounts {
  readonly futex: number;
  /** Every other system call (the process's start-up included). */
  readonly other: number;
  /** Calls by name, for the report's breakdown. */
  readonly byName: ReadonlyMap<string, number>;
}

/**
 * Parse the table `strace -c` writes: `% time seconds usecs/call calls
 * [errors] syscall`, one line per call, then a `total` line (skipped).
 */
export function parseStraceSummary(text: string): SyscallCounts {
  const byName = new Map<string, number>();
  for (const m of text.matchAll(/^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?([a-z_0-9]+)\s*$/gm)) {
    if (m[2] === 'total') continue;
    byName.set(m[2]!, (byName.get(m[2]!) ?? 0) + Number(m[1]));
  }
  let futex = 0;
  let other = 0;
  for (const [name, calls] of byName) {
    if (name === 'futex') futex += calls;
    else other += calls;
  }
  return { futex, other, byName };
}
