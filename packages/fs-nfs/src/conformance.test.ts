import { execFileSync } from 'node:child_process';
import * as fsp from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe } from 'vitest';
import type { SpoolBackend } from '@fanout/core';
import { defineBackendConformance, type ConformanceHarness } from '@fanout/core/testing';
import { NfsBackend } from './nfs-backend.js';

/** A harness making each spool in a fresh directory under `base`. */
function harnessUnder(base: string, bigFileBytes?: number): ConformanceHarness {
  const homes = new Map<SpoolBackend, string>();
  const home = (backend: SpoolBackend) => {
    const dir = homes.get(backend);
    if (dir === undefined) throw new Error('backend not made by this harness');
    return dir;
  };
  return {
    bigFileBytes,
    async create() {
      const dir = await fsp.mkdtemp(join(base, 'fanout-nfs-conf-'));
      const backend = new NfsBackend({ root: join(dir, 'spool') });
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
  };
}

defineBackendConformance('fs-nfs on a local directory', harnessUnder(tmpdir()));

const nfsDir = process.env.FANOUT_NFS_DIR;
console.log(
  nfsDir
    ? `fs-nfs: running the conformance suite on the NFS directory FANOUT_NFS_DIR=${nfsDir}`
    : 'fs-nfs: conformance suite NOT run on a real NFS mount: set FANOUT_NFS_DIR to a directory on a mounted NFS export to run it',
);
describe.runIf(nfsDir !== undefined && nfsDir !== '')('on a real NFS mount (FANOUT_NFS_DIR)', () => {
  // A smaller big-file check: the point on NFS is the protocol, not the bandwidth.
  defineBackendConformance(`fs-nfs on ${nfsDir}`, harnessUnder(nfsDir ?? '', 16 * 1024 * 1024));
});
