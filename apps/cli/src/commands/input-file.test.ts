import { createHook } from 'node:async_hooks';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, createWriteStream } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { isFanoutError } from '@fanout/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../index.js';
import { INPUT_CHUNK_BYTES, readInputFile, TURN_EVERY_BYTES } from './input-file.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fanout-input-'));
});
afterEach(async () => rm(dir, { recursive: true, force: true }));

async function chunksOf(file: string): Promise<Uint8Array[]> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of readInputFile(file)) chunks.push(chunk);
  return chunks;
}

/** Descriptors this process has open now. */
async function openDescriptors(): Promise<number> {
  return (await readdir('/proc/self/fd')).length;
}

describe('readInputFile', () => {
  it.each([0, 1, 4096, INPUT_CHUNK_BYTES, INPUT_CHUNK_BYTES + 1, 3 * TURN_EVERY_BYTES + 7])(
    'reads a file of %i bytes exactly, in chunks of at most 64 KiB, and closes it',
    async (size) => {
      const file = join(dir, 'in');
      const bytes = randomBytes(size);
      await writeFile(file, bytes);
      const before = await openDescriptors();
      const chunks = await chunksOf(file);
      expect(Buffer.concat(chunks).equals(bytes)).toBe(true);
      expect(chunks.every((c) => c.byteLength > 0 && c.byteLength <= INPUT_CHUNK_BYTES)).toBe(true);
      expect(await openDescriptors()).toBe(before);
    },
  );

  it('hands on chunks that stay as they were read while later ones are read', async () => {
    const file = join(dir, 'in');
    const bytes = randomBytes(5 * INPUT_CHUNK_BYTES + 3);
    await writeFile(file, bytes);
    // Gathered without copying: a reader that keeps a chunk must never see it overwritten.
    expect(Buffer.concat(await chunksOf(file)).equals(bytes)).toBe(true);
  });

  it('reads what was appended after the size it saw at the open', async () => {
    const file = join(dir, 'in');
    await writeFile(file, 'first\n');
    const chunks: Uint8Array[] = [];
    for await (const chunk of readInputFile(file)) {
      if (chunks.length === 0) appendFileSync(file, 'appended while read\n');
      chunks.push(chunk);
    }
    expect(Buffer.concat(chunks).toString()).toBe('first\nappended while read\n');
  });

  it('closes the file when the reader stops early', async () => {
    const file = join(dir, 'in');
    await writeFile(file, randomBytes(4 * INPUT_CHUNK_BYTES));
    const before = await openDescriptors();
    const reader = readInputFile(file);
    await reader.next();
    expect(await openDescriptors()).toBe(before + 1);
    await reader.return();
    expect(await openDescriptors()).toBe(before);
  });

  it('names the file and the cause when it cannot be opened', async () => {
    const missing = join(dir, 'missing');
    const err = await chunksOf(missing).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isFanoutError(err, 'EUSAGE')).toBe(true);
    expect(String(err)).toContain('cannot read input file: ENOENT');
    expect((err as { file?: string }).file).toBe(missing);
  });

  it.runIf(process.platform === 'linux')(
    'streams a FIFO, waiting for its writer without blocking the loop',
    async () => {
      const fifo = join(dir, 'fifo');
      execFileSync('mkfifo', [fifo]);
      const reading = chunksOf(fifo);
      // The loop still runs while the FIFO has no writer: this timer fires, then the writer comes.
      await new Promise((resolve) => setTimeout(resolve, 50));
      const writer = createWriteStream(fifo);
      writer.end('through a pipe\n');
      expect(Buffer.concat(await reading).toString()).toBe('through a pipe\n');
    },
  );
});

/**
 * Thread-pool requests (libuv `uv_fs_*` with a callback, as `createReadStream` and `fs.promises` make) started
 * while `body` runs.
 */
async function poolRequestsDuring(body: () => Promise<unknown>): Promise<number> {
  let requests = 0;
  const hook = createHook({
    init(_id, type) {
      if (type === 'FSREQCALLBACK' || type === 'FSREQPROMISE') requests += 1;
    },
  });
  hook.enable();
  try {
    await body();
  } finally {
    hook.disable();
  }
  return requests;
}

describe('fanout enqueue of many small files', () => {
  it('makes at most one thread-pool request per file (the fsync of its data), and enqueues each exactly', async () => {
    const spool = join(dir, 'S');
    const files = 40;
    const inputs: string[] = [];
    for (let k = 0; k < files; k++) {
      const file = join(dir, `in${k}`);
      await writeFile(file, `message ${k}\n`);
      inputs.push(file);
    }
    const io = () => ({ stdin: new PassThrough(), stdout: new PassThrough(), stderr: new PassThrough(), env: {} });
    expect(await main(['init', spool], io())).toBe(0);
    const out = io();
    let printed = '';
    out.stdout.on('data', (d: Buffer) => (printed += d.toString()));
    let status: number | undefined;
    const requests = await poolRequestsDuring(async () => (status = await main(['enqueue', spool, ...inputs], out)));
    expect(status).toBe(0);
    const ids = printed.trim().split('\n');
    expect(ids).toHaveLength(files);
    for (const [k, id] of ids.entries()) expect(await readFile(join(spool, `s${id}`), 'utf8')).toBe(`message ${k}\n`);
    // Before: a stat, an open, two reads and a close per file on the pool (createReadStream), 5 or more each.
    expect(requests).toBeLessThanOrEqual(files + 10);
  });
});
