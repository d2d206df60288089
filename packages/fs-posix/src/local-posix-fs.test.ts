/**
 * The default file API of local spools: the same calls as nodePosixFs, with
 * the same results and errors, but made on the calling thread (no thread-pool
 * round trip) except fsync; on tmpfs fsync too.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LISTING_ENTRIES_PER_TURN, localPosixFs, memoryBackedPosixFs, onMemoryFilesystem } from './local-posix-fs.js';
import { nodePosixFs } from './node-posix-fs.js';
import { openPosixSpool } from './open-posix-spool.js';
import type { PosixFs } from './posix-fs.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fanout-local-fs-'));
});
afterEach(async () => rm(dir, { recursive: true, force: true }));

/**
 * Whether `call` settles within two microtask turns, i.e. without waiting for the event loop (and so for a pool
 * thread).
 */
async function settlesInline(call: () => Promise<unknown>): Promise<boolean> {
  let settled = false;
  call().then(
    () => (settled = true),
    () => (settled = true),
  );
  for (let i = 0; i < 3; i++) await Promise.resolve();
  return settled;
}

/** One message's worth of calls, the way the backend makes them; what each gave, errors by code. */
async function script(api: PosixFs, at: string): Promise<unknown[]> {
  const c = api.constants;
  const out: unknown[] = [];
  const shown = (v: unknown) => {
    if (typeof v !== 'object' || v === null || !('size' in v)) return v;
    const st = v as unknown as { size: number; isFile(): boolean };
    return { size: st.size, file: st.isFile() };
  };
  const note = async (p: Promise<unknown>) =>
    out.push(await p.then(shown, (e: { code?: string }) => `error ${e.code}`));
  await note(api.mkdir(`${at}/spool`, { recursive: true }));
  const fd = await api.open(`${at}/spool/w1`, c.O_WRONLY | c.O_CREAT | c.O_EXCL, 0o644);
  await note(api.write(fd, new TextEncoder().encode('hello'), 0, 5, 0));
  await note(api.fsync(fd));
  await note(api.fstat(fd));
  await note(api.close(fd));
  await note(api.open(`${at}/spool/w1`, c.O_WRONLY | c.O_CREAT | c.O_EXCL, 0o644));
  await note(api.lstat(`${at}/spool/w1`));
  await note(api.lstat(`${at}/spool/missing`));
  await note(api.link(`${at}/spool/w1`, `${at}/spool/d1`));
  await note(api.link(`${at}/spool/w1`, `${at}/spool/d1`));
  await note(api.rename(`${at}/spool/w1`, `${at}/spool/k1`));
  await note(api.rename(`${at}/spool/w1`, `${at}/spool/k2`));
  const rd = await api.open(`${at}/spool/k1`, c.O_RDONLY);
  const buffer = new Uint8Array(8);
  await note(api.read(rd, buffer, 0, 8, 0));
  await note(api.close(rd));
  await note(api.unlink(`${at}/spool/k1`));
  await note(api.unlink(`${at}/spool/k1`));
  await note(api.close(rd));
  return out;
}

describe('localPosixFs', () => {
  it('gives what nodePosixFs gives, call for call, errors included', async () => {
    const viaPool = await script(nodePosixFs, join(dir, 'pool'));
    const inline = await script(localPosixFs, join(dir, 'inline'));
    expect(inline).toEqual(viaPool);
    expect(inline).toContain('error EEXIST');
    expect(inline).toContain('error ENOENT');
    expect(inline).toContain('error EBADF');
  });

  it('makes metadata calls and small reads and writes without a thread-pool round trip (nodePosixFs does not)', async () => {
    const file = join(dir, 'f');
    await writeFile(file, 'x');
    for (const call of [
      () => localPosixFs.lstat(file),
      () => localPosixFs.link(file, join(dir, 'g')),
      () => localPosixFs.rename(join(dir, 'g'), join(dir, 'h')),
      () => localPosixFs.unlink(join(dir, 'h')),
    ]) {
      expect(await settlesInline(call)).toBe(true);
    }
    expect(await settlesInline(() => nodePosixFs.lstat(file))).toBe(false);
    const fd = await localPosixFs.open(file, fs.constants.O_RDWR);
    expect(await settlesInline(() => localPosixFs.write(fd, new Uint8Array(4096), 0, 4096, 0))).toBe(true);
    await localPosixFs.close(fd);
  });

  it('leaves fsync and big writes to the thread pool (they wait for the disk), except on tmpfs', async () => {
    const fd = await localPosixFs.open(join(dir, 'f'), fs.constants.O_WRONLY | fs.constants.O_CREAT);
    expect(await settlesInline(() => localPosixFs.fsync(fd))).toBe(false);
    await sleep(20);
    expect(await settlesInline(() => memoryBackedPosixFs.fsync(fd))).toBe(true);
    const big = new Uint8Array(1 << 20);
    expect(await settlesInline(() => localPosixFs.write(fd, big, 0, big.byteLength, 0))).toBe(false);
    expect(await settlesInline(() => memoryBackedPosixFs.write(fd, big, 0, big.byteLength, 0))).toBe(true);
    await localPosixFs.close(fd);
  });

  it('lists a directory on the calling thread, each entry once, giving the event loop a turn now and then', async () => {
    const count = LISTING_ENTRIES_PER_TURN + 904;
    for (let i = 0; i < count; i++) fs.writeFileSync(join(dir, `s${i}`), '');
    const opening = localPosixFs.opendir(dir);
    expect(await settlesInline(() => opening)).toBe(true);
    await (await opening).close();
    // A pool listing hands each batch to a pool thread: the event loop turns between batches.
    let turns = 0;
    const tick = (): void => {
      turns++;
      ticking = setImmediate(tick);
    };
    let ticking = setImmediate(tick);
    const names: string[] = [];
    const turnsAt: number[] = [];
    try {
      const listing = await localPosixFs.opendir(dir);
      for await (const entry of listing) {
        names.push(entry.name);
        turnsAt.push(turns);
      }
      await listing.close();
    } finally {
      clearImmediate(ticking);
    }
    expect(new Set(names).size).toBe(count);
    expect(names.length).toBe(count);
    // No turn for the first batches (inline), yet timers are not starved for a whole listing.
    expect(turnsAt[LISTING_ENTRIES_PER_TURN - 1]).toBe(turnsAt[0]);
    expect(turnsAt.at(-1)).toBeGreaterThan(turnsAt[0]!);
    const viaPool: number[] = [];
    turns = 0;
    ticking = setImmediate(tick);
    try {
      const listing = await nodePosixFs.opendir(dir);
      for await (const _ of listing) viaPool.push(turns);
      await listing.close();
    } finally {
      clearImmediate(ticking);
    }
    expect(viaPool[LISTING_ENTRIES_PER_TURN - 1]).toBeGreaterThan(viaPool[0]!);
  });

  it('a listing left early and closed frees its descriptor; a missing directory rejects as nodePosixFs does', async () => {
    for (let i = 0; i < 600; i++) fs.writeFileSync(join(dir, `s${i}`), '');
    const open = () => fs.readdirSync('/proc/self/fd').length;
    const before = open();
    const listing = await localPosixFs.opendir(dir);
    for await (const _ of listing) break;
    await listing.close();
    await listing.close();
    expect(open()).toBe(before);
    const missing = join(dir, 'missing');
    const inlineError = await localPosixFs.opendir(missing).catch((e: { code?: string }) => e.code);
    expect(inlineError).toBe('ENOENT');
    expect(await nodePosixFs.opendir(missing).catch((e: { code?: string }) => e.code)).toBe(inlineError);
  });

  it('lstatIfExists resolves undefined for a missing name and rejects other failures as lstat does', async () => {
    await writeFile(join(dir, 'f'), 'x');
    expect(await localPosixFs.lstatIfExists!(join(dir, 'missing'))).toBeUndefined();
    expect((await localPosixFs.lstatIfExists!(join(dir, 'f')))?.size).toBe(1);
    await expect(localPosixFs.lstatIfExists!(join(dir, 'f', 'below'))).rejects.toMatchObject({ code: 'ENOTDIR' });
  });
});

/** Filesystem type of the mount holding `path`, from /proc/self/mountinfo (longest mount point that prefixes it). */
function mountType(path: string): string {
  let best = { point: '', type: '' };
  for (const line of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const [left, right] = line.split(' - ');
    const point = left?.split(' ')[4];
    const type = right?.split(' ')[0];
    if (
      point &&
      type &&
      (path === point || path.startsWith(point === '/' ? '/' : `${point}/`)) &&
      point.length >= best.point.length
    )
      best = { point, type };
  }
  return best.type;
}

describe.runIf(process.platform === 'linux')('onMemoryFilesystem and openPosixSpool', () => {
  it('tells tmpfs from a disk, judging a path that does not exist yet by its nearest ancestor', async () => {
    for (const path of ['/dev/shm', dir, '/proc']) {
      expect(await onMemoryFilesystem(join(path, 'not', 'there', 'yet')), path).toBe(
        ['tmpfs', 'ramfs'].includes(mountType(path)),
      );
    }
    expect(await onMemoryFilesystem('/dev/shm')).toBe(mountType('/dev/shm') === 'tmpfs');
  });

  it('openPosixSpool makes fsyncs inline only on tmpfs or ramfs, and keeps an fs it is given', async () => {
    const fsOf = async (path: string, options = {}) =>
      ((await openPosixSpool(path, options)) as unknown as { fs: PosixFs }).fs;
    expect(await fsOf(join(dir, 'spool'))).toBe(
      ['tmpfs', 'ramfs'].includes(mountType(dir)) ? memoryBackedPosixFs : localPosixFs,
    );
    const shm = fs.mkdtempSync('/dev/shm/fanout-local-fs-');
    try {
      expect(await fsOf(join(shm, 'spool'))).toBe(mountType(shm) === 'tmpfs' ? memoryBackedPosixFs : localPosixFs);
      expect(await fsOf(join(shm, 'spool'), { fs: nodePosixFs })).toBe(nodePosixFs);
    } finally {
      fs.rmSync(shm, { recursive: true, force: true });
    }
  });
});

/** The soft RLIMIT_NOFILE of this process, set with util-linux's prlimit. */
function setSoftNofile(soft: number | string): void {
  execFileSync('prlimit', [`--pid=${process.pid}`, `--nofile=${soft}:`]);
}

describe.runIf(process.platform === 'linux')('out of file descriptors', () => {
  it("an inline open that meets EMFILE waits in graceful-fs's queue for a close, as nodePosixFs's does", async () => {
    const file = join(dir, 'sM1');
    await writeFile(file, 'hello');
    const before = execFileSync('prlimit', [`--pid=${process.pid}`, '--nofile', '--output=SOFT', '--noheadings'], {
      encoding: 'utf8',
    }).trim();
    const held: number[] = [];
    try {
      setSoftNofile(fs.readdirSync('/proc/self/fd').length + 16);
      for (;;) {
        try {
          held.push(fs.openSync('/dev/null', 'r'));
        } catch {
          break;
        }
      }
      let opened: number | undefined;
      const opening = localPosixFs.open(file, fs.constants.O_RDONLY).then((fd) => (opened = fd));
      await sleep(150);
      expect(opened).toBeUndefined();
      // A close through graceful-fs (localPosixFs's own) wakes the queue.
      await localPosixFs.close(held.pop()!);
      await opening;
      expect(opened).toBeTypeOf('number');
      await localPosixFs.close(opened!);
      // A listing at the limit waits for a free descriptor the same way.
      held.push(fs.openSync('/dev/null', 'r'));
      let listed: string[] | undefined;
      const listing = localPosixFs.opendir(dir).then(async (d) => {
        const names: string[] = [];
        for await (const entry of d) names.push(entry.name);
        await d.close();
        listed = names;
      });
      await sleep(150);
      expect(listed).toBeUndefined();
      await localPosixFs.close(held.pop()!);
      await listing;
      expect(listed).toEqual(['sM1']);
    } finally {
      for (const fd of held) fs.closeSync(fd);
      setSoftNofile(before);
    }
  });
});
