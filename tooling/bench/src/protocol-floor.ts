/**
 * The protocol floor: the file-system calls `fanOut` makes for a batch of
 * messages (the staged protocol, `docs/PROTOCOL.md`), in its order, made with
 * node:fs's synchronous calls and nothing else: no machine, no promise, no
 * check of what a call answered beyond what the next call needs. It moves the
 * messages exactly as the fan-out does (`s<id>` → `p<id>.<tx>` → `k<id>.<tx>`,
 * a `w<id>.<tx>` copy published as `d<id>` in each destination), so the bench
 * verifies its result like the others'.
 *
 * Why: it is what any implementation of this protocol in Node pays for the
 * calls alone. Its time over the no-fsync copy's is the part of issue 17's
 * goal that no cut in fanout's own code can reach; fanout's time over its
 * time is what fanout's code costs on top of its calls. `protocol-floor.test.ts`
 * checks that it makes the same calls as `fanOut`, kind by kind, so that the
 * floor moves when the protocol does.
 *
 * Limits: on a disk its fsyncs run one after another, where the fan-out runs
 * them at once on the thread pool, so there it is a reference, not a floor.
 * It is not crash-safe: nothing here recovers what a crash would leave.
 */
import {
  closeSync,
  constants as c,
  fstatSync,
  fsyncSync,
  lstatSync,
  openSync,
  opendirSync,
  readSync,
  renameSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import type { CopyResult } from './naive-copy.js';

/** Calls made, by {@link PosixFs}-like name (`lstat failed`: an `lstat` of an absent name, as the checks expect). */
export type FloorCalls = Record<string, number>;

/** What {@link protocolFloorSync} did. */
export interface FloorResult extends CopyResult {
  readonly calls: FloorCalls;
  readonly fsyncFile: number;
  readonly fsyncDirectory: number;
}

/** Options of {@link protocolFloorSync}. */
export interface FloorOptions {
  /** Messages per attempt (the fan-out's batch size). */
  readonly batchSize: number;
  /** Make the fan-out's fsyncs (files and directories); `false` where the fan-out makes none (tmpfs, ramfs). */
  readonly durable: boolean;
}

/** The read chunk of fs-posix's message reads (`READ_CHUNK_BYTES`). */
const READ_CHUNK = 256 * 1024;

/** About the size of an attempt's record of 32 messages to 3 destinations. */
const RECORD = Buffer.alloc(1536, 0x20);

/**
 * Move every `s<id>` of `source` to `d<id>` in each of `destinations`, batch by batch, with the fan-out's calls.
 * @returns what moved and the calls made.
 */
export function protocolFloorSync(source: string, destinations: readonly string[], o: FloorOptions): FloorResult {
  const calls: FloorCalls = {};
  const made = (name: string) => (calls[name] = (calls[name] ?? 0) + 1);
  const fs = floorCalls(made);
  const ids = listMessages(source);
  let bytes = 0;
  let fsyncFile = 0;
  let fsyncDirectory = 0;
  const syncFile = (fd: number) => {
    if (!o.durable) return;
    fs.fsync(fd);
    fsyncFile++;
  };
  const syncDirs = (dirs: readonly string[]) => {
    if (!o.durable) return;
    for (const dir of dirs) {
      const fd = fs.open(dir, c.O_RDONLY | c.O_DIRECTORY);
      fs.fsync(fd);
      fsyncDirectory++;
      fs.close(fd);
    }
  };
  for (let from = 0, batch = 0; from < ids.length; from += o.batchSize, batch++) {
    const held = ids.slice(from, from + o.batchSize);
    const tx = `floor${String(batch).padStart(21, '0')}`;
    const S = (name: string) => `${source}/${name}`;
    // C1 record: written whole under a temp name, renamed into place without clobbering.
    const temp = S(`t${tx}.floor`);
    const fd = fs.open(temp, c.O_WRONLY | c.O_CREAT | c.O_EXCL | c.O_NOFOLLOW, 0o644);
    fs.write(fd, RECORD);
    syncFile(fd);
    fs.close(fd);
    fs.renameNoClobber(temp, S(`m${tx}`));
    // C1 take: the source name's kind checked, then renamed without clobbering; made durable; checked.
    for (const id of held) {
      fs.lstat(S(`s${id}`));
      fs.renameNoClobber(S(`s${id}`), S(`p${id}.${tx}`));
    }
    syncDirs([source]);
    fs.lstat(S(`m${tx}`));
    for (const id of held) fs.lstat(S(`p${id}.${tx}`));
    for (const id of held) for (const slot of [0, 1]) fs.lstat(S(`a${id}.${slot}`));
    // C2 copy: every copy opened exclusively, the message read once and written to each; C3: synced.
    for (const id of held) {
      const copies = destinations.map((d) =>
        fs.open(`${d}/w${id}.${tx}`, c.O_WRONLY | c.O_CREAT | c.O_EXCL | c.O_NOFOLLOW, 0o644),
      );
      bytes += copyInto(fs, S(`p${id}.${tx}`), copies);
      for (const copy of copies) {
        syncFile(copy);
        fs.close(copy);
      }
    }
    syncDirs(destinations);
    // C5 commit, the fence: p -> k without clobbering, made durable.
    for (const id of held) fs.renameNoClobber(S(`p${id}.${tx}`), S(`k${id}.${tx}`));
    syncDirs([source]);
    // P publish: each copy w -> d without clobbering, made durable.
    for (const id of held) for (const d of destinations) fs.renameNoClobber(`${d}/w${id}.${tx}`, `${d}/d${id}`);
    syncDirs(destinations);
    // C6 forget.
    for (const id of held) fs.unlink(S(`k${id}.${tx}`));
    fs.unlink(S(`m${tx}`));
  }
  return { messages: ids.length, bytes, calls, fsyncFile, fsyncDirectory };
}

/** The ids of the `s<id>` regular files of `source`. The listing is not counted: the fan-out's is paged and shared. */
function listMessages(source: string): string[] {
  const ids: string[] = [];
  const dir = opendirSync(source);
  try {
    for (let e = dir.readSync(); e !== null; e = dir.readSync())
      if (e.name.startsWith('s') && e.isFile()) ids.push(e.name.slice(1));
  } finally {
    dir.closeSync();
  }
  return ids.sort();
}

/** Read `path` as fs-posix reads a message (open, fstat, chunks up to the read that finds its end) into `copies`. */
function copyInto(fs: ReturnType<typeof floorCalls>, path: string, copies: readonly number[]): number {
  const fd = fs.open(path, c.O_RDONLY | c.O_NONBLOCK | c.O_NOFOLLOW);
  try {
    const size = fs.fstat(fd);
    let position = 0;
    for (;;) {
      const want = position < size ? Math.min(READ_CHUNK, size - position + 1) : position === size ? 1 : READ_CHUNK;
      const chunk = Buffer.allocUnsafe(want);
      const n = fs.read(fd, chunk, position);
      if (n === 0) break;
      for (const copy of copies) fs.write(copy, chunk.subarray(0, n), position);
      position += n;
      if (n < want) break; // a short read at the end: fs-posix stops there too
    }
    return position;
  } finally {
    fs.close(fd);
  }
}

/** node:fs's synchronous calls, each counted under its {@link PosixFs} name. */
function floorCalls(made: (name: string) => void) {
  return {
    open(path: string, flags: number, mode?: number): number {
      made('open');
      return openSync(path, flags, mode);
    },
    close(fd: number): void {
      made('close');
      closeSync(fd);
    },
    fsync(fd: number): void {
      made('fsync');
      fsyncSync(fd);
    },
    fstat(fd: number): number {
      made('fstat');
      return fstatSync(fd).size;
    },
    read(fd: number, buffer: Buffer, position: number): number {
      made('read');
      return readSync(fd, buffer, 0, buffer.byteLength, position);
    },
    write(fd: number, bytes: Uint8Array, position = 0): void {
      for (let done = 0; done < bytes.byteLength;) {
        made('write');
        done += writeSync(fd, bytes, done, bytes.byteLength - done, position + done);
      }
    },
    lstat(path: string): void {
      made('lstat');
      if (lstatSync(path, { throwIfNoEntry: false }) === undefined) made('lstat failed');
    },
    /** fs-posix's rename: the target's `lstat` (it must be absent), then the rename. */
    renameNoClobber(from: string, to: string): void {
      this.lstat(to);
      made('rename');
      renameSync(from, to);
    },
    unlink(path: string): void {
      made('unlink');
      unlinkSync(path);
    },
  };
}
