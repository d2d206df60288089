/**
 * Canonical views of a filesystem state: a sorted listing (for assertions and
 * invariant checks) and a one-string key (for counting distinct crash states).
 * Inode numbers are replaced by small ids given in traversal order, and only
 * to files with several names, so two states that differ only in inode
 * numbering get the same key while hard links stay visible.
 */
import { type FsState, type InodeKind, ROOT_INO } from './fs-state.js';

/** One entry of a {@link treeListing}. */
export interface TreeEntry {
  /** Absolute path. */
  readonly path: string;
  readonly kind: InodeKind;
  /** Inode number in this simulator lineage (hard links share it). */
  readonly ino: number;
  /** Names the inode has in this state (directories: 2). */
  readonly nlink: number;
  /** File size in bytes (0 for anything else). */
  readonly size: number;
  /** File contents (shared, do not mutate); empty for anything else. */
  readonly data: Uint8Array;
  /** Symlink target; empty for anything else. */
  readonly target: string;
}

/** Every path reachable from `/` (except `/` itself), sorted. */
export function treeListing(state: FsState): TreeEntry[] {
  const out: TreeEntry[] = [];
  const walk = (dir: number, prefix: string): void => {
    const entries = state.entries(dir);
    if (entries === undefined) return;
    for (const name of [...entries.keys()].sort()) {
      const ino = entries.get(name) as number;
      const kind = state.kinds.get(ino) ?? 'file';
      const data = kind === 'file' ? state.bytes(ino) : new Uint8Array(0);
      const path = `${prefix}/${name}`;
      out.push({
        path,
        kind,
        ino,
        nlink: kind === 'dir' ? 2 : (state.nlink.get(ino) ?? 1),
        size: data.byteLength,
        data,
        target: kind === 'symlink' ? (state.targets.get(ino) ?? '') : '',
      });
      if (kind === 'dir') walk(ino, path);
    }
  };
  walk(ROOT_INO, '');
  return out;
}

/**
 * The canonical key of a state: one line per path with kind, size and content
 * hash; files with several names carry a shared `#n`.
 */
export function canonicalKey(state: FsState): string {
  const listing = treeListing(state);
  const ids = new Map<number, number>();
  const lines: string[] = [];
  for (const e of listing) {
    let line = `${e.path} ${e.kind}`;
    if (e.kind === 'file') {
      if (e.nlink > 1) {
        let id = ids.get(e.ino);
        if (id === undefined) ids.set(e.ino, (id = ids.size + 1));
        line += ` #${id}`;
      }
      line += ` ${e.size} ${contentHash(e.data)}`;
    } else if (e.kind === 'symlink') {
      line += ` -> ${e.target}`;
    }
    lines.push(line);
  }
  return lines.join('\n');
}

/** Hashes of contents already seen; contents are immutable and shared between states. */
const hashes = new WeakMap<Uint8Array, string>();

/** A 64-bit (two independent 32-bit FNV-style) hex hash of some bytes. */
export function contentHash(bytes: Uint8Array): string {
  let h = hashes.get(bytes);
  if (h === undefined) hashes.set(bytes, (h = hashBytes(bytes)));
  return h;
}

function hashBytes(bytes: Uint8Array): string {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ bytes.byteLength;
  for (let i = 0; i < bytes.byteLength; i++) {
    const x = bytes[i] as number;
    a = Math.imul(a ^ x, 0x01000193);
    b = Math.imul(b ^ x, 0x5bd1e995) ^ (b >>> 15);
  }
  return (a >>> 0).toString(16).padStart(8, '0') + (b >>> 0).toString(16).padStart(8, '0');
}
