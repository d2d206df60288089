/**
 * Issue 17: the calls a message costs on fs-posix. Each test counts the PosixFs calls one backend operation makes, so
 * that a check that is not needed (an lstat before an open that refuses non-files itself, an lstat of a file this
 * backend made, an fsync on tmpfs where the kernel's fsync does nothing) cannot come back unnoticed; and that the
 * refusals the checks were for still happen.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { localPosixFs, memoryBackedPosixFs } from './local-posix-fs.js';
import { MadeFiles } from './made-files.js';
import { PosixBackend } from './posix-backend.js';
import { countingPosixFs } from './testing/counting-posix-fs.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fanout-call-budget-'));
});
afterEach(async () => rm(dir, { recursive: true, force: true }));

async function drain(chunks: AsyncIterable<Uint8Array>): Promise<string> {
  const parts: Uint8Array[] = [];
  for await (const c of chunks) parts.push(c);
  return Buffer.concat(parts).toString('utf8');
}

describe('read', () => {
  it('opens, fstats, reads and closes a small file: no lstat before the open', async () => {
    const c = countingPosixFs(localPosixFs);
    const spool = new PosixBackend({ root: dir, fs: c.fs });
    await writeFile(join(dir, 'pM1.TX'), 'hello');
    expect(await drain(spool.read('pM1.TX'))).toBe('hello');
    expect(c.calls).toEqual({ open: 1, fstat: 1, read: 1, close: 1 });
  });

  it('still refuses a symlink, a FIFO, a directory and a socket by name and kind, without blocking', async () => {
    const spool = new PosixBackend({ root: dir });
    await writeFile(join(dir, 'target'), 'x');
    await symlink(join(dir, 'target'), join(dir, 'link'));
    execFileSync('mkfifo', [join(dir, 'fifo')]);
    await (await import('node:fs/promises')).mkdir(join(dir, 'sub'));
    const server = createServer();
    await new Promise<void>((r) => server.listen(join(dir, 'sock'), r));
    try {
      for (const [name, kind] of [
        ['link', 'symlink'],
        ['fifo', 'other'],
        ['sub', 'directory'],
        ['sock', 'socket'],
      ] as const) {
        await expect(drain(spool.read(name)), name).rejects.toMatchObject({
          code: 'EBADENTRY',
          file: name,
          message: expect.stringContaining(kind === 'other' ? 'not a regular file' : kind),
        });
      }
      await expect(drain(spool.read('missing'))).rejects.toMatchObject({ code: 'ENOENT', file: 'missing' });
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});

describe('rename', () => {
  it('of a file this backend created makes no lstat of it: one lstat of the target, one rename', async () => {
    const c = countingPosixFs(localPosixFs);
    const spool = new PosixBackend({ root: dir, fs: c.fs });
    await spool.createExclusive('wM1.TX', new TextEncoder().encode('copy'));
    c.reset();
    await spool.rename('wM1.TX', 'dM1');
    expect(c.calls).toEqual({ lstatIfExists: 1, rename: 1 });
    // And the name it moved to is known too: the next rename of it is as cheap.
    c.reset();
    await spool.rename('dM1', 'kM1.TX');
    expect(c.calls).toEqual({ lstatIfExists: 1, rename: 1 });
  });

  it('of a name found in the spool still checks its kind: a planted symlink is refused, not moved', async () => {
    const c = countingPosixFs(localPosixFs);
    const spool = new PosixBackend({ root: dir, fs: c.fs });
    await writeFile(join(dir, 'target'), 'x');
    await symlink(join(dir, 'target'), join(dir, 'sM1'));
    await expect(spool.rename('sM1', 'pM1.TX')).rejects.toMatchObject({ code: 'EBADENTRY', file: 'sM1' });
    expect(c.calls.rename ?? 0).toBe(0);
  });

  it('never clobbers: a made file renamed onto another file is refused, and onto its own twin completes', async () => {
    const spool = new PosixBackend({ root: dir });
    await spool.createExclusive('wM1.TX', new TextEncoder().encode('mine'));
    await writeFile(join(dir, 'dM1'), 'theirs');
    await expect(spool.rename('wM1.TX', 'dM1')).rejects.toMatchObject({ code: 'EEXIST', file: 'dM1' });
    expect(await drain(spool.read('dM1'))).toBe('theirs');
    expect(await drain(spool.read('wM1.TX'))).toBe('mine');
    // A crash twin: the target is already this very file (a link), so the rename only drops the old name.
    await spool.createExclusive('wM2.TX', new TextEncoder().encode('two'));
    await spool.link('wM2.TX', 'dM2');
    await spool.rename('wM2.TX', 'dM2');
    expect(await spool.stat('wM2.TX')).toBeUndefined();
    expect(await drain(spool.read('dM2'))).toBe('two');
  });

  it('of a made file that someone removed meanwhile fails with ENOENT naming it', async () => {
    const spool = new PosixBackend({ root: dir });
    await spool.createExclusive('wM1.TX', new TextEncoder().encode('copy'));
    await rm(join(dir, 'wM1.TX'));
    await expect(spool.rename('wM1.TX', 'dM1')).rejects.toMatchObject({ code: 'ENOENT', file: 'wM1.TX' });
  });

  it('remembers a bounded number of names', () => {
    const made = new MadeFiles();
    for (let i = 0; i <= MadeFiles.LIMIT; i++) made.note(`w${i}`);
    // Past the limit it started again: the first names are forgotten (a miss only costs the lstat), the last kept.
    expect(made.take('w0')).toBe(false);
    expect(made.take(`w${MadeFiles.LIMIT}`)).toBe(true);
    expect(made.take(`w${MadeFiles.LIMIT}`)).toBe(false);
  });
});

describe('tmpfs (memoryBackedPosixFs)', () => {
  it('makes no fsync and opens no directory to sync: the kernel would do nothing for them', async () => {
    const c = countingPosixFs(memoryBackedPosixFs);
    const spool = new PosixBackend({ root: dir, fs: c.fs });
    await spool.createExclusive('wM1.TX', new TextEncoder().encode('copy'));
    await spool.syncDir();
    expect(c.calls.fsync ?? 0).toBe(0);
    expect(c.calls).toEqual({ open: 1, write: 1, close: 1 });
  });

  it('elsewhere the same calls fsync the file and the directory', async () => {
    const c = countingPosixFs(localPosixFs);
    const spool = new PosixBackend({ root: dir, fs: c.fs });
    await spool.createExclusive('wM1.TX', new TextEncoder().encode('copy'));
    await spool.syncDir();
    expect(c.calls).toEqual({ open: 2, write: 1, fsync: 2, close: 2 });
  });
});
