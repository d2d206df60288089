/**
 * The default file API over fs-extra (graceful-fs): opens and listings wait
 * for a free descriptor instead of failing with EMFILE, and every other call
 * is Node's own, made once, so the backend's fsync/link/rename order is the
 * order it asks for.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { nodePosixFs, opendirWhenDescriptorFree } from './node-posix-fs.js';
import { PosixBackend } from './posix-backend.js';

/** The graceful-fs that fs-extra (and so this package) runs on. */
const gracefulFs = createRequire(createRequire(import.meta.url).resolve('fs-extra'))('graceful-fs') as typeof fs;

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fanout-node-fs-'));
});
afterEach(async () => rm(dir, { recursive: true, force: true }));

describe('the calls that order durability', () => {
  it("are Node's own functions: graceful-fs queues opens only, never a write, fsync, link, unlink or rename", () => {
    for (const name of ['write', 'fsync', 'link', 'unlink', 'rename', 'mkdir', 'opendir'] as const) {
      expect(gracefulFs[name], name).toBe(fs[name]);
    }
    // open is the call it wraps (to queue it on EMFILE/ENFILE); read it repeats on EAGAIN, which a regular file never
    // gives.
    expect(gracefulFs.open).not.toBe(fs.open);
  });

  it("leave node:fs's open to other packages as it was (it fails with EMFILE: see below), not graceful-fs's", () => {
    // Importing this package must not make every other package's opens wait (TEST_GRACEFUL_FS_GLOBAL_PATCH would).
    expect(fs.open.name).toBe('open');
    expect((fs as unknown as { gracefulify?: unknown }).gracefulify).toBeUndefined();
    expect(fs.open).not.toBe(gracefulFs.open);
  });
});

/** The soft RLIMIT_NOFILE of this process, set with util-linux's prlimit (CI installs it). */
function setSoftNofile(soft: number | string): void {
  execFileSync('prlimit', [`--pid=${process.pid}`, `--nofile=${soft}:`]);
}
function softNofile(): string {
  return execFileSync('prlimit', [`--pid=${process.pid}`, '--nofile', '--output=SOFT', '--noheadings'], {
    encoding: 'utf8',
  }).trim();
}

/**
 * Run `body` with the process out of descriptors: the soft limit lowered just
 * above what is open, then filled with descriptors of /dev/null; `free()`
 * closes one of them (through node:fs, as any other package would).
 */
async function withNoDescriptorLeft(body: (free: () => void) => Promise<void>): Promise<void> {
  const before = softNofile();
  const held: number[] = [];
  try {
    setSoftNofile(fs.readdirSync('/proc/self/fd').length + 16);
    for (;;) {
      try {
        held.push(fs.openSync('/dev/null', 'r'));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EMFILE') throw err;
        break;
      }
    }
    await body(() => fs.closeSync(held.pop()!));
  } finally {
    for (const fd of held) fs.closeSync(fd);
    setSoftNofile(before);
  }
}

async function settlesWithin<T>(p: Promise<T>, ms: number): Promise<boolean> {
  let settled = false;
  p.then(
    () => (settled = true),
    () => (settled = true),
  );
  await sleep(ms);
  return settled;
}

describe.runIf(process.platform === 'linux')('out of file descriptors (ulimit -n reached)', () => {
  it('an open waits for a descriptor to be closed instead of failing with EMFILE', async () => {
    const file = join(dir, 'sM1');
    await writeFile(file, 'hello');
    await withNoDescriptorLeft(async (free) => {
      // The limit is real: node:fs's own open fails at once.
      await expect(fs.promises.open(file, 'r')).rejects.toMatchObject({ code: 'EMFILE' });
      const opening = nodePosixFs.open(file, nodePosixFs.constants.O_RDONLY);
      expect(await settlesWithin(opening, 150)).toBe(false);
      free();
      const fd = await opening;
      await nodePosixFs.close(fd);
    });
  });

  it('a listing waits for a descriptor too, and gives EMFILE only once its wait is over', async () => {
    await withNoDescriptorLeft(async (free) => {
      await expect(opendirWhenDescriptorFree(dir, 50)).rejects.toMatchObject({ code: 'EMFILE' });
      const opening = nodePosixFs.opendir(dir);
      expect(await settlesWithin(opening, 150)).toBe(false);
      free();
      await (await opening).close();
    });
  });

  it('a backend copy started with no descriptor left completes once one is freed, synced and complete', async () => {
    const backend = new PosixBackend({ root: dir });
    await withNoDescriptorLeft(async (free) => {
      const creating = backend.createExclusive('wM1.TX1', new TextEncoder().encode('copy'));
      expect(await settlesWithin(creating, 150)).toBe(false);
      free();
      expect(await creating).toBe(4);
    });
    expect(fs.readFileSync(join(dir, 'wM1.TX1'), 'utf8')).toBe('copy');
  });
});
