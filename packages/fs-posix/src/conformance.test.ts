import { execFileSync } from 'node:child_process';
import * as fsp from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SpoolBackend } from '@fanout/core';
import { defineBackendConformance } from '@fanout/core/testing';
import { PosixBackend } from './posix-backend.js';

/** The temp directory holding each backend's spool (and the targets of planted symlinks). */
const homes = new Map<SpoolBackend, string>();

function home(backend: SpoolBackend): string {
  const dir = homes.get(backend);
  if (dir === undefined) throw new Error('backend not made by this harness');
  return dir;
}

// Only the default link mode: rename mode checks-then-renames, and the suite's concurrent-publish
// check rightly catches that documented race (see PosixBackendOptions.publishMode).
for (const publishMode of ['link'] as const) {
  defineBackendConformance(`fs-posix (publish by ${publishMode})`, {
    async create() {
      const dir = await fsp.mkdtemp(join(tmpdir(), 'fanout-posix-conf-'));
      const backend = new PosixBackend({ root: join(dir, 'spool'), publishMode });
      await backend.ensureContainer();
      homes.set(backend, dir);
      return backend;
    },
    async destroy(backend) {
      await backend.close();
      await fsp.rm(home(backend), { recursive: true, force: true });
      homes.delete(backend);
    },
    async plant(backend, name, kind) {
      const path = join(home(backend), 'spool', name);
      if (kind === 'symlink') {
        const target = join(home(backend), `target-of-${name}`);
        await fsp.writeFile(target, 'symlink target');
        await fsp.symlink(target, path);
      } else if (kind === 'directory') {
        await fsp.mkdir(path);
      } else {
        execFileSync('mkfifo', [path]);
      }
      return true;
    },
    async removeContainer(backend) {
      await fsp.rm(join(home(backend), 'spool'), { recursive: true, force: true });
    },
  });
}
