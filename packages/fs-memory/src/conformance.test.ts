import type { SpoolBackend } from '@fanout/core';
import { defineBackendConformance } from '@fanout/core/testing';
import { MemoryBackend } from './memory-backend.js';
import { createMemorySpools } from './memory-spools.js';

/** memfs's mode bits for a FIFO: memfs cannot mkfifo, but an inode of that type is what `lstat` reports. */
const S_IFMT = 0o170000;
const S_IFIFO = 0o010000;

let made = 0;

function memory(backend: SpoolBackend): MemoryBackend {
  if (!(backend instanceof MemoryBackend)) throw new Error('backend not made by this harness');
  return backend;
}

defineBackendConformance('fs-memory', {
  async create() {
    // A volume per backend: destroying it frees the big check's 100 MiB.
    const backend = createMemorySpools().open(`memory://conformance/spool-${++made}`);
    await backend.ensureContainer();
    return backend;
  },
  async destroy(backend) {
    await backend.close();
  },
  async plant(backend, name, kind) {
    const { volume, directory } = memory(backend);
    const path = `${directory}/${name}`;
    if (kind === 'symlink') {
      const target = `/targets/target-of-${name}`;
      volume.mkdirSync('/targets', { recursive: true });
      volume.writeFileSync(target, 'symlink target');
      volume.symlinkSync(target, path);
    } else if (kind === 'directory') {
      volume.mkdirSync(path);
    } else {
      volume.writeFileSync(path, '');
      const node = volume._core.getLinkOrThrow(path).getNode();
      node.mode = (node.mode & ~S_IFMT) | S_IFIFO;
    }
    return true;
  },
  async removeContainer(backend) {
    const { volume, directory } = memory(backend);
    volume.rmSync(directory, { recursive: true, force: true });
  },
  // memfs grows a file's buffer by doubling: up to twice the content is alive.
  storageMemoryFactor: 2,
});
