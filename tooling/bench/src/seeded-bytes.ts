/**
 * Reproducible message content: every run of the bench moves the very same
 * bytes (random, so nothing along the way can compress or deduplicate them).
 */

/** mulberry32: a tiny 32-bit PRNG, plenty for filler bytes. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** `count` messages of `size` random bytes each, from `seed`. */
export function* seededMessages(seed: number, count: number, size: number): Generator<Uint8Array> {
  const next = mulberry32(seed);
  for (let m = 0; m < count; m++) {
    const bytes = new Uint8Array(size);
    const view = new DataView(bytes.buffer);
    let i = 0;
    for (; i + 4 <= size; i += 4) view.setUint32(i, next(), true);
    for (let word = next(); i < size; i++, word >>>= 8) bytes[i] = word & 0xff;
    yield bytes;
  }
}

/** The message id of message number `n`: zero-padded, so listings sort in input order. */
export function messageId(n: number): string {
  return String(n).padStart(7, '0');
}
