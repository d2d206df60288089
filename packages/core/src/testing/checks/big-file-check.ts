/** The bounded-memory check: a big file streams in and out without being held in memory. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { withBackend, type ConformanceCheck } from '../harness.js';
import { MemoryProbe } from '../memory-probe.js';

const MiB = 1024 * 1024;
/** Default size of the big file. */
export const DEFAULT_BIG_FILE_BYTES = 100 * MiB;
/** Size of each generated chunk. */
const CHUNK_BYTES = MiB;
/** Live memory a streaming backend may use on top of the stored content, whatever the file size. */
const PRECISE_BUDGET_BYTES = 48 * MiB;
/** The same when garbage cannot be collected before sampling, so garbage counts too. */
const IMPRECISE_BUDGET_BYTES = 96 * MiB;
/** Sample memory every this many bytes. */
const SAMPLE_EVERY_BYTES = 4 * MiB;

/** A deterministic, incompressible-looking 1 MiB pattern; each chunk also carries its index. */
function basePattern(): Uint8Array {
  const out = new Uint8Array(CHUNK_BYTES);
  let x = 0x2545f491;
  for (let i = 0; i < out.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

export const bigFileCheck: ConformanceCheck = {
  name: 'a big file (100 MiB by default) streams in and out intact without being held in memory',
  timeoutMs: 600_000,
  run: (h) =>
    withBackend(h, async (b) => {
      const size = h.bigFileBytes ?? DEFAULT_BIG_FILE_BYTES;
      const factor = h.storageMemoryFactor ?? 0;
      const probe = new MemoryProbe();
      const budget = probe.precise ? PRECISE_BUDGET_BYTES : IMPRECISE_BUDGET_BYTES;
      const base = basePattern();
      const sent = createHash('sha256');

      await probe.reset();
      let produced = 0;
      let sinceSample = 0;
      async function* generate(): AsyncGenerator<Uint8Array> {
        for (let index = 0; produced < size; index++) {
          const n = Math.min(CHUNK_BYTES, size - produced);
          // A fresh buffer per chunk: the backend may keep a reference until it has written it.
          const chunk = new Uint8Array(n);
          chunk.set(base.subarray(0, n));
          if (n >= 4) new DataView(chunk.buffer).setUint32(0, index);
          sent.update(chunk);
          if (sinceSample >= SAMPLE_EVERY_BYTES) {
            // Before handing out the next chunk: what is alive now is what the backend kept.
            await probe.sample(factor * produced + budget);
            sinceSample = 0;
          }
          produced += n;
          sinceSample += n;
          yield chunk;
        }
      }
      const written = await b.createExclusive('s-big', generate());
      await probe.sample(factor * produced + budget);
      const writing = probe.worst;
      assert.equal(written, size, 'createExclusive returns the byte count');
      assert.equal((await b.stat('s-big'))?.size, size, 'stat reports the full size');

      await probe.reset();
      const received = createHash('sha256');
      let read = 0;
      sinceSample = 0;
      for await (const chunk of b.read('s-big')) {
        received.update(chunk);
        read += chunk.byteLength;
        sinceSample += chunk.byteLength;
        if (sinceSample >= SAMPLE_EVERY_BYTES) {
          await probe.sample(budget);
          sinceSample = 0;
        }
      }
      await probe.sample(budget);
      const reading = probe.worst;
      assert.equal(read, size, 'read yields every byte');
      assert.equal(received.digest('hex'), sent.digest('hex'), 'read yields the very bytes written');

      const mib = (n: number) => `${(n / MiB).toFixed(1)} MiB`;
      assert.ok(
        writing.excess <= 0,
        `writing ${mib(size)} kept ${mib(writing.growth)} alive, ` +
          `more than the ${mib(writing.allowed)} allowed: the backend holds the content in memory`,
      );
      assert.ok(
        reading.excess <= 0,
        `reading ${mib(size)} kept ${mib(reading.growth)} alive, ` +
          `more than the ${mib(reading.allowed)} allowed: the backend holds the content in memory`,
      );
      assert.equal(await b.remove('s-big'), true);
    }),
};
