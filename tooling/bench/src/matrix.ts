/**
 * The matrix of issue 17: `fanout run` (the command, and `fanOut` in-process
 * with the command's defaults) against the naive durable copy and the
 * no-fsync copy, on tmpfs and on disk, for 1, 3 and 10 destinations and
 * 1 KiB to 16 MiB messages; `fanout enqueue` against `cp` and one sync; and,
 * in untimed runs under strace, system calls and futex calls per message.
 * Each case's variants run in alternating order, round after round, each on
 * fresh spools; medians and spread (min–max) are reported.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { DEFAULT_BATCH_SIZE, DEFAULT_CONCURRENCY } from '@fanout/core';
import { childrenCpuSeconds, cliRunArgs, type ChildJob, type ChildResult } from './child-job.js';
import { formatSize } from './figures.js';
import { matrixCases, parseStraceSummary, type MatrixCase, type MatrixShape, type PlaceName } from './matrix-cases.js';
import { seededMessages } from './seeded-bytes.js';

/** What the matrix borrows from main.ts (so that main.ts stays the one owner of spools and children). */
export interface MatrixHelpers {
  inChild(job: ChildJob, env?: Record<string, string>): Promise<ChildResult>;
  generateInput(
    dir: string,
    size: number,
    count: number,
  ): { size: number; count: number; dir: string; ids: readonly string[] };
  prepareSpools(
    root: string,
    input: { size: number; count: number; dir: string; ids: readonly string[] },
    destinations: number,
  ): Promise<void>;
  verify(
    root: string,
    input: { size: number; count: number; dir: string; ids: readonly string[] },
    destinations: number,
    sampleIds: boolean,
  ): void;
  log(line: string): void;
}

/**
 * The ways of moving one case's messages. The two copies are Node scripts making node:fs's synchronous calls, the
 * fastest way a script makes them (the goals' baselines); the same no-fsync copy through the promise API, one call at
 * a time, shows what a promise and a thread-pool round trip per call cost. The protocol floor makes fanOut's own
 * calls for each batch synchronously and nothing else: what the protocol's calls cost in Node, with no machinery.
 */
export const MATRIX_VARIANTS = [
  'fanout run',
  'fanOut in-process',
  'naive durable copy',
  'no-fsync copy',
  'no-fsync copy, promise API',
  'protocol floor',
] as const;
export type MatrixVariant = (typeof MATRIX_VARIANTS)[number];

/** One variant of one case: every round's wall and CPU seconds. */
export interface MatrixResult extends MatrixCase {
  readonly variant: MatrixVariant;
  readonly seconds: number[];
  readonly cpuSeconds: number[];
  readonly maxRssBytes: number[];
}

/** System calls of an untimed `fanout run` of one case, per message. */
export interface TracedCase extends MatrixCase {
  readonly futexPerMessage: number;
  readonly otherPerMessage: number;
  /** The ten most frequent other calls, per message. */
  readonly top: [string, number][];
}

/** `fanout enqueue` and its baselines. */
export interface EnqueueResult {
  readonly place: PlaceName;
  readonly what:
    'fanout enqueue <files>' | 'cp <files> + sync -f' | 'fanout enqueue - (stdin)' | 'cat > file + sync -f';
  readonly count: number;
  readonly size: number;
  readonly seconds: number[];
  readonly cpuSeconds: number[];
}

/** Everything the matrix measured, as written to JSON. */
export interface MatrixReport {
  readonly places: Record<PlaceName, string>;
  readonly rounds: number;
  readonly results: MatrixResult[];
  readonly traced: TracedCase[];
  readonly enqueue: EnqueueResult[];
}

/** Options of one matrix run. */
export interface MatrixOptions extends MatrixShape {
  readonly rounds: number;
  readonly places: readonly { name: PlaceName; dir: string }[];
  readonly cliPath: string;
  /** Trace the 4 KiB and 1 KiB cases (and the 256 KiB one on tmpfs) with strace. */
  readonly strace: boolean;
  /** Size of the message streamed into `fanout enqueue -`. */
  readonly stdinBytes: number;
}

/** The command's defaults, for the in-process row: what `fanout run` does, minus start-up and argument parsing. */
const IN_PROCESS = {
  kind: 'fanout',
  protocol: 'staged',
  batchSize: DEFAULT_BATCH_SIZE,
  concurrency: DEFAULT_CONCURRENCY,
} as const;

function jobOf(
  variant: MatrixVariant,
  root: string,
  destinations: number,
  cliPath: string,
): { job: ChildJob; env?: Record<string, string> } {
  switch (variant) {
    case 'fanout run':
      return { job: { kind: 'cli', root, destinations, cliPath } };
    case 'fanOut in-process':
      return { job: { ...IN_PROCESS, root, destinations }, env: { UV_THREADPOOL_SIZE: '16' } };
    case 'naive durable copy':
      return { job: { kind: 'naive', root, destinations, durable: true, sync: true } };
    case 'no-fsync copy':
      return { job: { kind: 'naive', root, destinations, durable: false, sync: true } };
    case 'no-fsync copy, promise API':
      return { job: { kind: 'naive', root, destinations, durable: false } };
    case 'protocol floor':
      return { job: { kind: 'floor', root, destinations, batchSize: DEFAULT_BATCH_SIZE } };
  }
}

function caseName(c: MatrixCase): string {
  return `${c.place} ${formatSize(c.size)} × ${c.count} → ${c.destinations}`;
}

async function runCase(
  c: MatrixCase,
  dir: string,
  o: MatrixOptions,
  h: MatrixHelpers,
): Promise<{ results: MatrixResult[]; traced?: TracedCase }> {
  const input = h.generateInput(join(dir, 'matrix-input'), c.size, c.count);
  const results: MatrixResult[] = MATRIX_VARIANTS.map((variant) => ({
    ...c,
    variant,
    seconds: [],
    cpuSeconds: [],
    maxRssBytes: [],
  }));
  const root = join(dir, 'matrix-run');
  try {
    for (let round = 1; round <= o.rounds; round++) {
      // Alternate the order too, so that no variant always runs right after the same neighbour.
      const order = round % 2 === 1 ? results : [...results].reverse();
      for (const r of order) {
        await h.prepareSpools(root, input, c.destinations);
        const { job, env } = jobOf(r.variant, root, c.destinations, o.cliPath);
        const got = await h.inChild(job, env);
        h.verify(root, input, c.destinations, true);
        r.seconds.push(got.seconds);
        r.cpuSeconds.push(got.cpuSeconds);
        r.maxRssBytes.push(got.maxRssBytes);
        h.log(
          `matrix round ${round}/${o.rounds} ${caseName(c)}: ${r.variant}: ${got.seconds.toFixed(3)} s, ` +
            `CPU ${((1e6 * got.cpuSeconds) / c.count).toFixed(0)} µs/message`,
        );
      }
    }
    const traced =
      o.strace && (c.size <= 4096 || (c.place === 'tmpfs' && c.size <= 256 * 1024)) && c.count <= o.messages
        ? await trace(c, root, input, o, h)
        : undefined;
    return traced ? { results, traced } : { results };
  } finally {
    rmSync(root, { recursive: true, force: true });
    rmSync(input.dir, { recursive: true, force: true });
  }
}

/** An untimed `fanout run` under `strace -f -c`: system calls and futex calls per message. */
async function trace(
  c: MatrixCase,
  root: string,
  input: Parameters<MatrixHelpers['verify']>[1],
  o: MatrixOptions,
  h: MatrixHelpers,
): Promise<TracedCase | undefined> {
  if (spawnSync('strace', ['-V'], { stdio: 'ignore' }).status !== 0) return undefined;
  await h.prepareSpools(root, input, c.destinations);
  const report = join(root, '..', 'matrix-strace.txt');
  const run = spawnSync(
    'strace',
    ['-f', '-c', '-o', report, process.execPath, o.cliPath, ...cliRunArgs(root, c.destinations)],
    { encoding: 'utf8', maxBuffer: 1 << 26 },
  );
  if (run.status !== 0)
    throw new Error(`fanout run under strace exited ${run.status}: ${run.stderr.trim().split('\n').pop()}`);
  h.verify(root, input, c.destinations, false);
  const counts = parseStraceSummary(readFileSync(report, 'utf8'));
  rmSync(report, { force: true });
  const top = [...counts.byName]
    .filter(([n]) => n !== 'futex')
    .sort((a, b) => b[1] - a[1])
    .slice(0, 10)
    .map(([n, k]): [string, number] => [n, k / c.count]);
  h.log(
    `matrix strace ${caseName(c)}: ${(counts.futex / c.count).toFixed(1)} ` +
      `futex, ${(counts.other / c.count).toFixed(1)} other calls per message`,
  );
  return { ...c, futexPerMessage: counts.futex / c.count, otherPerMessage: counts.other / c.count, top };
}

/** Run `argv` (a shell line when `shell`), timed from outside; CPU of the waited-for children. */
function timeCommand(argv: string[], h: MatrixHelpers): { seconds: number; cpuSeconds: number } {
  const cpu = childrenCpuSeconds();
  const t0 = performance.now();
  const run = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', maxBuffer: 1 << 26 });
  const seconds = (performance.now() - t0) / 1000;
  if (run.status !== 0)
    throw new Error(`${argv.slice(0, 3).join(' ')}… exited ${run.status}: ${run.stderr.trim().split('\n').pop()}`);
  const cpuSeconds = childrenCpuSeconds() - cpu;
  h.log(`matrix enqueue: ${argv.slice(0, 2).join(' ')}…: ${seconds.toFixed(3)} s`);
  return { seconds, cpuSeconds };
}

/**
 * `fanout enqueue` of `o.messages` 4 KiB files (one command) against `cp` of
 * the same files and one `sync -f` of the spool's filesystem; and of one
 * stream of `o.stdinBytes` on stdin against `cat` into a file and `sync -f`.
 */
async function measureEnqueue(
  place: { name: PlaceName; dir: string },
  o: MatrixOptions,
  h: MatrixHelpers,
): Promise<EnqueueResult[]> {
  const input = h.generateInput(join(place.dir, 'enqueue-input'), 4096, o.messages);
  const stream = join(place.dir, 'enqueue-stream');
  const fd = openSync(stream, 'w');
  for (const chunk of seededMessages(0x57d1, Math.ceil(o.stdinBytes / (1 << 20)), 1 << 20)) writeSync(fd, chunk);
  closeSync(fd);
  const spool = join(place.dir, 'enqueue-spool');
  const files = input.ids.map((id) => join(input.dir, id));
  const out: EnqueueResult[] = (
    ['fanout enqueue <files>', 'cp <files> + sync -f', 'fanout enqueue - (stdin)', 'cat > file + sync -f'] as const
  ).map((what) => ({
    place: place.name,
    what,
    count: what.includes('files') ? o.messages : 1,
    size: what.includes('files') ? 4096 : o.stdinBytes,
    seconds: [],
    cpuSeconds: [],
  }));
  const argvOf = (what: EnqueueResult['what']): string[] => {
    switch (what) {
      case 'fanout enqueue <files>':
        return [process.execPath, o.cliPath, 'enqueue', spool, ...files];
      case 'cp <files> + sync -f':
        return ['sh', '-c', 'dir="$1"; shift; cp -- "$@" "$dir"/ && sync -f "$dir"', 'sh', spool, ...files];
      case 'fanout enqueue - (stdin)':
        return ['sh', '-c', 'cat "$1" | "$2" "$3" enqueue "$4" -', 'sh', stream, process.execPath, o.cliPath, spool];
      case 'cat > file + sync -f':
        return ['sh', '-c', 'cat "$1" > "$2/sX" && sync -f "$2"', 'sh', stream, spool];
    }
  };
  try {
    for (let round = 1; round <= o.rounds; round++) {
      for (const r of round % 2 === 1 ? out : [...out].reverse()) {
        rmSync(spool, { recursive: true, force: true });
        mkdirSync(spool, { recursive: true });
        if (r.what.startsWith('fanout')) spawnSync(process.execPath, [o.cliPath, 'init', spool], { stdio: 'ignore' });
        spawnSync('sync', ['-f', spool], { stdio: 'ignore' });
        const t = timeCommand(argvOf(r.what), h);
        r.seconds.push(t.seconds);
        r.cpuSeconds.push(t.cpuSeconds);
      }
    }
  } finally {
    rmSync(spool, { recursive: true, force: true });
    rmSync(stream, { force: true });
    rmSync(input.dir, { recursive: true, force: true });
  }
  return out;
}

/** Run the whole matrix: every case of every place, then the enqueue rows of each place. */
export async function measureMatrix(o: MatrixOptions, h: MatrixHelpers): Promise<MatrixReport> {
  const results: MatrixResult[] = [];
  const traced: TracedCase[] = [];
  const enqueue: EnqueueResult[] = [];
  for (const place of o.places) {
    mkdirSync(place.dir, { recursive: true });
    try {
      for (const c of matrixCases(place.name, o)) {
        const r = await runCase(c, place.dir, o, h);
        results.push(...r.results);
        if (r.traced) traced.push(r.traced);
      }
      enqueue.push(...(await measureEnqueue(place, o, h)));
    } finally {
      rmSync(join(place.dir, 'matrix-input'), { recursive: true, force: true });
    }
  }
  return {
    places: Object.fromEntries(o.places.map((p) => [p.name, p.dir])) as Record<PlaceName, string>,
    rounds: o.rounds,
    results,
    traced,
    enqueue,
  };
}
