import { execFileSync } from 'node:child_process';
import * as fsp from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FanoutError } from '@fanout/core';
import { nodePosixFs } from './node-posix-fs.js';
import { PosixBackend, READ_CHUNK_BYTES } from './posix-backend.js';
import type { PosixFs } from './posix-fs.js';

let dir: string;
let root: string;

beforeEach(async () => {
  dir = await fsp.mkdtemp(join(tmpdir(), 'fanout-posix-'));
  root = join(dir, 'spool');
  await fsp.mkdir(root);
});
afterEach(async () => {
  await fsp.rm(dir, { recursive: true, force: true });
});

function backend(fs: PosixFs = nodePosixFs, extra: { publishMode?: 'link' | 'rename' } = {}) {
  return new PosixBackend({ root, fs, location: 'file:///test-spool', ...extra });
}

async function caught(promise: Promise<unknown>): Promise<FanoutError> {
  try {
    await promise;
  } catch (err) {
    return err as FanoutError;
  }
  throw new Error('expected a rejection');
}

async function readAll(iterable: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const chunk of iterable) parts.push(chunk);
  return Buffer.concat(parts);
}

async function* chunks(...parts: string[]): AsyncGenerator<Uint8Array> {
  for (const p of parts) yield Buffer.from(p);
}

const exists = (name: string) =>
  fsp.lstat(join(root, name)).then(
    () => true,
    () => false,
  );

describe('PosixBackend.createExclusive', () => {
  it('streams the content into a new file and returns the byte count', async () => {
    const n = await backend().createExclusive('s1', chunks('hello ', 'world'));
    expect(n).toBe(11);
    expect(await fsp.readFile(join(root, 's1'), 'utf8')).toBe('hello world');
  });

  it('accepts bytes as content', async () => {
    expect(await backend().createExclusive('s1', new Uint8Array([1, 2, 3]))).toBe(3);
    expect([...(await fsp.readFile(join(root, 's1')))]).toEqual([1, 2, 3]);
  });

  it('writes each chunk as it arrives instead of gathering the content', async () => {
    const sizesSeen: number[] = [];
    async function* source() {
      yield Buffer.alloc(1000, 1);
      sizesSeen.push((await fsp.stat(join(root, 's1'))).size);
      yield Buffer.alloc(500, 2);
      sizesSeen.push((await fsp.stat(join(root, 's1'))).size);
    }
    await backend().createExclusive('s1', source());
    expect(sizesSeen).toEqual([1000, 1500]);
  });

  it('refuses an existing name with EEXIST and leaves the file untouched', async () => {
    await fsp.writeFile(join(root, 's1'), 'original');
    const err = await caught(backend().createExclusive('s1', chunks('new')));
    expect(err.code).toBe('EEXIST');
    expect(err.file).toBe('s1');
    expect(err.spool).toBe('file:///test-spool');
    expect(await fsp.readFile(join(root, 's1'), 'utf8')).toBe('original');
  });

  it('refuses a name held by a dangling symlink and never writes through it', async () => {
    await fsp.symlink(join(dir, 'elsewhere'), join(root, 's1'));
    expect((await caught(backend().createExclusive('s1', chunks('x')))).code).toBe('EEXIST');
    expect(await fsp.readdir(dir)).toEqual(['spool']);
  });

  it('lets exactly one of many concurrent creators win', async () => {
    const b = backend();
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) => b.createExclusive('m1', chunks(`writer ${i}`))),
    );
    const winners = results.filter((r) => r.status === 'fulfilled');
    expect(winners).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect(r.reason.code).toBe('EEXIST');
  });

  it('completes short writes by writing the rest', async () => {
    let calls = 0;
    const oneByteAtATime: PosixFs = {
      ...nodePosixFs,
      write: (fd, buffer, offset, length, position) => {
        calls += 1;
        return nodePosixFs.write(fd, buffer, offset, Math.min(1, length), position);
      },
    };
    expect(await backend(oneByteAtATime).createExclusive('s1', chunks('abc', 'defg'))).toBe(7);
    expect(await fsp.readFile(join(root, 's1'), 'utf8')).toBe('abcdefg');
    expect(calls).toBe(7);
  });

  it('treats a write that makes no progress as EIO rather than looping', async () => {
    const stuck: PosixFs = { ...nodePosixFs, write: async () => 0 };
    const err = await caught(backend(stuck).createExclusive('s1', chunks('abc')));
    expect(err.code).toBe('EIO');
    expect(await exists('s1')).toBe(false);
  });

  it('removes the partial file when the content stream throws, and reports EIO with the cause', async () => {
    const boom = new Error('source broke');
    async function* source() {
      yield Buffer.from('partial');
      throw boom;
    }
    const err = await caught(backend().createExclusive('s1', source()));
    expect(err.code).toBe('EIO');
    expect(err.file).toBe('s1');
    expect(err.cause).toBe(boom);
    expect(await exists('s1')).toBe(false);
  });

  it('keeps a FanoutError thrown by the content stream as it is', async () => {
    const { FanoutError } = await import('@fanout/core');
    const own = new FanoutError('ECORRUPT', 'bad transform');
    async function* source(): AsyncGenerator<Uint8Array> {
      throw own;
    }
    expect(await caught(backend().createExclusive('s1', source()))).toBe(own);
    expect(await exists('s1')).toBe(false);
  });

  it('reports ENOSPC from the filesystem, naming the file, and removes the partial file', async () => {
    let writes = 0;
    const fullDisk: PosixFs = {
      ...nodePosixFs,
      write: async (fd, buffer, offset, length, position) => {
        writes += 1;
        if (writes > 1) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
        return nodePosixFs.write(fd, buffer, offset, length, position);
      },
    };
    const err = await caught(backend(fullDisk).createExclusive('w1.tx', chunks('first', 'second')));
    expect(err.code).toBe('ENOSPC');
    expect(err.file).toBe('w1.tx');
    expect(err.spool).toBe('file:///test-spool');
    expect(await exists('w1.tx')).toBe(false);
  });

  it('removes the file when fsync fails and reports the mapped error', async () => {
    const badSync: PosixFs = {
      ...nodePosixFs,
      fsync: async () => {
        throw Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' });
      },
    };
    const err = await caught(backend(badSync).createExclusive('s1', chunks('data')));
    expect(err.code).toBe('EIO');
    expect(await exists('s1')).toBe(false);
  });

  it('fsyncs the file before closing it', async () => {
    const calls: string[] = [];
    const recording: PosixFs = {
      ...nodePosixFs,
      fsync: async (fd) => {
        calls.push('fsync');
        return nodePosixFs.fsync(fd);
      },
      close: async (fd) => {
        calls.push('close');
        return nodePosixFs.close(fd);
      },
    };
    await backend(recording).createExclusive('s1', chunks('data'));
    expect(calls).toEqual(['fsync', 'close']);
  });

  it('abandons a stalled source on abort, removes the file and throws EABORTED', async () => {
    const controller = new AbortController();
    async function* stalled() {
      yield Buffer.from('some');
      controller.abort();
      await new Promise(() => undefined);
    }
    const err = await caught(backend().createExclusive('s1', stalled(), { signal: controller.signal }));
    expect(err.code).toBe('EABORTED');
    expect(await exists('s1')).toBe(false);
  });

  it('does not create anything when already aborted', async () => {
    const err = await caught(backend().createExclusive('s1', chunks('x'), { signal: AbortSignal.abort() }));
    expect(err.code).toBe('EABORTED');
    expect(await exists('s1')).toBe(false);
  });

  it('reports ENOENT when the spool directory is missing', async () => {
    await fsp.rmdir(root);
    expect((await caught(backend().createExclusive('s1', chunks('x')))).code).toBe('ENOENT');
  });

  it.each(['../escape', 'a/b', '.', '..', ''])('refuses the non-plain name %j with EUSAGE', async (name) => {
    expect((await caught(backend().createExclusive(name, chunks('x')))).code).toBe('EUSAGE');
  });
});

describe('PosixBackend.publish', () => {
  it('gives the file its new name and removes the old one', async () => {
    await fsp.writeFile(join(root, 'w1.tx'), 'msg');
    await backend().publish('w1.tx', 'd1');
    expect(await fsp.readFile(join(root, 'd1'), 'utf8')).toBe('msg');
    expect(await exists('w1.tx')).toBe(false);
  });

  it('completes a publish interrupted between link and unlink (both names on one inode)', async () => {
    await fsp.writeFile(join(root, 'w1.tx'), 'msg');
    await fsp.link(join(root, 'w1.tx'), join(root, 'd1'));
    await backend().publish('w1.tx', 'd1');
    expect(await fsp.readFile(join(root, 'd1'), 'utf8')).toBe('msg');
    expect(await exists('w1.tx')).toBe(false);
  });

  it('refuses to overwrite another file with EEXIST and changes nothing', async () => {
    await fsp.writeFile(join(root, 'w1.tx'), 'new');
    await fsp.writeFile(join(root, 'd1'), 'old');
    const err = await caught(backend().publish('w1.tx', 'd1'));
    expect(err.code).toBe('EEXIST');
    expect(err.file).toBe('d1');
    expect(await fsp.readFile(join(root, 'd1'), 'utf8')).toBe('old');
    expect(await fsp.readFile(join(root, 'w1.tx'), 'utf8')).toBe('new');
  });

  it('refuses to replace a symlink target that points at the source', async () => {
    await fsp.writeFile(join(root, 'w1.tx'), 'new');
    await fsp.symlink(join(root, 'w1.tx'), join(root, 'd1'));
    expect((await caught(backend().publish('w1.tx', 'd1'))).code).toBe('EEXIST');
    expect(await exists('w1.tx')).toBe(true);
  });

  it('reports ENOENT for a missing source', async () => {
    const err = await caught(backend().publish('w1.tx', 'd1'));
    expect(err.code).toBe('ENOENT');
    expect(err.file).toBe('w1.tx');
    expect(await exists('d1')).toBe(false);
  });

  it.each([
    ['directory', (p: string) => fsp.mkdir(p)],
    ['symlink', (p: string) => fsp.writeFile(`${p}.real`, 'x').then(() => fsp.symlink(`${p}.real`, p))],
  ])('refuses to publish a %s with EBADENTRY', async (_kind, make) => {
    await make(join(root, 'w1.tx'));
    expect((await caught(backend().publish('w1.tx', 'd1'))).code).toBe('EBADENTRY');
    expect(await exists('d1')).toBe(false);
  });

  it('lets exactly one of two sources win the same target', async () => {
    await fsp.writeFile(join(root, 'w1.a'), 'a');
    await fsp.writeFile(join(root, 'w1.b'), 'b');
    const b = backend();
    const results = await Promise.allSettled([b.publish('w1.a', 'd1'), b.publish('w1.b', 'd1')]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const loser = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(loser.reason.code).toBe('EEXIST');
  });

  it('publishes by rename in rename mode and still refuses an existing target', async () => {
    const b = backend(nodePosixFs, { publishMode: 'rename' });
    // No hard links in rename mode: the contract says so by having no link().
    expect(b.link).toBeUndefined();
    await fsp.writeFile(join(root, 'w1.tx'), 'msg');
    await b.publish('w1.tx', 'd1');
    expect(await fsp.readFile(join(root, 'd1'), 'utf8')).toBe('msg');
    await fsp.writeFile(join(root, 'w2.tx'), 'other');
    expect((await caught(b.publish('w2.tx', 'd1'))).code).toBe('EEXIST');
    expect(await fsp.readFile(join(root, 'd1'), 'utf8')).toBe('msg');
  });
});

describe('PosixBackend.remove', () => {
  it('resolves true when it removed the name and false when there was none', async () => {
    await fsp.writeFile(join(root, 't1'), 'x');
    const b = backend();
    expect(await b.remove('t1')).toBe(true);
    expect(await b.remove('t1')).toBe(false);
  });

  it('refuses a directory with EBADENTRY', async () => {
    await fsp.mkdir(join(root, 'd1'));
    expect((await caught(backend().remove('d1'))).code).toBe('EBADENTRY');
    expect(await exists('d1')).toBe(true);
  });

  it('removes a symlink itself, never its target', async () => {
    await fsp.writeFile(join(dir, 'target'), 'keep');
    await fsp.symlink(join(dir, 'target'), join(root, 'd1'));
    expect(await backend().remove('d1')).toBe(true);
    expect(await fsp.readFile(join(dir, 'target'), 'utf8')).toBe('keep');
  });
});

describe('PosixBackend.list and stat', () => {
  it('lists every entry with its kind, never following links', async () => {
    await fsp.writeFile(join(root, 's1'), 'x');
    await fsp.mkdir(join(root, 'sub'));
    await fsp.symlink(join(root, 'sub'), join(root, 'link'));
    await fsp.writeFile(join(root, '.nfs000123'), 'x');
    execFileSync('mkfifo', [join(root, 'fifo')]);
    const entries = [];
    for await (const e of backend().list()) entries.push(e);
    expect(entries.sort((a, b) => a.name.localeCompare(b.name))).toEqual([
      { name: '.nfs000123', kind: 'file' },
      { name: 'fifo', kind: 'other' },
      { name: 'link', kind: 'symlink' },
      { name: 's1', kind: 'file' },
      { name: 'sub', kind: 'directory' },
    ]);
  });

  it('can stop a listing early', async () => {
    for (let i = 0; i < 50; i++) await fsp.writeFile(join(root, `s${i}`), '');
    let seen = 0;
    for await (const _ of backend().list()) if (++seen === 3) break;
    expect(seen).toBe(3);
  });

  it('throws ENOENT when listing a missing spool', async () => {
    await fsp.rmdir(root);
    const err = await caught(
      (async () => {
        for await (const _ of backend().list());
      })(),
    );
    expect(err.code).toBe('ENOENT');
  });

  it('gives two names of one file the same fileId and nlink 2', async () => {
    await fsp.writeFile(join(root, 'w1.tx'), 'abc');
    await fsp.link(join(root, 'w1.tx'), join(root, 'd1'));
    const b = backend();
    const [a, c] = [await b.stat('w1.tx'), await b.stat('d1')];
    expect(a).toMatchObject({ kind: 'file', size: 3, nlink: 2 });
    expect(a?.fileId).toBe(c?.fileId);
    expect(a?.mtimeMs).toBeGreaterThan(0);
  });

  it('describes a symlink as a symlink and a missing name as undefined', async () => {
    await fsp.symlink('/etc/hostname', join(root, 'l'));
    expect((await backend().stat('l'))?.kind).toBe('symlink');
    expect(await backend().stat('missing')).toBeUndefined();
  });
});

describe('PosixBackend.read', () => {
  it('streams a file in chunks of READ_CHUNK_BYTES', async () => {
    const data = Buffer.alloc(READ_CHUNK_BYTES * 2 + 10, 7);
    await fsp.writeFile(join(root, 'd1'), data);
    const sizes: number[] = [];
    const parts: Uint8Array[] = [];
    for await (const chunk of backend().read('d1')) {
      sizes.push(chunk.byteLength);
      parts.push(chunk);
    }
    expect(sizes).toEqual([READ_CHUNK_BYTES, READ_CHUNK_BYTES, 10]);
    expect(Buffer.concat(parts).equals(data)).toBe(true);
  });

  it('reads a small file with one read: asked one byte more than its size, the short answer is its end', async () => {
    await fsp.writeFile(join(root, 'd1'), Buffer.alloc(4096, 3));
    const asked: number[] = [];
    const counting: PosixFs = {
      ...nodePosixFs,
      read: (fd, buffer, offset, length, position) => {
        asked.push(length);
        return nodePosixFs.read(fd, buffer, offset, length, position);
      },
    };
    expect((await readAll(backend(counting).read('d1'))).byteLength).toBe(4096);
    expect(asked).toEqual([4097]);
  });

  it('reads on past the size seen at open when the file grew meanwhile', async () => {
    await fsp.writeFile(join(root, 'd1'), Buffer.alloc(100, 1));
    let grown = false;
    const growing: PosixFs = {
      ...nodePosixFs,
      read: async (fd, buffer, offset, length, position) => {
        if (!grown) {
          grown = true;
          await fsp.appendFile(join(root, 'd1'), Buffer.alloc(READ_CHUNK_BYTES + 5, 2));
        }
        return nodePosixFs.read(fd, buffer, offset, length, position);
      },
    };
    const content = await readAll(backend(growing).read('d1'));
    expect(content.equals(await fsp.readFile(join(root, 'd1')))).toBe(true);
    expect(content.byteLength).toBe(100 + READ_CHUNK_BYTES + 5);
  });

  it('throws ENOENT for a missing file', async () => {
    expect((await caught(readAll(backend().read('d1')))).code).toBe('ENOENT');
  });

  it('refuses a symlink, a directory and a FIFO with EBADENTRY, without blocking on the FIFO', async () => {
    await fsp.writeFile(join(root, 'real'), 'x');
    await fsp.symlink(join(root, 'real'), join(root, 'link'));
    await fsp.mkdir(join(root, 'dir'));
    execFileSync('mkfifo', [join(root, 'fifo')]);
    for (const name of ['link', 'dir', 'fifo']) {
      expect((await caught(readAll(backend().read(name)))).code).toBe('EBADENTRY');
    }
  });

  it('closes the file when the reader stops early', async () => {
    await fsp.writeFile(join(root, 'd1'), Buffer.alloc(READ_CHUNK_BYTES * 3));
    const open = new Set<number>();
    const tracking: PosixFs = {
      ...nodePosixFs,
      open: async (p, f, m) => {
        const fd = await nodePosixFs.open(p, f, m);
        open.add(fd);
        return fd;
      },
      close: async (fd) => {
        open.delete(fd);
        return nodePosixFs.close(fd);
      },
    };
    for await (const _ of backend(tracking).read('d1')) break;
    expect(open.size).toBe(0);
  });
});

describe('PosixBackend directories', () => {
  function syncRecorder() {
    const paths = new Map<number, string>();
    const synced: string[] = [];
    const fs: PosixFs = {
      ...nodePosixFs,
      open: async (p, f, m) => {
        const fd = await nodePosixFs.open(p, f, m);
        paths.set(fd, p);
        return fd;
      },
      fsync: async (fd) => {
        synced.push(paths.get(fd) ?? '?');
        return nodePosixFs.fsync(fd);
      },
    };
    return { fs, synced };
  }

  it('syncDir fsyncs the spool directory itself', async () => {
    const { fs, synced } = syncRecorder();
    await backend(fs).syncDir();
    expect(synced).toEqual([root]);
  });

  it('ensureContainer creates missing parents and fsyncs the parent of each new directory', async () => {
    const { fs, synced } = syncRecorder();
    const deep = join(dir, 'a', 'b', 'spool');
    await new PosixBackend({ root: deep, fs }).ensureContainer();
    expect((await fsp.stat(deep)).isDirectory()).toBe(true);
    expect(new Set(synced)).toEqual(new Set([deep, join(dir, 'a', 'b'), join(dir, 'a'), dir]));
  });

  it('ensureContainer is idempotent', async () => {
    await backend().ensureContainer();
    await backend().ensureContainer();
    expect((await fsp.stat(root)).isDirectory()).toBe(true);
  });

  it('ensureContainer refuses a location that is a file with EBADENTRY', async () => {
    await fsp.writeFile(join(dir, 'file'), 'x');
    const err = await caught(new PosixBackend({ root: join(dir, 'file') }).ensureContainer());
    expect(err.code).toBe('EBADENTRY');
    const under = await caught(new PosixBackend({ root: join(dir, 'file', 'sub') }).ensureContainer());
    expect(under.code).toBe('EBADENTRY');
  });

  it('refuses a relative root with EUSAGE', () => {
    expect(() => new PosixBackend({ root: 'relative/spool' })).toThrow(expect.objectContaining({ code: 'EUSAGE' }));
  });

  it('has hard links in link mode: link() is there', () => {
    expect(typeof backend().link).toBe('function');
  });
});
