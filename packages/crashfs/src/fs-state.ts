/**
 * The simulator's own filesystem model: inodes (files, directories, symlinks,
 * FIFOs) and directories mapping names to inode numbers. One `FsState` is
 * either the live (volatile) view or one materialised crash state; crash
 * states are built by replaying chosen micro-operations onto a cheap copy of
 * a base state (maps are copied shallowly, directory maps copy-on-write, file
 * contents are immutable `Uint8Array`s shared between states).
 */

/** What an inode is. */
export type InodeKind = 'file' | 'dir' | 'symlink' | 'fifo';

/** The inode number of the root directory `/`. */
export const ROOT_INO = 1;

const EMPTY = new Uint8Array(0);

/**
 * Results of replaying a data micro-op onto given contents, so that the many
 * crash states built from one log share their file contents (and their
 * cached hashes) instead of copying them again for every state.
 */
const replayMemo = new WeakMap<
  MicroOp,
  { full: WeakMap<Uint8Array, Uint8Array>; zeros: WeakMap<Uint8Array, Uint8Array> }
>();

/**
 * A micro-operation: the unit in which effects persist. A system call becomes
 * one or more of these (a rename becomes up to three).
 */
export type MicroOp =
  /** Directory `dir` gains `name -> ino` (create, link, mkdir, rename's new name). */
  | {
      readonly t: 'entry-set';
      readonly dir: number;
      readonly name: string;
      readonly ino: number;
      readonly kind: InodeKind;
    }
  /** Directory `dir` loses `name` (which pointed at `ino`). */
  | { readonly t: 'entry-del'; readonly dir: number; readonly name: string; readonly ino: number }
  /** Bytes written into file `ino` at `offset`. */
  | { readonly t: 'write'; readonly ino: number; readonly offset: number; readonly bytes: Uint8Array }
  /** File `ino` cut (or extended with zeros) to `size`. */
  | { readonly t: 'truncate'; readonly ino: number; readonly size: number };

/** A mutable filesystem state; see the module comment. */
export class FsState {
  readonly kinds: Map<number, InodeKind>;
  readonly dirs: Map<number, Map<string, number>>;
  readonly data: Map<number, Uint8Array>;
  readonly targets: Map<number, string>;
  readonly nlink: Map<number, number>;
  readonly mtimes: Map<number, number>;
  /** Directory maps this state may mutate in place (the others are shared). */
  private readonly ownDirs = new Set<number>();

  constructor(from?: FsState) {
    if (from === undefined) {
      this.kinds = new Map([[ROOT_INO, 'dir']]);
      this.dirs = new Map([[ROOT_INO, new Map()]]);
      this.ownDirs.add(ROOT_INO);
      this.data = new Map();
      this.targets = new Map();
      this.nlink = new Map([[ROOT_INO, 2]]);
      this.mtimes = new Map();
    } else {
      this.kinds = new Map(from.kinds);
      this.dirs = new Map(from.dirs);
      this.data = new Map(from.data);
      this.targets = new Map(from.targets);
      this.nlink = new Map(from.nlink);
      this.mtimes = new Map(from.mtimes);
    }
  }

  /** A copy sharing all immutable parts with this state. */
  clone(): FsState {
    // Both sides now share the directory maps, so neither may mutate them in place.
    this.ownDirs.clear();
    return new FsState(this);
  }

  /** The entries of directory `ino` for reading (never mutate the result). */
  entries(ino: number): ReadonlyMap<string, number> | undefined {
    return this.dirs.get(ino);
  }

  /** The entries of directory `ino` for writing, copied first if shared. */
  private ownEntries(ino: number): Map<string, number> {
    let map = this.dirs.get(ino);
    if (map === undefined) {
      map = new Map();
      this.dirs.set(ino, map);
      this.ownDirs.add(ino);
    } else if (!this.ownDirs.has(ino)) {
      map = new Map(map);
      this.dirs.set(ino, map);
      this.ownDirs.add(ino);
    }
    return map;
  }

  /** Bring inode `ino` of `kind` into existence if this state has not seen it. */
  ensureInode(ino: number, kind: InodeKind): void {
    if (this.kinds.has(ino)) return;
    this.kinds.set(ino, kind);
    this.nlink.set(ino, 0);
    if (kind === 'dir') this.ownEntries(ino);
    else if (kind === 'file') this.data.set(ino, EMPTY);
  }

  /** File contents of `ino` (empty for a file never written). */
  bytes(ino: number): Uint8Array {
    return this.data.get(ino) ?? EMPTY;
  }

  /**
   * Apply one micro-operation. Replay is tolerant, so that any subset of a log
   * can be applied: a deletion only removes the entry if it still points at
   * the same inode; a set replaces whatever the name held.
   */
  apply(op: MicroOp, mtime: number, zeros = false, memo = false): void {
    if (memo && (op.t === 'write' || op.t === 'truncate')) {
      const old = this.bytes(op.ino);
      let byOp = replayMemo.get(op);
      if (byOp === undefined) replayMemo.set(op, (byOp = { full: new WeakMap(), zeros: new WeakMap() }));
      const table = zeros ? byOp.zeros : byOp.full;
      const known = table.get(old);
      if (known !== undefined) {
        this.ensureInode(op.ino, 'file');
        this.data.set(op.ino, known);
        this.mtimes.set(op.ino, mtime);
        return;
      }
      this.apply(op, mtime, zeros, false);
      table.set(old, this.bytes(op.ino));
      return;
    }
    switch (op.t) {
      case 'entry-set': {
        this.ensureInode(op.dir, 'dir');
        this.ensureInode(op.ino, op.kind);
        const entries = this.ownEntries(op.dir);
        const old = entries.get(op.name);
        if (old === op.ino) return;
        if (old !== undefined) this.nlink.set(old, (this.nlink.get(old) ?? 1) - 1);
        entries.set(op.name, op.ino);
        this.nlink.set(op.ino, (this.nlink.get(op.ino) ?? 0) + 1);
        this.mtimes.set(op.dir, mtime);
        return;
      }
      case 'entry-del': {
        const current = this.dirs.get(op.dir);
        if (current?.get(op.name) !== op.ino) return;
        this.ownEntries(op.dir).delete(op.name);
        this.nlink.set(op.ino, (this.nlink.get(op.ino) ?? 1) - 1);
        this.mtimes.set(op.dir, mtime);
        return;
      }
      case 'write': {
        this.ensureInode(op.ino, 'file');
        const old = this.bytes(op.ino);
        const end = op.offset + op.bytes.byteLength;
        const next = new Uint8Array(Math.max(old.byteLength, end));
        next.set(old);
        if (zeros) next.fill(0, op.offset, end);
        else next.set(op.bytes, op.offset);
        this.data.set(op.ino, next);
        this.mtimes.set(op.ino, mtime);
        return;
      }
      case 'truncate': {
        this.ensureInode(op.ino, 'file');
        const old = this.bytes(op.ino);
        const next = new Uint8Array(op.size);
        next.set(old.subarray(0, Math.min(op.size, old.byteLength)));
        this.data.set(op.ino, next);
        this.mtimes.set(op.ino, mtime);
        return;
      }
    }
  }

  /** Create a symlink or FIFO inode directly (setup helpers only). */
  addSpecial(dir: number, name: string, ino: number, kind: 'symlink' | 'fifo', target = ''): void {
    this.apply({ t: 'entry-set', dir, name, ino, kind }, 0);
    if (kind === 'symlink') this.targets.set(ino, target);
  }

  /** The inode numbers reachable from directory `from` (default `/`), itself included. */
  reachable(from = ROOT_INO): Set<number> {
    const seen = new Set<number>([from]);
    const stack = [from];
    while (stack.length > 0) {
      const dir = stack.pop() as number;
      for (const ino of this.dirs.get(dir)?.values() ?? []) {
        if (seen.has(ino)) continue;
        seen.add(ino);
        if (this.kinds.get(ino) === 'dir') stack.push(ino);
      }
    }
    return seen;
  }

  /**
   * A copy holding only what is reachable from `/`, with link counts
   * recomputed: what fsck leaves after a crash (orphaned inodes and the
   * entries of directories whose own name never persisted are gone).
   */
  collected(): FsState {
    const live = this.reachable();
    this.ownDirs.clear();
    const out = new FsState();
    out.dirs.clear();
    out.ownDirs.clear();
    out.kinds.clear();
    out.nlink.clear();
    for (const ino of live) {
      const kind = this.kinds.get(ino) as InodeKind;
      out.kinds.set(ino, kind);
      out.nlink.set(ino, kind === 'dir' ? 2 : 0);
      const mtime = this.mtimes.get(ino);
      if (mtime !== undefined) out.mtimes.set(ino, mtime);
      if (kind === 'file') out.data.set(ino, this.bytes(ino));
      if (kind === 'symlink') out.targets.set(ino, this.targets.get(ino) ?? '');
    }
    for (const ino of live) {
      const entries = this.dirs.get(ino);
      if (entries === undefined) continue;
      out.dirs.set(ino, entries);
      for (const child of entries.values()) {
        if (out.kinds.get(child) !== 'dir') out.nlink.set(child, (out.nlink.get(child) ?? 0) + 1);
      }
    }
    return out;
  }
}
