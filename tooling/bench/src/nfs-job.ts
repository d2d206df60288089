/**
 * The real-NFS bench job, run inside the VM of `@fanout/real-nfs` as one
 * node process (a process start costs seconds under UML):
 * `node tooling/bench/dist/nfs-job.js '{"messages":300,"size":4096,"rounds":3,"destinations":3}'`.
 *
 * On `$NFS_A` it first runs each variant once untimed with its file-system
 * calls counted (a warm-up too: the JIT, the export's fresh ext4), then times,
 * in alternating rounds, each on freshly created spools: `fanOut` (staged, its
 * defaults) over fs-nfs spools opened as the CLI opens them
 * (`openSpool('nfs:///…')`), the naive durable copy and the no-fsync copy over
 * `nodePosixFs`. Progress goes to stderr; the result is one JSON line on
 * stdout (nfs-report.ts reads it).
 */
import { readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fanOut, initSpool, openSpool, type SpoolBackend } from '@fanout/core';
import { NfsBackend } from '@fanout/fs-nfs';
import { nfsDescriptor } from '@fanout/fs-nfs/descriptor';
import { nodePosixFs, type PosixFs } from '@fanout/fs-posix';
import { destinationNames } from './child-job.js';
import { callCountingFs, countingFs } from './counting-fs.js';
import { mountOf } from './machine.js';
import { naiveCopy } from './naive-copy.js';
import {
  NFS_VARIANTS,
  type NfsCounted,
  type NfsJob,
  type NfsJobResult,
  type NfsVariant,
  totalCalls,
} from './nfs-report.js';
import { messageId, seededMessages } from './seeded-bytes.js';

function log(line: string): void {
  process.stderr.write(`nfs-bench: ${line}\n`);
}

/** The spool at `path`, opened as `fanout run` opens `nfs:///path`. */
function nfsSpool(path: string): Promise<SpoolBackend> {
  return openSpool(`nfs://${path}`, { backends: [nfsDescriptor] });
}

/** Names a spool directory holds besides its identity and the client's silly renames. */
async function entriesOf(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((n) => n !== '.fanout-spool' && !n.startsWith('.nfs'));
}

/**
 * Fresh spools `<root>/S`, `<root>/D1…` with identities, the input as `s<id>` in S (closed, so written back to the
 * server).
 */
async function prepare(root: string, input: readonly Uint8Array[], destinations: number): Promise<void> {
  await mkdir(root, { recursive: true });
  for (const name of ['S', ...destinationNames(destinations)]) await initSpool(await nfsSpool(join(root, name)));
  for (let i = 0; i < input.length; i++) await writeFile(join(root, 'S', `s${messageId(i + 1)}`), input[i]!);
}

/** The source is empty, every destination holds every message once, and one of them is intact. */
async function verify(root: string, input: readonly Uint8Array[], destinations: number): Promise<void> {
  const left = await entriesOf(join(root, 'S'));
  if (left.length > 0) throw new Error(`${root}/S still holds ${left.length} entries, e.g. ${left[0]}`);
  const sample = input.length >> 1;
  for (const d of destinationNames(destinations)) {
    const names = await entriesOf(join(root, d));
    const delivered = names.filter((n) => n.startsWith('d')).length;
    if (delivered !== input.length || names.length !== input.length) {
      throw new Error(
        `${root}/${d}: ${delivered} delivered of ${input.length}, ${names.length - delivered} other entries`,
      );
    }
    if (!(await readFile(join(root, d, `d${messageId(sample + 1)}`))).equals(input[sample]!))
      throw new Error(`${root}/${d}: message ${sample + 1} differs from its input`);
  }
}

/**
 * One run of `variant` from `<root>/S`; its seconds. With `fs`, the run goes
 * through it (fanOut: `NfsBackend`s over it, as openNfsSpool makes them but
 * for the fs) so that its calls are counted.
 */
async function run(variant: NfsVariant, root: string, destinations: number, fs?: PosixFs): Promise<number> {
  const dests = destinationNames(destinations).map((d) => join(root, d));
  if (variant === 'fanout') {
    const open = (path: string) =>
      fs ? Promise.resolve(new NfsBackend({ root: path, location: `nfs://${path}`, fs })) : nfsSpool(path);
    const source = await open(join(root, 'S'));
    const spools = await Promise.all(dests.map(async (d) => ({ spool: await open(d) })));
    const t0 = performance.now();
    const s = await fanOut({ source, destinations: spools, protocol: 'staged' });
    const seconds = (performance.now() - t0) / 1000;
    if (s.failed.length > 0)
      throw new Error(`fanOut failed ${s.failed.length} messages, first: ${s.failed[0]!.error.message}`);
    return seconds;
  }
  const t0 = performance.now();
  await naiveCopy(fs ?? nodePosixFs, join(root, 'S'), dests, variant === 'naive');
  return (performance.now() - t0) / 1000;
}

/** Run the job on the mount `mount` and resolve its result. */
export async function runNfsJob(job: NfsJob, mount: string, vers: string): Promise<NfsJobResult> {
  const started = performance.now();
  const base = join(mount, `fanout-bench-${process.pid}`);
  const input = [...seededMessages(0x5eed ^ job.size, job.messages, job.size)];
  const seconds: Record<NfsVariant, number[]> = { fanout: [], naive: [], ceiling: [] };
  const counted = {} as Record<NfsVariant, NfsCounted>;
  try {
    for (const variant of NFS_VARIANTS) {
      const root = join(base, `counted-${variant}`);
      await prepare(root, input, job.destinations);
      const { fs: callFs, callCounts } = callCountingFs(nodePosixFs);
      const { fs, counts } = countingFs(callFs);
      const s = await run(variant, root, job.destinations, fs);
      await verify(root, input, job.destinations);
      counted[variant] = { seconds: s, calls: callCounts(), fsyncFile: counts.file, fsyncDirectory: counts.directory };
      const perMessage = totalCalls(counted[variant]) / job.messages;
      log(`counted ${variant}: ${s.toFixed(2)} s (untimed), ${perMessage.toFixed(1)} fs calls/message`);
      await rm(root, { recursive: true, force: true });
    }
    for (let round = 1; round <= job.rounds; round++) {
      for (const variant of NFS_VARIANTS) {
        const root = join(base, `${round}-${variant}`);
        await prepare(root, input, job.destinations);
        const s = await run(variant, root, job.destinations);
        await verify(root, input, job.destinations);
        seconds[variant].push(s);
        log(`round ${round}/${job.rounds} ${variant}: ${s.toFixed(2)} s (${(job.messages / s).toFixed(1)} messages/s)`);
        await rm(root, { recursive: true, force: true });
      }
    }
  } finally {
    await rm(base, { recursive: true, force: true });
  }
  const m = mountOf(mount, readFileSync('/proc/mounts', 'utf8'));
  return {
    kind: 'fanout-nfs-bench',
    vers,
    mount,
    mountOptions: m && m.mountPoint === mount ? `${m.type} ${m.options}` : 'not found in /proc/mounts',
    messages: job.messages,
    size: job.size,
    destinations: job.destinations,
    seconds,
    counted,
    jobSeconds: (performance.now() - started) / 1000,
  };
}

const mount = process.env.NFS_A;
if (mount === undefined || mount === '') {
  process.stderr.write('nfs-bench: NFS_A is not set: this job runs inside the real-NFS VM (pnpm bench --only-nfs)\n');
  process.exitCode = 2;
} else {
  const job = JSON.parse(process.argv[2] ?? '{}') as Partial<NfsJob>;
  const full: NfsJob = {
    messages: job.messages ?? 300,
    size: job.size ?? 4096,
    rounds: job.rounds ?? 3,
    destinations: job.destinations ?? 3,
  };
  runNfsJob(full, mount, process.env.NFS_VERS ?? 'unknown').then(
    (r) => process.stdout.write(`${JSON.stringify(r)}\n`),
    (err: unknown) => {
      process.stderr.write(`nfs-bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
