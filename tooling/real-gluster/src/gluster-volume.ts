/**
 * Runs one command against a real GlusterFS volume (a private glusterd and its bricks in a network namespace of
 * their own) mounted by two FUSE clients in two more namespaces: two hosts as the server sees them. The set-up and
 * the tear-down are `../gluster/harness.sh`; this module runs it in a process group of its own, enforces a time
 * limit, and makes sure nothing of the run is left when the promise settles (or this process exits first).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The volume types the harness makes: DHT over the bricks, or AFR (every brick has every file). */
export type GlusterVolumeType = 'distribute' | 'replica';

/** What {@link runOnGluster} runs, and how. */
export interface GlusterRunOptions {
  /** The command and its arguments; it sees `GL_A`, `GL_B`, `GL_CTL`, `GL_BRICKS`, `GL_TYPE`. */
  readonly command: readonly string[];
  /** Default `replica`, the volume fs-nfs serves (see README.md). */
  readonly type?: GlusterVolumeType;
  /** Number of bricks, default 2. */
  readonly bricks?: number;
  /** The volume's `network.ping-timeout` in seconds (a cut-off client's calls fail after it), default 5. */
  readonly pingTimeoutS?: number;
  /** Working directory of the command; default the repository root. */
  readonly cwd?: string;
  /** Added to this process's environment for the command. */
  readonly env?: Readonly<Record<string, string>>;
  /** Stop the command and tear down after this long; default 10 minutes. */
  readonly timeoutMs?: number;
  /** Called with the command's and the harness's output as it comes. */
  readonly onOutput?: (text: string) => void;
}

/** How a run ended. */
export interface GlusterRunResult {
  /** The command's exit status; 125 when the set-up failed before running it, 124 on the time limit. */
  readonly status: number;
  /** The command's stdout and stderr and the harness's `[real-gluster …]` lines. */
  readonly output: string;
  /** Wall-clock time of the whole run, set-up and tear-down included. */
  readonly seconds: number;
  readonly timedOut: boolean;
  /** The run's id: its namespaces are `fgs<id>`, `fgc1<id>`, `fgc2<id>`, its bridge `fgbr<id>`. */
  readonly runId: string | undefined;
  /** The run's directory (bricks, mounts, logs), removed by the tear-down. */
  readonly runDirectory: string | undefined;
}

/** The repository root (`tooling/real-gluster/{src,dist}/` → `../../..`). */
export const REPO_ROOT = resolve(fileURLToPath(new URL('../../..', import.meta.url)));
const HARNESS = fileURLToPath(new URL('../gluster/harness.sh', import.meta.url));

function onPath(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

/**
 * Why the harness cannot run on this machine (not Linux, not root, a missing package, no FUSE), or undefined when it
 * can. `gluster/install.sh` installs what is missing.
 */
export function glusterMissing(): string | undefined {
  if (process.platform !== 'linux') return 'GlusterFS and network namespaces need a Linux host';
  if (process.getuid?.() !== 0) return 'the harness runs as root (network namespaces, glusterd, FUSE mounts)';
  for (const [tool, pkg] of [
    ['glusterd', 'glusterfs-server'],
    ['gluster', 'glusterfs-server'],
    ['glusterfs', 'glusterfs-client'],
    ['mount.glusterfs', 'glusterfs-client'],
    ['ip', 'iproute2'],
    ['nsenter', 'util-linux'],
    ['setsid', 'util-linux'],
  ] as const) {
    if (!onPath(tool)) return `${tool} is not installed (apt-get install ${pkg}, or gluster/install.sh)`;
  }
  if (!existsSync('/dev/fuse')) return '/dev/fuse is missing: the GlusterFS client mounts through FUSE';
  return undefined;
}

/** Harnesses still running, sent TERM (their tear-down runs) if this process exits before they do. */
const running = new Set<number>();
process.once('exit', () => {
  for (const pid of running) signal(pid, 'SIGTERM');
});

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/** What is left of run `id` on this machine: namespaces, its bridge, mounts of its directory, its processes. */
export function leftoversOf(runId: string, runDirectory: string | undefined): string[] {
  const left: string[] = [];
  const netns = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout ?? '';
  for (const ns of [`fgs${runId}`, `fgc1${runId}`, `fgc2${runId}`]) {
    if (netns.split('\n').some((line) => line.split(' ')[0] === ns)) left.push(`network namespace ${ns}`);
  }
  if (spawnSync('ip', ['link', 'show', `fgbr${runId}`], { stdio: 'ignore' }).status === 0) {
    left.push(`bridge fgbr${runId}`);
  }
  if (runDirectory !== undefined) {
    if (existsSync(runDirectory)) left.push(`directory ${runDirectory}`);
    const mounts = readFileSync('/proc/mounts', 'utf8');
    for (const line of mounts.split('\n')) if (line.includes(runDirectory)) left.push(`mount ${line}`);
    const procs = spawnSync('pgrep', ['-af', runDirectory], { encoding: 'utf8' }).stdout ?? '';
    for (const line of procs.split('\n')) if (line.trim() !== '') left.push(`process ${line}`);
  }
  return left;
}

/**
 * Set up the volume and its two client mounts, run `options.command` against them, tear everything down, and
 * resolve with the command's status and output.
 * @throws Error when the harness is missing ({@link glusterMissing}).
 */
export async function runOnGluster(options: GlusterRunOptions): Promise<GlusterRunResult> {
  const missing = glusterMissing();
  if (missing !== undefined) throw new Error(`real-gluster: cannot set up GlusterFS: ${missing}`);
  const limitMs = options.timeoutMs ?? 600_000;
  const args = [
    HARNESS,
    '-t',
    options.type ?? 'replica',
    '-n',
    String(options.bricks ?? 2),
    '-p',
    String(options.pingTimeoutS ?? 5),
    '--',
    ...options.command,
  ];
  const started = Date.now();
  const harness = spawn('bash', args, {
    cwd: options.cwd ?? REPO_ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...options.env },
  });
  const pid = harness.pid;
  if (pid !== undefined) running.add(pid);
  let output = '';
  const take = (chunk: Buffer) => {
    const text = chunk.toString('utf8');
    output += text;
    options.onOutput?.(text);
  };
  harness.stdout.on('data', take);
  harness.stderr.on('data', take);
  let timedOut = false;
  let killer: NodeJS.Timeout | undefined;
  const timer = setTimeout(() => {
    timedOut = true;
    if (pid === undefined) return;
    // TERM: the harness stops the command and tears down; KILL of its group only if that hangs.
    signal(pid, 'SIGTERM');
    killer = setTimeout(() => signal(-pid, 'SIGKILL'), 60_000);
  }, limitMs);
  let code: number | null;
  try {
    code = await new Promise<number | null>((done, failed) => {
      harness.once('error', failed);
      harness.once('close', (status) => done(status));
    });
  } finally {
    clearTimeout(timer);
    if (killer !== undefined) clearTimeout(killer);
    if (pid !== undefined) running.delete(pid);
  }
  const run = /\[real-gluster \d+ms\] run (\d+) in (\S+):/.exec(output);
  const ran = output.includes('] running the command');
  if (timedOut) output += `[real-gluster] stopped the run after ${limitMs} ms\n`;
  const status = timedOut ? 124 : !ran ? 125 : (code ?? 125);
  return {
    status,
    output,
    seconds: (Date.now() - started) / 1000,
    timedOut,
    runId: run?.[1],
    runDirectory: run?.[2],
  };
}
