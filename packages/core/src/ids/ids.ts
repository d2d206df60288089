import { getRandomValues } from 'node:crypto';
import { monotonicFactory } from 'ulid';

const pool = new Uint8Array(256);
let taken = pool.length;

/**
 * ulid's PRNG, drawn from a pool of cryptographic random bytes: its own asks
 * `crypto.getRandomValues` for one byte per character (16 per id, each a
 * system call in OpenSSL's fork check), which was one system call per
 * message in a fan-out (docs/BENCHMARKS.md).
 */
function pooledRandom(): number {
  if (taken === pool.length) {
    getRandomValues(pool);
    taken = 0;
  }
  return pool[taken++]! / 256;
}

const next = monotonicFactory(pooledRandom);

/**
 * A new ID: a ULID (48 bits of milliseconds, 80 random bits, Crockford
 * base32), so IDs sort by creation time and are unique across hosts without
 * coordination. Monotonic within this process even inside one millisecond.
 *
 * @example
 * ```ts
 * import { enqueue, newId } from '@fanout/core';
 *
 * const id = newId(); // unique across hosts, sortable by time
 * await enqueue(outbox, new TextEncoder().encode('hello\n'), { id });
 * ```
 */
export function newId(now: number = Date.now()): string {
  return next(now);
}
