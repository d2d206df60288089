import { describe, expect, it } from 'vitest';
import { sharedRead } from './shared-read.js';

/** A source of `size` bytes in `chunk`-byte chunks that counts its opens and closes. */
function countingSource(size: number, chunk: number, failAt?: number) {
  const counts = { opens: 0, closed: 0 };
  const open = () => {
    counts.opens += 1;
    return (async function* () {
      try {
        for (let at = 0; at < size; at += chunk) {
          if (failAt !== undefined && at >= failAt) throw new Error('read failed');
          await Promise.resolve();
          const n = Math.min(chunk, size - at);
          yield Uint8Array.from({ length: n }, (_, i) => (at + i) % 251);
        }
      } finally {
        counts.closed += 1;
      }
    })();
  };
  return { open, counts };
}

async function drain(stream: AsyncIterable<Uint8Array>): Promise<number[]> {
  const out: number[] = [];
  for await (const chunk of stream) out.push(...chunk);
  return out;
}

const expected = (size: number) => Array.from({ length: size }, (_, i) => i % 251);

describe('sharedRead', () => {
  it('reads a message within the limit once for all its copies, consumed concurrently', async () => {
    const { open, counts } = countingSource(10_000, 1000);
    const content = sharedRead(open, 16_000);
    const copies = await Promise.all([drain(content()), drain(content()), drain(content())]);
    for (const copy of copies) expect(copy).toEqual(expected(10_000));
    expect(counts.opens).toBe(1);
    expect(counts.closed).toBe(1);
  });

  it('reads it once when the copies are consumed one after another', async () => {
    const { open, counts } = countingSource(5000, 1000);
    const content = sharedRead(open, 16_000);
    for (let i = 0; i < 3; i += 1) expect(await drain(content())).toEqual(expected(5000));
    expect(counts.opens).toBe(1);
  });

  it('streams a bigger message: the first copy continues the first read, the others read afresh', async () => {
    const { open, counts } = countingSource(50_000, 1000);
    const content = sharedRead(open, 16_000);
    // One after another: a shared lock-step tee would deadlock here.
    for (let i = 0; i < 3; i += 1) expect(await drain(content())).toEqual(expected(50_000));
    expect(counts.opens).toBe(3);
    expect(counts.closed).toBe(3);
  });

  it('holds at most the limit plus one chunk of a bigger message', async () => {
    let held = 0;
    const { open } = countingSource(50_000, 1000);
    const content = sharedRead(() => {
      const inner = open();
      return (async function* () {
        for await (const chunk of inner) {
          held += chunk.byteLength;
          yield chunk;
        }
      })();
    }, 16_000);
    const iterator = content()[Symbol.asyncIterator]();
    await iterator.next();
    expect(held).toBe(17_000);
    await iterator.return?.();
  });

  it('closes the first read when its copy is abandoned midway', async () => {
    const { open, counts } = countingSource(50_000, 1000);
    const content = sharedRead(open, 16_000);
    const iterator = content()[Symbol.asyncIterator]();
    await iterator.next();
    await iterator.next();
    await iterator.return?.();
    expect(counts.closed).toBe(1);
  });

  it('hands a read failure to every copy', async () => {
    const { open, counts } = countingSource(10_000, 1000, 4000);
    const content = sharedRead(open, 16_000);
    const results = await Promise.allSettled([drain(content()), drain(content())]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(counts.closed).toBe(1);
  });

  it('gives each call a stream that can be iterated again (a retried create)', async () => {
    const { open } = countingSource(3000, 1000);
    const stream = sharedRead(open, 16_000)();
    expect(await drain(stream)).toEqual(expected(3000));
    expect(await drain(stream)).toEqual(expected(3000));
  });
});
