/**
 * The baselines fanout is measured against, over the same {@link PosixFs} so
 * their fsyncs are counted the same way:
 * - *naive durable*: one message at a time, for each destination write the
 *   copy, fsync it, fsync the destination directory; then unlink the source
 *   and fsync the source directory. Durable copies, but no transaction: a
 *   crash in the middle leaves a message in some destinations and still in
 *   the source (a duplicate on the next run).
 * - *no fsync*: the same copies and unlinks with no fsync at all, the ceiling
 *   (a crash can lose or truncate messages).
 *
 * Each comes twice: through a {@link PosixFs}'s promise API ({@link naiveCopy}), and with node:fs's synchronous
 * calls ({@link naiveCopySync}), the faster of the two and the one issue 17's goals mean.
 */
import {
  closeSync,
  constants as fsConstants,
  fsyncSync,
  openSync,
  opendirSync,
  readFileSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import type { PosixFs } from '@fanout/fs-posix';

/** What a baseline moved. */
export interface CopyResult {
  readonly messages: number;
  /** Bytes read from the source (each message once). */
  readonly bytes: number;
}

async function readWhole(fs: PosixFs, path: string): Promise<Uint8Array> {
  const fd = await fs.open(path, fs.constants.O_RDONLY);
  try {
    const size = (await fs.fstat(fd)).size;
    const buffer = new Uint8Array(size);
    let done = 0;
    while (done < size) {
      const n = await fs.read(fd, buffer, done, size - done, done);
      if (n === 0) throw new Error(`${path}: shorter than its size`);
      done += n;
    }
    return buffer;
  } finally {
    await fs.close(fd);
  }
}

async function writeNew(fs: PosixFs, path: string, bytes: Uint8Array, durable: boolean): Promise<void> {
  const c = fs.constants;
  const fd = await fs.open(path, c.O_WRONLY | c.O_CREAT | c.O_EXCL, 0o644);
  try {
    let done = 0;
    while (done < bytes.byteLength) done += await fs.write(fd, bytes, done, bytes.byteLength - done, done);
    // The baseline's only data guarantee: the copy's bytes are on disk before its source goes.
    if (durable) await fs.fsync(fd);
  } finally {
    await fs.close(fd);
  }
}

async function fsyncDirectory(fs: PosixFs, path: string): Promise<void> {
  const fd = await fs.open(path, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
  try {
    await fs.fsync(fd);
  } finally {
    await fs.close(fd);
  }
}

/**
 * Move every `s<id>` of `source` to `d<id>` in each of `destinations`,
 * message by message and destination by destination (naive: nothing shared),
 * with the fsyncs of a durable copy or none. `parallel` > 1 runs that many
 * messages at a time (each still copied naively), for a ceiling that is not
 * bound by one operation's latency.
 */
export async function naiveCopy(
  fs: PosixFs,
  source: string,
  destinations: readonly string[],
  durable: boolean,
  parallel = 1,
): Promise<CopyResult> {
  const dir = await fs.opendir(source);
  const entries = dir[Symbol.asyncIterator]();
  let messages = 0;
  let bytes = 0;
  const worker = async () => {
    for (;;) {
      const step = await entries.next();
      if (step.done) return;
      const entry = step.value;
      if (!entry.name.startsWith('s') || !entry.isFile()) continue;
      const id = entry.name.slice(1);
      const content = await readWhole(fs, `${source}/${entry.name}`);
      for (const d of destinations) {
        await writeNew(fs, `${d}/d${id}`, content, durable);
        // The copy's name survives a crash before the source is unlinked (else: lost in D, gone from S).
        if (durable) await fsyncDirectory(fs, d);
      }
      await fs.unlink(`${source}/${entry.name}`);
      // The unlink is durable before the message counts as moved (else a crash re-copies it: a duplicate).
      if (durable) await fsyncDirectory(fs, source);
      messages++;
      bytes += content.byteLength;
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, parallel) }, worker));
  } finally {
    await dir.close();
  }
  return { messages, bytes };
}

/** What {@link naiveCopySync} did, with its fsyncs counted (it calls node:fs directly, not a {@link PosixFs}). */
export interface SyncCopyResult extends CopyResult {
  readonly fsyncFile: number;
  readonly fsyncDirectory: number;
}

/**
 * The same baseline as {@link naiveCopy} (one message at a time, the same copies, fsyncs and unlinks) made with
 * node:fs's synchronous calls: the fastest way a Node script makes these calls, with no promise and no thread-pool
 * round trip per call. Issue 17's goals compare fanout with this one; on tmpfs and a fast disk it is several times
 * faster than the same script written with the promise API.
 */
export function naiveCopySync(source: string, destinations: readonly string[], durable: boolean): SyncCopyResult {
  let messages = 0;
  let bytes = 0;
  let fsyncFile = 0;
  let fsyncDirectory = 0;
  const syncDirectory = (path: string) => {
    const fd = openSync(path, fsConstants.O_RDONLY | fsConstants.O_DIRECTORY);
    try {
      fsyncSync(fd);
      fsyncDirectory++;
    } finally {
      closeSync(fd);
    }
  };
  const dir = opendirSync(source);
  try {
    for (let entry = dir.readSync(); entry !== null; entry = dir.readSync()) {
      if (!entry.name.startsWith('s') || !entry.isFile()) continue;
      const id = entry.name.slice(1);
      const content = readFileSync(`${source}/${entry.name}`);
      for (const d of destinations) {
        const fd = openSync(`${d}/d${id}`, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL, 0o644);
        try {
          for (let done = 0; done < content.byteLength;) done += writeSync(fd, content, done);
          if (durable) {
            fsyncSync(fd);
            fsyncFile++;
          }
        } finally {
          closeSync(fd);
        }
        if (durable) syncDirectory(d);
      }
      unlinkSync(`${source}/${entry.name}`);
      if (durable) syncDirectory(source);
      messages++;
      bytes += content.byteLength;
    }
  } finally {
    dir.closeSync();
  }
  return { messages, bytes, fsyncFile, fsyncDirectory };
}
