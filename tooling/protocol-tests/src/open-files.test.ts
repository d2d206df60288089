/**
 * How many file descriptors a fan-out holds at once, counted on real
 * directories (fs-posix) by a file API that tallies every open and close:
 * without a budget at most `unboundedDescriptors()` (the formula of
 * docs/PROTOCOL.md, "Open files"); with `maxOpenFiles` never more than that,
 * whatever the concurrency, the copy window and the number of destinations,
 * and every message still delivered.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { enqueue, fanOut, type FanOutOptions, initSpool } from '@fanout/core';
import { unboundedDescriptors } from '@fanout/core/internal';
import { nodePosixFs, PosixBackend, type PosixDir, type PosixFs } from '@fanout/fs-posix';
import { afterEach, describe, expect, it } from 'vitest';

/** A {@link PosixFs} that counts the descriptors open through it (files and directory streams). */
function countingFs(base: PosixFs): { fs: PosixFs; open(): number; peak(): number; resetPeak(): void } {
  let open = 0;
  let peak = 0;
  const up = () => {
    open++;
    peak = Math.max(peak, open);
  };
  const fs: PosixFs = {
    ...base,
    open: async (path, flags, mode) => {
      const fd = await base.open(path, flags, mode);
      up();
      return fd;
    },
    close: async (fd) => {
      try {
        await base.close(fd);
      } finally {
        open--; // Linux frees the descriptor even when close reports an error
      }
    },
    opendir: async (path) => {
      const dir = await base.opendir(path);
      up();
      let closed = false;
      const down = () => {
        if (!closed) open--;
        closed = true;
      };
      const counted: PosixDir = {
        async *[Symbol.asyncIterator]() {
          try {
            yield* dir;
          } finally {
            down(); // Node closes the directory when an iteration ends
          }
        },
        async close() {
          try {
            await dir.close();
          } finally {
            down();
          }
        },
      };
      return counted;
    },
  };
  return { fs, open: () => open, peak: () => peak, resetPeak: () => (peak = open) };
}

interface World {
  root: string;
  source: PosixBackend;
  dests: PosixBackend[];
  ids: string[];
  counter: ReturnType<typeof countingFs>;
}

let root: string | undefined;
afterEach(() => {
  if (root) rmSync(root, { recursive: true, force: true });
  root = undefined;
});

async function world(destCount: number, messageCount: number, size = 64): Promise<World> {
  root = mkdtempSync(join(tmpdir(), 'fanout-fds-'));
  const counter = countingFs(nodePosixFs);
  const source = new PosixBackend({ root: join(root, 'S'), fs: counter.fs });
  const dests = Array.from(
    { length: destCount },
    (_, i) => new PosixBackend({ root: join(root!, `D${i}`), fs: counter.fs }),
  );
  for (const b of [source, ...dests]) await initSpool(b);
  const ids: string[] = [];
  for (let i = 0; i < messageCount; i++)
    ids.push(await enqueue(source, Buffer.alloc(size, `message ${i} `), { sync: false }));
  await source.syncDir();
  return { root, source, dests, ids, counter };
}

/**
 * Fan out everything and check that every message is delivered once everywhere and gone from S; the peak of
 * descriptors.
 */
async function fanOutAll(w: World, options: Partial<FanOutOptions>): Promise<number> {
  expect(w.counter.open()).toBe(0);
  w.counter.resetPeak();
  const summary = await fanOut({
    source: w.source,
    destinations: w.dests.map((spool) => ({ spool })),
    recoverFirst: false,
    ...options,
  });
  expect(summary.failed).toEqual([]);
  expect(summary.committed).toBe(w.ids.length);
  expect(readdirSync(join(w.root, 'S')).filter((n) => n !== '.fanout-spool')).toEqual([]);
  for (let d = 0; d < w.dests.length; d++) {
    const delivered = readdirSync(join(w.root, `D${d}`)).filter((n) => n.startsWith('d'));
    expect(delivered.sort()).toEqual(w.ids.map((id) => `d${id}`).sort());
  }
  expect(
    readFileSync(join(w.root, 'D0', `d${w.ids[3]}`))
      .subarray(0, 10)
      .toString(),
  ).toBe('message 3 ');
  expect(w.counter.open()).toBe(0); // nothing leaked
  return w.counter.peak();
}

describe('descriptors held by a fan-out', () => {
  it('without a budget: at most 2·C·W·D + C·D + 2·C + 1, and that many are really used (so the budget below binds)', async () => {
    const w = await world(3, 96);
    const peak = await fanOutAll(w, { batchSize: 8, concurrency: 4, copyWindow: 4 });
    expect(peak).toBeLessThanOrEqual(
      unboundedDescriptors({ concurrency: 4, copyWindow: 4, destinations: 3, protocol: 'staged' }),
    );
    expect(peak).toBeGreaterThan(24);
  });

  it('with maxOpenFiles 24: never more than 24 at once for 16 attempts × 4 messages × 3 destinations, all delivered', async () => {
    const w = await world(3, 120);
    const peak = await fanOutAll(w, { batchSize: 8, concurrency: 16, copyWindow: 4, maxOpenFiles: 24 });
    expect(peak).toBeLessThanOrEqual(24);
  });

  it('with maxOpenFiles 24 and messages too big to be read once for all copies (each copy reads its own)', async () => {
    const w = await world(3, 12, 1024 * 1024 + 4096);
    const peak = await fanOutAll(w, { batchSize: 4, concurrency: 8, copyWindow: 4, maxOpenFiles: 24 });
    expect(peak).toBeLessThanOrEqual(24);
  });

  it('with maxOpenFiles 12 under the seed protocol (its locks count too)', async () => {
    const w = await world(3, 48);
    const peak = await fanOutAll(w, {
      protocol: 'seed',
      batchSize: 8,
      concurrency: 8,
      copyWindow: 4,
      maxOpenFiles: 12,
    });
    expect(peak).toBeLessThanOrEqual(12);
  });

  it('with the smallest budget, one copy at a time, still delivers everything', async () => {
    const w = await world(2, 20);
    const peak = await fanOutAll(w, { batchSize: 4, concurrency: 4, maxOpenFiles: 5 });
    expect(peak).toBeLessThanOrEqual(5);
  });

  it('recovery at the start counts against the budget too', async () => {
    const w = await world(3, 40);
    const peak = await fanOutAll(w, { batchSize: 8, concurrency: 8, maxOpenFiles: 10, recoverFirst: true });
    expect(peak).toBeLessThanOrEqual(10);
  });
});
