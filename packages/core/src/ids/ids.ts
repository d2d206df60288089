import { monotonicFactory } from 'ulid';

const next = monotonicFactory();

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
