/**
 * A conformance harness for backends over a directory tree of the local
 * machine (or a mounted one): `@fanout/fs-posix`, and `@fanout/fs-nfs` on a
 * local directory or an NFS mount. Hand it to `defineBackendConformance` from
 * `@fanout/core/testing`.
 */
import { execFileSync } from 'node:child_process';
import * as fsp from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SpoolBackend } from '@fanout/core';
import type { ConformanceHarness } from '@fanout/core/testing';
import type { PosixBackend } from '../posix-backend.js';

/** Options of {@link posixConformanceHarness}. */
export interface PosixConformanceHarnessOptions {
  /** The directory under which each backend gets a fresh temporary directory; default `os.tmpdir()`. */
  readonly base?: string;
  /** Name prefix of those temporary directories; default `fanout-posix-conf-`. */
  readonly prefix?: string;
  /** Size of the suite's big streaming check; the suite's default (100 MiB) when absent. */
  readonly bigFileBytes?: number;
}

/**
 * A harness that makes each backend over `<fresh temp dir>/spool` (calling
 * `makeBackend` with that path, then `ensureContainer()`), plants symlinks
 * (to a file beside the spool), directories and FIFOs (`mkfifo`) with
 * `node:fs`, removes the spool directory behind the backend's back, and on
 * `destroy` closes the backend and deletes its temp directory.
 */
export function posixConformanceHarness(
  makeBackend: (root: string) => PosixBackend,
  options: PosixConformanceHarnessOptions = {},
): ConformanceHarness {
  const base = options.base ?? tmpdir();
  const prefix = options.prefix ?? 'fanout-posix-conf-';
  /** The temp directory holding each backend's spool (and the targets of planted symlinks). */
  const homes = new Map<SpoolBackend, string>();
  const home = (backend: SpoolBackend): string => {
    const dir = homes.get(backend);
    if (dir === undefined) throw new Error('backend not made by this harness');
    return dir;
  };
  return {
    ...(options.bigFileBytes === undefined ? {} : { bigFileBytes: options.bigFileBytes }),
    async create() {
      const dir = await fsp.mkdtemp(join(base, prefix));
      const backend = makeBackend(join(dir, 'spool'));
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
