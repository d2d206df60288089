/** Invariant 8 of docs/DESIGN.md §4: memory does not grow with message size. */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fanout, lines, names, tempDir } from './cli-harness.js';

const SIZE = 100 * 1024 * 1024;
const PEAK_RSS_LIMIT = 150 * 1024 * 1024;

async function sha256(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** Write `size` bytes that differ from block to block (so a lost or repeated block changes the hash). */
async function writeBigFile(path: string, size: number): Promise<void> {
  const out = createWriteStream(path);
  const block = Buffer.alloc(1024 * 1024);
  for (let written = 0, n = 0; written < size; written += block.length, n++) {
    block.fill(n % 251);
    block.writeUInt32BE(n, 0);
    if (!out.write(Buffer.from(block))) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

function peakRss(stderr: string): number {
  const m = /^fanout: peak-rss-bytes (\d+)$/m.exec(stderr);
  if (!m) throw new Error(`no peak RSS reported in: ${stderr}`);
  return Number(m[1]);
}

describe('a 100 MB message', () => {
  it('is enqueued and fanned out to two spools byte for byte with peak RSS under 150 MB', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const env = { FANOUT_REPORT_PEAK_RSS: '1' };
      await writeBigFile(join(dir, 'big'), SIZE);
      expect((await fanout(['init', 'S', 'A', 'B'], { cwd: dir })).status).toBe(0);

      const enq = await fanout(['enqueue', 'S', 'big'], { cwd: dir, env });
      expect(enq.status).toBe(0);
      expect(peakRss(enq.stderr)).toBeLessThan(PEAK_RSS_LIMIT);
      const [id] = lines(enq.stdout);

      const run = await fanout(['run', '--from', 'S', '--to', 'A', '--to', 'B'], { cwd: dir, env });
      expect(run.status).toBe(0);
      expect(peakRss(run.stderr)).toBeLessThan(PEAK_RSS_LIMIT);

      const want = await sha256(join(dir, 'big'));
      expect(await names(join(dir, 'S'))).toEqual([]);
      for (const d of ['A', 'B']) {
        expect(await names(join(dir, d))).toEqual([`d${id}`]);
        expect(await sha256(join(dir, d, `d${id}`))).toBe(want);
      }
    } finally {
      await cleanup();
    }
  }, 120_000);
});
