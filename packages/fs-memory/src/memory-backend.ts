/**
 * `MemoryBackend`: a spool in a memfs volume, run by the very code of
 * `PosixBackend` over {@link memfsPosixFs}, so that what passes here passes for
 * the same reasons on a disk.
 */
import { PosixBackend } from '@fanout/fs-posix';
import type { Volume } from 'memfs';
import { memfsPosixFs } from './memfs-posix-fs.js';

/** Options of {@link MemoryBackend}. */
export interface MemoryBackendOptions {
  /** The volume holding the spool; share one volume between a source and its destinations. */
  readonly volume: Volume;
  /** Absolute path of the spool directory inside the volume. */
  readonly root: string;
  /** What errors and markers call this spool; default `memory://` + root. */
  readonly location?: string;
}

/**
 * A spool directory in a memfs volume; see the package README. Memory has no
 * crash to survive short of the process dying, which takes the volume with it,
 * so `syncDir` guarantees nothing beyond what every call already did. Publish
 * is link + unlink, as on disk.
 */
export class MemoryBackend extends PosixBackend {
  /** The volume this spool lives in. */
  readonly volume: Volume;

  constructor(options: MemoryBackendOptions) {
    super({
      root: options.root,
      fs: memfsPosixFs(options.volume),
      location: options.location ?? `memory://${options.root.replace(/^\/+/, '')}`,
      publishMode: 'link',
    });
    this.volume = options.volume;
  }

  /** The absolute path of the spool directory in {@link MemoryBackend.volume}. */
  get directory(): string {
    return this.root;
  }
}
