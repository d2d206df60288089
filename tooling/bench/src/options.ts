/**
 * `pnpm bench` options, from flags (`--messages 3000`) or the environment
 * (`FANOUT_BENCH_MESSAGES=3000`); flags win.
 */

/** One batch size × concurrency setting of `fanOut`. */
export interface Setting {
  readonly batchSize: number;
  readonly concurrency: number;
}

/** Everything a bench run is told. */
export interface BenchOptions {
  readonly destinations: number;
  /** Messages of the small size (default 3,000 of 4 KiB, as issue 9 asks). */
  readonly messages: number;
  readonly smallSize: number;
  /** Messages of the large size (default 300 of 256 KiB: same order of bytes as the small run, in reasonable time). */
  readonly largeMessages: number;
  readonly largeSize: number;
  /** Timed rounds per variant; the median is reported. */
  readonly rounds: number;
  /** Settings of the staged protocol tried besides batch 1, concurrency 1 (always run, as the unbatched reference). */
  readonly grid: readonly Setting[];
  /** Settings of the seed protocol. */
  readonly seedGrid: readonly Setting[];
  /** Messages at a time of the extra no-fsync row that is not latency-bound (0: no such row). */
  readonly ceilingParallel: number;
  /** Staged settings run again with `UV_THREADPOOL_SIZE=16`. */
  readonly bigPoolGrid: readonly Setting[];
  /** Spool sizes for the recovery/status scale runs; empty skips them. */
  readonly scale: readonly number[];
  /** Time `fanout run` through the built CLI too. */
  readonly cli: boolean;
  /** Write docs/BENCHMARKS.md. */
  readonly doc: boolean;
  /** Where to put spools; default os.tmpdir() unless that is tmpfs. */
  readonly dir: string | undefined;
  /** Run the matrix of issue 17 (tmpfs and disk; 1, 3, 10 destinations; 1 KiB–16 MiB; enqueue; strace counts). */
  readonly matrix: boolean;
  /** A tmpfs directory for the matrix's tmpfs place; its cases are left out when it is not tmpfs. */
  readonly tmpfsDir: string;
  /** Messages of the matrix's scale case (4 KiB, 3 destinations). */
  readonly manyMessages: number;
  /** Messages of the matrix's 16 MiB case. */
  readonly hugeMessages: number;
  /** Run the scale case on disk too (its naive durable baseline alone takes minutes there). */
  readonly manyOnDisk: boolean;
  /** Count system calls per message with strace (untimed runs). */
  readonly strace: boolean;
  /** Bytes of the stream `fanout enqueue -` reads from stdin. */
  readonly stdinBytes: number;
  /** Run the real-NFS section (tooling/real-nfs's VM) when the harness is installed. */
  readonly nfs: boolean;
  /** Run the real-NFS section only, print it, write no file (`--only-nfs`). */
  readonly onlyNfs: boolean;
  /**
   * Run the matrix of issue 17 only (`--only-matrix`): print it and, unless `--no-doc`, write its section of
   * docs/BENCHMARKS.md (between its own markers) and its JSON and SVG.
   */
  readonly onlyMatrix: boolean;
  /** NFS versions of the real-NFS section, one VM each, in turn. */
  readonly nfsVersions: readonly ('3' | '4.0' | '4.1' | '4.2')[];
  /** Messages of the real-NFS section. */
  readonly nfsMessages: number;
  /** Their size in bytes. */
  readonly nfsSize: number;
  /** Its alternating rounds. */
  readonly nfsRounds: number;
  /** Time limit of one real-NFS VM run, in seconds. */
  readonly nfsLimit: number;
}

const QUICK: Partial<Record<keyof BenchOptions, string>> = {
  messages: '200',
  largeMessages: '20',
  rounds: '1',
  grid: '32x4',
  seedGrid: '32x4',
  bigPoolGrid: '64x16',
  scale: '2000,20000',
  doc: 'false',
  manyMessages: '2000',
  hugeMessages: '2',
  stdinBytes: String(16 << 20),
  nfsMessages: '60',
  nfsRounds: '1',
};

const DEFAULTS: Record<keyof BenchOptions, string> = {
  destinations: '3',
  messages: '3000',
  smallSize: '4096',
  largeMessages: '300',
  largeSize: String(256 * 1024),
  rounds: '3',
  grid: '32x4,128x8',
  seedGrid: '32x4,128x8',
  bigPoolGrid: '32x4,128x16',
  ceilingParallel: '8',
  scale: '20000,200000',
  cli: 'true',
  doc: 'true',
  dir: '',
  matrix: 'true',
  tmpfsDir: '/dev/shm',
  manyMessages: '30000',
  hugeMessages: '10',
  manyOnDisk: 'false',
  strace: 'true',
  stdinBytes: String(256 << 20),
  nfs: 'true',
  onlyNfs: 'false',
  onlyMatrix: 'false',
  nfsVersions: '4.2,3',
  nfsMessages: '300',
  nfsSize: '4096',
  nfsRounds: '3',
  nfsLimit: '1500',
};

function flagName(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

function envName(key: string): string {
  return `FANOUT_BENCH_${flagName(key).replace(/-/g, '_').toUpperCase()}`;
}

/** `64x4,128x8` → settings. */
export function parseSettings(text: string): Setting[] {
  if (text.trim() === '' || text === 'none') return [];
  return text.split(',').map((part) => {
    const m = /^\s*(\d+)x(\d+)\s*$/.exec(part);
    if (!m) throw new Error(`bad setting ${JSON.stringify(part)}: expected <batch>x<concurrency>, e.g. 64x4`);
    return { batchSize: Number(m[1]), concurrency: Number(m[2]) };
  });
}

function positive(key: string, text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1)
    throw new Error(`--${flagName(key)} must be a positive integer, not ${JSON.stringify(text)}`);
  return n;
}

const NFS_VERSIONS = ['3', '4.0', '4.1', '4.2'] as const;

/** `4.2,3` → versions the real-NFS harness mounts. */
export function parseNfsVersions(text: string): BenchOptions['nfsVersions'] {
  return text.split(',').map((part) => {
    const v = part.trim();
    const known = NFS_VERSIONS.find((n) => n === v);
    if (!known) throw new Error(`bad NFS version ${JSON.stringify(part)}: expected one of ${NFS_VERSIONS.join(', ')}`);
    return known;
  });
}

function bool(key: string, text: string): boolean {
  if (text === 'true' || text === '1' || text === '') return true;
  if (text === 'false' || text === '0') return false;
  throw new Error(`--${flagName(key)} must be true or false, not ${JSON.stringify(text)}`);
}

/**
 * Options from `argv` (after the script) and `env`. `--quick` shrinks every
 * count for a smoke run; `--no-cli`, `--no-doc`, `--no-scale`, `--no-matrix`,
 * `--no-strace`, `--no-nfs` switch parts off; `--only-nfs` runs the real-NFS section alone (and writes no file),
 * `--only-matrix` the matrix of issue 17 alone.
 * @throws on an unknown flag or a malformed value.
 */
export function parseOptions(argv: readonly string[], env: Record<string, string | undefined>): BenchOptions {
  const given: Partial<Record<keyof BenchOptions, string>> = {};
  const keys = Object.keys(DEFAULTS) as (keyof BenchOptions)[];
  for (const key of keys) {
    const v = env[envName(key)];
    if (v !== undefined) given[key] = v;
  }
  let quick = env.FANOUT_BENCH_QUICK === '1';
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--quick') {
      quick = true;
      continue;
    }
    const off = /^--no-(cli|doc|scale|matrix|strace|nfs)$/.exec(arg);
    if (off) {
      given[off[1] === 'scale' ? 'scale' : (off[1] as 'cli' | 'doc' | 'matrix' | 'strace' | 'nfs')] =
        off[1] === 'scale' ? '' : 'false';
      continue;
    }
    if (arg === '--only-nfs' || arg === '--only-matrix') {
      given[arg === '--only-nfs' ? 'onlyNfs' : 'onlyMatrix'] = 'true';
      continue;
    }
    const [flag, inline] = arg.split('=', 2) as [string, string | undefined];
    const key = keys.find((k) => `--${flagName(k)}` === flag);
    if (!key) throw new Error(`unknown option ${arg}`);
    const value = inline ?? argv[++i];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    given[key] = value;
  }
  const text = (key: keyof BenchOptions) => given[key] ?? (quick ? QUICK[key] : undefined) ?? DEFAULTS[key];
  return {
    destinations: positive('destinations', text('destinations')),
    messages: positive('messages', text('messages')),
    smallSize: positive('smallSize', text('smallSize')),
    largeMessages: positive('largeMessages', text('largeMessages')),
    largeSize: positive('largeSize', text('largeSize')),
    rounds: positive('rounds', text('rounds')),
    grid: parseSettings(text('grid')),
    seedGrid: parseSettings(text('seedGrid')),
    bigPoolGrid: parseSettings(text('bigPoolGrid')),
    ceilingParallel: text('ceilingParallel') === '0' ? 0 : positive('ceilingParallel', text('ceilingParallel')),
    scale:
      text('scale') === ''
        ? []
        : text('scale')
            .split(',')
            .map((s) => positive('scale', s.trim())),
    cli: bool('cli', text('cli')),
    doc: bool('doc', text('doc')),
    dir: text('dir') === '' ? undefined : text('dir'),
    matrix: bool('matrix', text('matrix')),
    tmpfsDir: text('tmpfsDir'),
    manyMessages: positive('manyMessages', text('manyMessages')),
    hugeMessages: positive('hugeMessages', text('hugeMessages')),
    manyOnDisk: bool('manyOnDisk', text('manyOnDisk')),
    strace: bool('strace', text('strace')),
    stdinBytes: positive('stdinBytes', text('stdinBytes')),
    nfs: bool('nfs', text('nfs')),
    onlyNfs: bool('onlyNfs', text('onlyNfs')),
    onlyMatrix: bool('onlyMatrix', text('onlyMatrix')),
    nfsVersions: parseNfsVersions(text('nfsVersions')),
    nfsMessages: positive('nfsMessages', text('nfsMessages')),
    nfsSize: positive('nfsSize', text('nfsSize')),
    nfsRounds: positive('nfsRounds', text('nfsRounds')),
    nfsLimit: positive('nfsLimit', text('nfsLimit')),
  };
}
