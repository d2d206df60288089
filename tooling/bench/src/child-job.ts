/**
 * What runs inside a child process: one timed run of one variant, one scale
 * measurement, or one fsync-latency probe. Each run gets a fresh process so
 * that the thread pool size can differ (`UV_THREADPOOL_SIZE` is read once, at
 * the pool's first use) and so that peak RSS belongs to that run alone.
 */
import { spawnSync } from 'node:child_process';
import { mkdir, open, rm } from 'node:fs/promises';
import { constants, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fanOut, FanoutError, recover, spoolStatus, type ProtocolName } from '@fanout/core';
import { localPosixFs, memoryBackedPosixFs, nodePosixFs, onMemoryFilesystem, PosixBackend } from '@fanout/fs-posix';
import { countingFs } from './counting-fs.js';
import { median } from './figures.js';
import { naiveCopy, naiveCopySync } from './naive-copy.js';
import { protocolFloorSync } from './protocol-floor.js';

/** A job for a child process. Spools are `<root>/S` and `<root>/D1`…`<root>/Dn`. */
export type ChildJob =
  | {
      kind: 'fanout';
      root: string;
      destinations: number;
      protocol: ProtocolName;
      batchSize: number;
      concurrency: number;
    }
  /** `fanout run` through the built command (`cliPath`), with its own defaults, timed with its start-up. */
  | { kind: 'cli'; root: string; destinations: number; cliPath: string }
  /** `sync`: node:fs's synchronous calls (issue 17's baselines); else a PosixFs's promise API, `parallel` at once. */
  | { kind: 'naive'; root: string; destinations: number; durable: boolean; parallel?: number; sync?: boolean }
  /** fanOut's own calls for each batch, made synchronously and nothing else (see protocol-floor.ts). */
  | { kind: 'floor'; root: string; destinations: number; batchSize: number }
  | { kind: 'recover' | 'status'; root: string }
  | { kind: 'idle' }
  | { kind: 'fsync'; dir: string; parallel: number; count: number; directories: boolean };

/** What a child reports (one JSON line on stdout). */
export interface ChildResult {
  seconds: number;
  /** User + system CPU seconds of the child during the timed part. */
  cpuSeconds: number;
  fsyncFile: number;
  fsyncDirectory: number;
  messages: number;
  bytes: number;
  /** Peak resident set size of the whole child, in bytes. */
  maxRssBytes: number;
  /** Anything job-specific (fsync latency, recovery summary). */
  extra?: Record<string, number>;
}

/** Names of the destination spools of a run. */
export function destinationNames(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `D${i + 1}`);
}

async function timed(
  body: () => Promise<Omit<ChildResult, 'seconds' | 'cpuSeconds' | 'maxRssBytes'>>,
): Promise<ChildResult> {
  const cpu = process.cpuUsage();
  const t0 = performance.now();
  const r = await body();
  const seconds = (performance.now() - t0) / 1000;
  const used = process.cpuUsage(cpu);
  return {
    ...r,
    seconds,
    cpuSeconds: (used.user + used.system) / 1e6,
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
  };
}

/** Run one job and resolve what it measured. */
export async function runChildJob(job: ChildJob): Promise<ChildResult> {
  switch (job.kind) {
    case 'fanout': {
      // The fs the command would pick for this place (openPosixSpool's choice), with its fsyncs counted.
      const { fs, counts } = countingFs((await onMemoryFilesystem(job.root)) ? memoryBackedPosixFs : localPosixFs);
      const spool = (name: string) => new PosixBackend({ root: join(job.root, name), fs });
      const source = spool('S');
      const destinations = destinationNames(job.destinations).map((n) => ({ spool: spool(n) }));
      return timed(async () => {
        const s = await fanOut({
          source,
          destinations,
          protocol: job.protocol,
          batchSize: job.batchSize,
          concurrency: job.concurrency,
        });
        if (s.failed.length > 0)
          throw new Error(`fanOut failed ${s.failed.length} messages, first: ${s.failed[0]!.error.message}`);
        return {
          fsyncFile: counts.file,
          fsyncDirectory: counts.directory,
          messages: s.committed,
          bytes: s.bytes / job.destinations,
        };
      });
    }
    case 'cli':
      return runCli(job);
    case 'naive': {
      const { fs, counts } = countingFs(nodePosixFs);
      const dests = destinationNames(job.destinations).map((n) => join(job.root, n));
      if (job.sync === true) return timed(async () => naiveCopySync(join(job.root, 'S'), dests, job.durable));
      return timed(async () => {
        const r = await naiveCopy(fs, join(job.root, 'S'), dests, job.durable, job.parallel ?? 1);
        return { fsyncFile: counts.file, fsyncDirectory: counts.directory, messages: r.messages, bytes: r.bytes };
      });
    }
    case 'floor': {
      const dests = destinationNames(job.destinations).map((n) => join(job.root, n));
      // The fsyncs the fan-out makes here: none on tmpfs or ramfs, where fs-posix knows they do nothing.
      const durable = !(await onMemoryFilesystem(job.root));
      return timed(async () => protocolFloorSync(join(job.root, 'S'), dests, { batchSize: job.batchSize, durable }));
    }
    case 'recover':
    case 'status': {
      const spool = new PosixBackend({ root: job.root });
      return timed(async () => {
        if (job.kind === 'status') {
          const s = await spoolStatus(spool);
          return { fsyncFile: 0, fsyncDirectory: 0, messages: s.counts.source, bytes: 0 };
        }
        const r = await recover({
          spool,
          open: async (location) => {
            throw new FanoutError('EBADURL', 'the bench spool has no destinations', { spool: location });
          },
        });
        return {
          fsyncFile: 0,
          fsyncDirectory: 0,
          messages: 0,
          bytes: 0,
          extra: { unknown: r.unknown, refused: r.refused.length },
        };
      });
    }
    case 'idle':
      return timed(async () => ({ fsyncFile: 0, fsyncDirectory: 0, messages: 0, bytes: 0 }));
    case 'fsync':
      return fsyncProbe(job);
  }
}

/**
 * fsync latency of this disk: `count` fsyncs of freshly written 4 KiB files
 * (or of a directory just given a new entry), `parallel` at a time through
 * the thread pool, as fanout issues them.
 */
async function fsyncProbe(job: Extract<ChildJob, { kind: 'fsync' }>): Promise<ChildResult> {
  await mkdir(job.dir, { recursive: true });
  const latencies: number[] = [];
  const block = new Uint8Array(4096).fill(7);
  let next = 0;
  const worker = async (w: number) => {
    const dir = join(job.dir, `w${w}`);
    await mkdir(dir, { recursive: true });
    while (next < job.count) {
      const i = next++;
      const file = await open(join(dir, `f${i}`), 'wx');
      await file.write(block, 0, block.length, 0);
      const handle = job.directories ? await open(dir, constants.O_RDONLY | constants.O_DIRECTORY) : file;
      const t0 = performance.now();
      await handle.sync();
      latencies.push(performance.now() - t0);
      if (handle !== file) await handle.close();
      await file.close();
    }
  };
  const result = await timed(async () => {
    await Promise.all(Array.from({ length: job.parallel }, (_, w) => worker(w)));
    return {
      fsyncFile: job.directories ? 0 : job.count,
      fsyncDirectory: job.directories ? job.count : 0,
      messages: 0,
      bytes: 0,
    };
  });
  await rm(job.dir, { recursive: true, force: true });
  return { ...result, extra: { medianMs: median(latencies), perSecond: job.count / result.seconds } };
}

/**
 * The arguments of `fanout run` from `<root>/S` to every destination, with the command's defaults: the timed and the
 * counted runs are the same.
 */
export function cliRunArgs(root: string, destinations: number): string[] {
  return ['run', '--from', join(root, 'S'), ...destinationNames(destinations).flatMap((d) => ['--to', join(root, d)])];
}

/** User + system CPU seconds of this process's waited-for children (Linux /proc; 0 elsewhere). */
export function childrenCpuSeconds(): number {
  try {
    // Fields 16 and 17 of /proc/self/stat (cutime, cstime), counted after the ")" that ends the command name.
    const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[13]) + Number(fields[14])) / 100;
  } catch {
    return 0;
  }
}

/**
 * One `fanout run` of the source into every destination, as a user runs it
 * (the command's defaults, its own thread pool size), timed from outside so
 * that its start-up counts. fsyncs are not counted here: the bench counts
 * them with strace in a separate run.
 */
function runCli(job: Extract<ChildJob, { kind: 'cli' }>): ChildResult {
  const cpu = childrenCpuSeconds();
  const t0 = performance.now();
  const run = spawnSync(process.execPath, [job.cliPath, ...cliRunArgs(job.root, job.destinations)], {
    encoding: 'utf8',
    maxBuffer: 1 << 26,
  });
  const seconds = (performance.now() - t0) / 1000;
  if (run.status !== 0) throw new Error(`fanout run exited ${run.status}: ${run.stderr.trim().split('\n').pop()}`);
  return {
    seconds,
    cpuSeconds: childrenCpuSeconds() - cpu,
    fsyncFile: 0,
    fsyncDirectory: 0,
    messages: 0,
    bytes: 0,
    maxRssBytes: 0,
  };
}
