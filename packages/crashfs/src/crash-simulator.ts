/**
 * The crash simulator: a `PosixFs` over the simulator's own inode model that
 * logs every change, knows what an fsync made durable, and can build every
 * state a crash may leave (see README.md in this directory for the model).
 */
import { posix as pathPosix } from 'node:path';
import type { PosixDir, PosixDirent, PosixFs, PosixFsConstants, PosixStats } from '@fanout/fs-posix';
import { canonicalKey, treeListing, type TreeEntry } from './canonical-tree.js';
import { type CrashSpace, type CrashStateOptions, enumerateCrashStates } from './crash-model.js';
import { type ErrnoCode, errnoError, SimulatedCrash } from './errno-error.js';
import { type ArmedFault, type FaultAction, FaultInjector, type FaultRule, type FsCall } from './fault-injection.js';
import { FsState, type InodeKind, type MicroOp, ROOT_INO } from './fs-state.js';
import { describeOp, type LoggedKind, type LoggedOp } from './op-log.js';

/** Open flags of the simulated fs: Linux x86-64 values, as `fs.constants` has them. */
export const SIMULATED_CONSTANTS: PosixFsConstants & { readonly O_TRUNC: number; readonly O_APPEND: number } = {
  O_RDONLY: 0,
  O_WRONLY: 1,
  O_RDWR: 2,
  O_CREAT: 0o100,
  O_EXCL: 0o200,
  O_TRUNC: 0o1000,
  O_APPEND: 0o2000,
  O_NONBLOCK: 0o4000,
  O_DIRECTORY: 0o200000,
  O_NOFOLLOW: 0o400000,
};
const C = SIMULATED_CONSTANTS;
const MAX_SYMLINK_DEPTH = 40;

/** Options of {@link CrashSimulator}. */
export interface CrashSimulatorOptions {
  /**
   * The mtime clock, in ms. Default: a deterministic logical clock starting at
   * 2024-01-01T00:00:00Z that advances 1 ms per logged operation, so runs are
   * reproducible.
   */
  readonly clock?: () => number;
}

/** One post-crash state; see {@link CrashSimulator.crashStates}. */
export interface CrashState {
  /** A fresh simulator whose disk (durable and volatile) is this state; run recovery on it. */
  readonly sim: CrashSimulator;
  /** Canonical key of the state (equal keys, equal trees). */
  readonly key: string;
  /** The crash point: how many logged operations had happened. */
  readonly after: number;
  /** What did not persist, or persisted as zeros, one readable line each. */
  readonly lost: readonly string[];
}

/** The states of one crash point plus what the enumeration covered. */
export interface CrashStates extends Iterable<CrashState> {
  /** Coverage of this crash point; complete once iteration finished. */
  readonly space: CrashSpace;
  /** One line for reports: pending choices, states, exhaustive or sampled, the bound. */
  summary(): string;
}

interface OpenFile {
  readonly ino: number;
  readonly path: string;
  readonly readable: boolean;
  readonly writable: boolean;
  readonly append: boolean;
  pos: number;
}

interface Resolved {
  /** Directory holding the last component. */
  readonly dir: number;
  /** The last component ('' for `/`). */
  readonly name: string;
  /** What it names, if anything. */
  readonly ino: number | undefined;
  /** The normalised path that was resolved (after following symlinks). */
  readonly path: string;
}

class SimStats implements PosixStats {
  readonly dev = 1;
  constructor(
    private readonly kind: InodeKind,
    readonly size: number,
    readonly mtimeMs: number,
    readonly ino: number,
    readonly nlink: number,
  ) {}
  isFile(): boolean {
    return this.kind === 'file';
  }
  isDirectory(): boolean {
    return this.kind === 'dir';
  }
  isSymbolicLink(): boolean {
    return this.kind === 'symlink';
  }
  isFIFO(): boolean {
    return this.kind === 'fifo';
  }
}

class SimDirent implements PosixDirent {
  constructor(
    readonly name: string,
    private readonly kind: InodeKind,
  ) {}
  isFile(): boolean {
    return this.kind === 'file';
  }
  isDirectory(): boolean {
    return this.kind === 'dir';
  }
  isSymbolicLink(): boolean {
    return this.kind === 'symlink';
  }
  isFIFO(): boolean {
    return this.kind === 'fifo';
  }
}

const DEFAULT_EPOCH = Date.UTC(2024, 0, 1);

/**
 * A simulated machine with one filesystem that can crash.
 *
 * ```ts
 * const sim = new CrashSimulator();
 * sim.mkdirp('/S');                              // durable initial state
 * const open = (machine: CrashSimulator) => async (root: string) => new PosixBackend({ root, fs: machine.fs });
 * await initSpool(await open(sim)('/S'));
 * sim.checkpoint();                              // all durable; the log starts afresh
 * await enqueue(await open(sim)('/S'), bytes);    // logged: create, write, fsync, publish, fsync dir
 * for (const crash of sim.crashStates({ after: 2 })) { // every state a crash after op 2 may leave
 *   const spool = await open(crash.sim)('/S');    // a crash state is a machine of its own
 *   await recover({ spool, open: open(crash.sim), ownerProbe: async () => 'dead' });
 * }
 * ```
 *
 * A complete example that runs (fan-out, every crash point, recovery, the invariant): this
 * directory's README.md.
 */
export class CrashSimulator {
  /** The simulated file API; hand it to `PosixBackend` and friends. */
  readonly fs: PosixFs;
  private base: FsState;
  private volatile: FsState;
  private log: LoggedOp[] = [];
  private readonly fds = new Map<number, OpenFile>();
  private nextFd = 3;
  private nextIno: number;
  private crashLimit = Infinity;
  private deadAfter: number | undefined;
  private readonly faults = new FaultInjector();
  private readonly clock: () => number;

  /** A machine with an empty, durable filesystem holding only `/`. */
  constructor(options: CrashSimulatorOptions = {}) {
    this.base = new FsState();
    this.volatile = this.base.clone();
    this.nextIno = ROOT_INO + 1;
    let tick = DEFAULT_EPOCH;
    this.clock = options.clock ?? (() => ++tick);
    this.fs = this.makeFs();
  }

  /** A fresh machine whose disk is `state`, all of it durable. */
  private static boot(state: FsState, nextIno: number, lastTime: number): CrashSimulator {
    let tick = lastTime;
    const sim = new CrashSimulator({ clock: () => ++tick });
    sim.base = state;
    sim.volatile = state.clone();
    sim.nextIno = nextIno;
    return sim;
  }

  // ---------------------------------------------------------------- inspection

  /** Logged operations so far; crash points range over `0..opCount`. */
  get opCount(): number {
    return this.log.length;
  }

  /** True once an armed crash point was reached; every call then throws {@link SimulatedCrash}. */
  get crashed(): boolean {
    return this.deadAfter !== undefined;
  }

  /** The logged operations `from..to-1` as readable lines ("#3 fsync dir /S"), for traces. */
  describeOps(from = 0, to = this.log.length): string[] {
    return this.log.slice(from, to).map(describeOp);
  }

  /** The operation log itself (read-only), for checkers that reason about it. */
  get ops(): readonly LoggedOp[] {
    return this.log;
  }

  /**
   * Every path of the live (`volatile`, default) or the `durable` tree (what a
   * crash losing everything not fsynced would leave), sorted, with inode
   * numbers, link counts and contents.
   */
  snapshot(which: 'volatile' | 'durable' = 'volatile'): TreeEntry[] {
    return treeListing(this.stateOf(which));
  }

  /** The canonical key of the live or durable tree; see `canonicalKey`. */
  key(which: 'volatile' | 'durable' = 'volatile'): string {
    return canonicalKey(this.stateOf(which).collected());
  }

  /** Contents of the file at `path` in the live tree (following symlinks), or undefined. */
  readFile(path: string): Uint8Array | undefined {
    const r = this.tryResolve(path, true);
    if (r?.ino === undefined || this.volatile.kinds.get(r.ino) !== 'file') return undefined;
    return this.volatile.bytes(r.ino);
  }

  /** True when `path` names something (not following a final symlink) in the live tree. */
  exists(path: string): boolean {
    return this.tryResolve(path, false)?.ino !== undefined;
  }

  /** Sorted names in directory `path` of the live tree ([] if it is not a directory). */
  list(path: string): string[] {
    const r = this.tryResolve(path, true);
    const entries = r?.ino === undefined ? undefined : this.volatile.entries(r.ino);
    return entries === undefined ? [] : [...entries.keys()].sort();
  }

  private stateOf(which: 'volatile' | 'durable'): FsState {
    if (which === 'volatile') return this.volatile;
    const first = enumerateCrashStates(this.base, this.log, { maxStates: 1, distinct: false }).states;
    for (const s of first) return s.state;
    throw new Error('unreachable: a crash point always has a state');
  }

  // -------------------------------------------------------------- setup helpers

  /** Create directory `path` and its parents, durably (setup only: the log must be empty). */
  mkdirp(path: string): void {
    this.setup(() => {
      let dir = ROOT_INO;
      for (const name of splitPath(path)) {
        const ino = this.volatile.entries(dir)?.get(name);
        if (ino === undefined) {
          const created = this.nextIno++;
          this.volatile.apply({ t: 'entry-set', dir, name, ino: created, kind: 'dir' }, this.clock());
          dir = created;
        } else if (this.volatile.kinds.get(ino) === 'dir') {
          dir = ino;
        } else {
          throw errnoError('ENOTDIR', 'mkdir', path);
        }
      }
    });
  }

  /** Create or replace the file at `path` with `bytes`, durably; parents are created (setup only). */
  writeFileDurable(path: string, bytes: Uint8Array | string): void {
    const data = typeof bytes === 'string' ? new TextEncoder().encode(bytes) : bytes.slice();
    this.mkdirp(pathPosix.dirname(pathPosix.resolve(path)));
    this.setup(() => {
      const r = this.resolve(path, 'open', false);
      let ino = r.ino;
      if (ino === undefined) {
        ino = this.nextIno++;
        this.volatile.apply({ t: 'entry-set', dir: r.dir, name: r.name, ino, kind: 'file' }, this.clock());
      } else if (this.volatile.kinds.get(ino) !== 'file') {
        throw errnoError('EISDIR', 'open', path);
      }
      this.volatile.apply({ t: 'truncate', ino, size: 0 }, this.clock());
      this.volatile.apply({ t: 'write', ino, offset: 0, bytes: data }, this.clock());
    });
  }

  /** Create a symbolic link `path` -> `target`, durably (setup only). */
  symlink(target: string, path: string): void {
    this.setupSpecial(path, 'symlink', target);
  }

  /** Create a FIFO at `path`, durably (setup only). */
  mkfifo(path: string): void {
    this.setupSpecial(path, 'fifo');
  }

  /**
   * Make everything done so far durable and start a new, empty log (like
   * `sync(2)` followed by forgetting history). Open descriptors stay valid.
   */
  checkpoint(): void {
    this.base = this.volatile.clone();
    this.log = [];
  }

  private setupSpecial(path: string, kind: 'symlink' | 'fifo', target = ''): void {
    this.setup(() => {
      const r = this.resolve(path, kind === 'symlink' ? 'symlink' : 'mknod', false);
      if (r.ino !== undefined) throw errnoError('EEXIST', kind === 'symlink' ? 'symlink' : 'mknod', path);
      this.volatile.addSpecial(r.dir, r.name, this.nextIno++, kind, target);
    });
  }

  private setup(change: () => void): void {
    if (this.log.length > 0) {
      throw new Error('setup helpers need an empty operation log (call checkpoint() first)');
    }
    change();
    this.base = this.volatile.clone();
  }

  // ----------------------------------------------------------- crash and faults

  /**
   * Arm a crash: once `n` operations are logged, the call that would log the
   * next one throws {@link SimulatedCrash} without effect, and so does every
   * later call, of any kind. `crashAfter(0)` kills the very first change.
   */
  crashAfter(n: number): void {
    this.crashLimit = n;
    if (this.log.length > n) throw new Error(`already ${this.log.length} operations logged, cannot crash after ${n}`);
  }

  /**
   * The states a crash after `options.after` operations (default: now) may
   * leave, each as a fresh simulator that can run recovery and crash again.
   * Distinct states only, unless `distinct: false`. See {@link CrashStateOptions}
   * for the bound and the ordering mode; `summary()` reports both.
   */
  crashStates(options: CrashStateOptions = {}): CrashStates {
    const { space, states } = enumerateCrashStates(this.base, this.log, options);
    const nextIno = this.nextIno;
    const lastTime = this.log.length > 0 ? (this.log[this.log.length - 1] as LoggedOp).time : DEFAULT_EPOCH;
    return {
      space,
      summary: () =>
        `crash after ${space.after} ops: ${space.pendingDirs} dirs and ${space.pendingFiles} files pending, ` +
        `${space.produced} distinct of ${space.built} built (${space.exhaustive ? 'exhaustive' : 'sampled'}, ` +
        `bound ${space.bound}, model upper bound ${space.upperBound})`,
      *[Symbol.iterator]() {
        for (const raw of states) {
          yield {
            sim: CrashSimulator.boot(raw.state, nextIno, lastTime),
            key: raw.key,
            after: space.after,
            lost: raw.lost,
          };
        }
      },
    };
  }

  /**
   * Add a fault rule (see {@link FaultRule}); returns a function removing it.
   * Faults are checked before crashes are not: a dead machine fails first.
   */
  inject(rule: FaultRule): () => void {
    return this.faults.add(rule);
  }

  /** The fault rules with how often each matched and fired. */
  get injected(): readonly ArmedFault[] {
    return this.faults.rules;
  }

  // ------------------------------------------------------------ the file system

  private makeFs(): PosixFs {
    const run = <T>(
      call: FsCall,
      paths: readonly string[],
      target: 'file' | 'dir' | undefined,
      body: () => T,
    ): Promise<T> => {
      try {
        this.assertAlive();
        const fault = this.faults.check(call, paths, target);
        if (fault?.mode === 'fail') throw errnoError(fault.code, call, paths[0], paths[1]);
        const result = body();
        if (fault?.mode === 'lostReply') throw lostReply(fault, call, paths);
        return Promise.resolve(result);
      } catch (err) {
        return Promise.reject(err);
      }
    };
    const fdPath = (fd: number): string[] => {
      const f = this.fds.get(fd);
      return f === undefined ? [] : [f.path];
    };
    const fdTarget = (fd: number): 'file' | 'dir' | undefined => {
      const f = this.fds.get(fd);
      return f === undefined ? undefined : this.volatile.kinds.get(f.ino) === 'dir' ? 'dir' : 'file';
    };
    return {
      constants: SIMULATED_CONSTANTS,
      open: (path, flags, _mode) => run('open', [path], undefined, () => this.open(path, flags)),
      write: (fd, buffer, offset, length, position) =>
        run('write', fdPath(fd), undefined, () => this.write(fd, buffer, offset, length, position)),
      read: (fd, buffer, offset, length, position) =>
        run('read', fdPath(fd), undefined, () => this.read(fd, buffer, offset, length, position)),
      fsync: (fd) => run('fsync', fdPath(fd), fdTarget(fd), () => this.fsync(fd)),
      close: (fd) => run('close', fdPath(fd), undefined, () => this.close(fd)),
      fstat: (fd) => run('fstat', fdPath(fd), undefined, () => this.fstat(fd)),
      lstat: (path) => run('lstat', [path], undefined, () => this.lstat(path)),
      link: (existing, next) => run('link', [existing, next], undefined, () => this.link(existing, next)),
      unlink: (path) => run('unlink', [path], undefined, () => this.unlink(path)),
      rename: (from, to) => run('rename', [from, to], undefined, () => this.rename(from, to)),
      mkdir: (path, options) => run('mkdir', [path], undefined, () => this.mkdir(path, options.recursive)),
      opendir: (path) => run('opendir', [path], undefined, () => this.opendir(path)),
    };
  }

  private assertAlive(): void {
    if (this.deadAfter !== undefined) throw new SimulatedCrash(this.deadAfter);
  }

  /** Log one change and apply it to the live tree, unless the armed crash point is reached. */
  private record(kind: LoggedKind, paths: string[], micro: MicroOp[], syncs?: string): void {
    if (this.log.length >= this.crashLimit) {
      this.deadAfter = this.log.length;
      for (const fd of this.fds.keys()) this.fds.delete(fd);
      throw new SimulatedCrash(this.deadAfter);
    }
    const time = this.clock();
    const op: LoggedOp =
      syncs === undefined
        ? { seq: this.log.length, kind, paths, micro, time }
        : { seq: this.log.length, kind, paths, micro, syncs, time };
    this.log.push(op);
    for (const m of micro) this.volatile.apply(m, time);
  }

  private tryResolve(path: string, followLast: boolean): Resolved | undefined {
    try {
      return this.resolve(path, 'lstat', followLast);
    } catch {
      return undefined;
    }
  }

  /** Walk `path` in the live tree; intermediate symlinks are followed, the last one if asked. */
  private resolve(path: string, syscall: string, followLast: boolean, depth = 0): Resolved {
    if (typeof path !== 'string' || !path.startsWith('/')) throw errnoError('EINVAL', syscall, String(path));
    if (depth > MAX_SYMLINK_DEPTH) throw errnoError('ELOOP', syscall, path);
    const parts = splitPath(path);
    if (parts.length === 0) return { dir: ROOT_INO, name: '', ino: ROOT_INO, path: '/' };
    let dir = ROOT_INO;
    for (let i = 0; i < parts.length; i++) {
      const name = parts[i] as string;
      const ino = this.volatile.entries(dir)?.get(name);
      const last = i === parts.length - 1;
      const here = `/${parts.slice(0, i + 1).join('/')}`;
      const kind = ino === undefined ? undefined : this.volatile.kinds.get(ino);
      if (kind === 'symlink' && (!last || followLast)) {
        const target = this.volatile.targets.get(ino as number) ?? '';
        const base = pathPosix.dirname(here);
        const rest = parts.slice(i + 1).join('/');
        const next = pathPosix.resolve(base, target, rest === '' ? '.' : rest);
        return this.resolve(next, syscall, followLast, depth + 1);
      }
      if (last) return { dir, name, ino, path: here };
      if (ino === undefined) throw errnoError('ENOENT', syscall, path);
      if (kind !== 'dir') throw errnoError('ENOTDIR', syscall, path);
      dir = ino;
    }
    throw new Error('unreachable');
  }

  private kindOf(ino: number): InodeKind {
    return this.volatile.kinds.get(ino) ?? 'file';
  }

  private open(path: string, flags: number): number {
    const exclusive = (flags & C.O_CREAT) !== 0 && (flags & C.O_EXCL) !== 0;
    let r = this.resolve(path, 'open', false);
    if (r.ino !== undefined && this.kindOf(r.ino) === 'symlink') {
      // O_CREAT|O_EXCL never follows (EEXIST); O_NOFOLLOW refuses a final symlink (ELOOP).
      if (exclusive) throw errnoError('EEXIST', 'open', path);
      if ((flags & C.O_NOFOLLOW) !== 0) throw errnoError('ELOOP', 'open', path);
      r = this.resolve(path, 'open', true);
    }
    const access = flags & 3;
    const readable = access === C.O_RDONLY || access === C.O_RDWR;
    const writable = access === C.O_WRONLY || access === C.O_RDWR;
    let ino = r.ino;
    if (ino === undefined) {
      if ((flags & C.O_CREAT) === 0) throw errnoError('ENOENT', 'open', path);
      if (path.endsWith('/')) throw errnoError('EISDIR', 'open', path);
      ino = this.nextIno++;
      this.record('create', [path], [{ t: 'entry-set', dir: r.dir, name: r.name, ino, kind: 'file' }]);
    } else {
      if (exclusive) throw errnoError('EEXIST', 'open', path);
      const kind = this.kindOf(ino);
      if ((flags & C.O_DIRECTORY) !== 0 && kind !== 'dir') throw errnoError('ENOTDIR', 'open', path);
      if (kind === 'dir' && writable) throw errnoError('EISDIR', 'open', path);
      // A FIFO without a peer would block forever; only O_NONBLOCK opens return.
      if (kind === 'fifo' && (flags & (C.O_NONBLOCK as number)) === 0) throw errnoError('EAGAIN', 'open', path);
      if ((flags & C.O_TRUNC) !== 0 && writable && kind === 'file' && this.volatile.bytes(ino).byteLength > 0) {
        this.record('truncate', [path], [{ t: 'truncate', ino, size: 0 }]);
      }
    }
    const fd = this.nextFd++;
    this.fds.set(fd, { ino, path, readable, writable, append: (flags & C.O_APPEND) !== 0, pos: 0 });
    return fd;
  }

  private file(fd: number, syscall: string): OpenFile {
    const f = this.fds.get(fd);
    if (f === undefined) throw errnoError('EBADF', syscall);
    return f;
  }

  private write(fd: number, buffer: Uint8Array, offset: number, length: number, position: number | null): number {
    const f = this.file(fd, 'write');
    if (!f.writable) throw errnoError('EBADF', 'write', f.path);
    const kind = this.kindOf(f.ino);
    if (kind === 'dir') throw errnoError('EISDIR', 'write', f.path);
    if (offset < 0 || length < 0 || offset + length > buffer.byteLength) throw errnoError('EINVAL', 'write', f.path);
    if (length === 0 || kind === 'fifo') return length;
    const at = position ?? (f.append ? this.volatile.bytes(f.ino).byteLength : f.pos);
    // Copy: the caller may reuse its buffer, the log must keep what was written.
    const bytes = buffer.slice(offset, offset + length);
    this.record('write', [f.path], [{ t: 'write', ino: f.ino, offset: at, bytes }]);
    if (position === null) f.pos = at + length;
    return length;
  }

  private read(fd: number, buffer: Uint8Array, offset: number, length: number, position: number | null): number {
    const f = this.file(fd, 'read');
    if (!f.readable) throw errnoError('EBADF', 'read', f.path);
    const kind = this.kindOf(f.ino);
    if (kind === 'dir') throw errnoError('EISDIR', 'read', f.path);
    if (kind !== 'file') return 0;
    const data = this.volatile.bytes(f.ino);
    const at = position ?? f.pos;
    const n = Math.max(0, Math.min(length, data.byteLength - at));
    buffer.set(data.subarray(at, at + n), offset);
    if (position === null) f.pos = at + n;
    return n;
  }

  private fsync(fd: number): void {
    const f = this.file(fd, 'fsync');
    if (this.kindOf(f.ino) === 'dir') {
      // The directory's entry changes so far survive a crash from here on.
      this.record('fsync-dir', [f.path], [], `d${f.ino}`);
    } else {
      // The file's data written so far survives a crash from here on (not its names).
      this.record('fsync-file', [f.path], [], `f${f.ino}`);
    }
  }

  private close(fd: number): void {
    this.file(fd, 'close');
    this.fds.delete(fd);
  }

  private stats(ino: number): SimStats {
    const kind = this.kindOf(ino);
    return new SimStats(
      kind,
      kind === 'file'
        ? this.volatile.bytes(ino).byteLength
        : kind === 'symlink'
          ? (this.volatile.targets.get(ino) ?? '').length
          : 0,
      this.volatile.mtimes.get(ino) ?? DEFAULT_EPOCH,
      ino,
      kind === 'dir' ? 2 : (this.volatile.nlink.get(ino) ?? 0),
    );
  }

  private fstat(fd: number): PosixStats {
    return this.stats(this.file(fd, 'fstat').ino);
  }

  private lstat(path: string): PosixStats {
    const r = this.resolve(path, 'lstat', false);
    if (r.ino === undefined) throw errnoError('ENOENT', 'lstat', path);
    return this.stats(r.ino);
  }

  private link(existing: string, next: string): void {
    const src = this.resolve(existing, 'link', false);
    if (src.ino === undefined) throw errnoError('ENOENT', 'link', existing, next);
    const dst = this.resolve(next, 'link', false);
    if (this.kindOf(src.ino) === 'dir') throw errnoError('EPERM', 'link', existing, next);
    if (dst.ino !== undefined) throw errnoError('EEXIST', 'link', existing, next);
    this.record(
      'link',
      [existing, next],
      [{ t: 'entry-set', dir: dst.dir, name: dst.name, ino: src.ino, kind: this.kindOf(src.ino) }],
    );
  }

  private unlink(path: string): void {
    const r = this.resolve(path, 'unlink', false);
    if (r.ino === undefined) throw errnoError('ENOENT', 'unlink', path);
    if (this.kindOf(r.ino) === 'dir') throw errnoError('EISDIR', 'unlink', path);
    this.record('unlink', [path], [{ t: 'entry-del', dir: r.dir, name: r.name, ino: r.ino }]);
  }

  private rename(from: string, to: string): void {
    const src = this.resolve(from, 'rename', false);
    if (src.ino === undefined) throw errnoError('ENOENT', 'rename', from, to);
    if (src.ino === ROOT_INO) throw errnoError('EINVAL', 'rename', from, to);
    const dst = this.resolve(to, 'rename', false);
    // POSIX: renaming a name onto another name of the same file does nothing.
    if (dst.ino === src.ino) return;
    const kind = this.kindOf(src.ino);
    if (kind === 'dir') {
      if (this.volatile.reachable(src.ino).has(dst.dir)) throw errnoError('EINVAL', 'rename', from, to);
      if (dst.ino !== undefined) {
        if (this.kindOf(dst.ino) !== 'dir') throw errnoError('ENOTDIR', 'rename', from, to);
        if ((this.volatile.entries(dst.ino)?.size ?? 0) > 0) throw errnoError('ENOTEMPTY', 'rename', from, to);
      }
    } else if (dst.ino !== undefined && this.kindOf(dst.ino) === 'dir') {
      throw errnoError('EISDIR', 'rename', from, to);
    }
    // ALICE's split: old destination removed, new name added, old name removed.
    const micro: MicroOp[] = [];
    if (dst.ino !== undefined) micro.push({ t: 'entry-del', dir: dst.dir, name: dst.name, ino: dst.ino });
    micro.push({ t: 'entry-set', dir: dst.dir, name: dst.name, ino: src.ino, kind });
    micro.push({ t: 'entry-del', dir: src.dir, name: src.name, ino: src.ino });
    this.record('rename', [from, to], micro);
  }

  private mkdir(path: string, recursive: boolean): void {
    if (!recursive) {
      const r = this.resolve(path, 'mkdir', false);
      if (r.ino !== undefined) throw errnoError('EEXIST', 'mkdir', path);
      this.record('mkdir', [path], [{ t: 'entry-set', dir: r.dir, name: r.name, ino: this.nextIno++, kind: 'dir' }]);
      return;
    }
    const parts = splitPath(path);
    for (let i = 1; i <= parts.length; i++) {
      const prefix = `/${parts.slice(0, i).join('/')}`;
      const r = this.resolve(prefix, 'mkdir', true);
      if (r.ino !== undefined) {
        if (this.kindOf(r.ino) !== 'dir') throw errnoError(i === parts.length ? 'EEXIST' : 'ENOTDIR', 'mkdir', path);
        continue;
      }
      this.record('mkdir', [prefix], [{ t: 'entry-set', dir: r.dir, name: r.name, ino: this.nextIno++, kind: 'dir' }]);
    }
  }

  private opendir(path: string): PosixDir {
    const r = this.resolve(path, 'opendir', true);
    if (r.ino === undefined) throw errnoError('ENOENT', 'opendir', path);
    if (this.kindOf(r.ino) !== 'dir') throw errnoError('ENOTDIR', 'opendir', path);
    // The listing is the directory as it was at opendir; entries are read lazily from it.
    const names = [...(this.volatile.entries(r.ino)?.entries() ?? [])];
    let closed = false;
    const sim = this;
    return {
      close: () => {
        if (closed)
          return Promise.reject(Object.assign(new Error('Directory handle was closed'), { code: 'ERR_DIR_CLOSED' }));
        closed = true;
        return Promise.resolve();
      },
      async *[Symbol.asyncIterator]() {
        try {
          for (const [name, ino] of names) {
            sim.assertAlive();
            if (closed) return;
            yield new SimDirent(name, sim.kindOf(ino));
          }
        } finally {
          closed = true;
        }
      },
    };
  }
}

function lostReply(fault: FaultAction, call: FsCall, paths: readonly string[]): Error {
  return errnoError(fault.code as ErrnoCode, call, paths[0], paths[1]);
}

function splitPath(path: string): string[] {
  return pathPosix
    .normalize(path)
    .split('/')
    .filter((p) => p !== '' && p !== '.');
}
