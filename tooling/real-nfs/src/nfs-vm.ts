/**
 * Boots a User-Mode Linux kernel with kernel nfsd and two kernel NFS client
 * mounts (two hosts as the server sees them), runs one command in it, and
 * collects its output and exit status. Everything it starts (the UML
 * processes, their run directory, the exported filesystem image) is gone when
 * the promise settles. The scripts that run inside are in `../vm/`.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chmod, copyFile, mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The NFS versions the harness mounts. */
export type NfsVersion = '3' | '4.0' | '4.1' | '4.2';

/** What {@link runInNfsVm} runs, and how. */
export interface NfsVmOptions {
  /** NFS version of both client mounts. */
  readonly vers: NfsVersion;
  /** The command and its arguments, run with the environment below and `cwd`. */
  readonly command: readonly string[];
  /** Working directory of the command; must lie under one of `dirs`. Default: the repository root. */
  readonly cwd?: string;
  /**
   * Host directories visible read-write at the same path inside (the rest of `/` is read-only). Default: the repository
   * root.
   */
  readonly dirs?: readonly string[];
  /** Added to this process's environment for the command. */
  readonly env?: Readonly<Record<string, string>>;
  /** Extra client mount options (`actimeo=0`, `soft,timeo=10,retrans=1`, …). */
  readonly mountOptions?: string;
  /** What the server exports: an ext4 image (default) or a tmpfs. */
  readonly exportFs?: 'ext4' | 'tmpfs';
  /** UML memory, default `2G`. */
  readonly memory?: string;
  /** Kill the VM after this long; default 10 minutes. */
  readonly timeoutMs?: number;
  /** Called with the VM console's output as it comes (the command's stdout and stderr, the harness's lines). */
  readonly onOutput?: (text: string) => void;
}

/** How a VM run ended. */
export interface NfsVmResult {
  /** The command's exit status; 125 when the VM failed before running it, 124 on the time limit. */
  readonly status: number;
  /** The VM console: the command's stdout and stderr and the harness's `[real-nfs …]` lines. */
  readonly output: string;
  /** Wall-clock time of the whole VM run. */
  readonly seconds: number;
  readonly timedOut: boolean;
  /** Where the run kept its scripts and export image (removed when the promise settles). */
  readonly runDirectory: string;
  /** The UML instance's id (its processes are killed, `~/.uml/<umid>` removed). */
  readonly umid: string;
}

/** The repository root (`tooling/real-nfs/{src,dist}/` → `../../..`). */
export const REPO_ROOT = resolve(fileURLToPath(new URL('../../..', import.meta.url)));
const VM_SCRIPTS = fileURLToPath(new URL('../vm/', import.meta.url));
const UML_MODULES = '/usr/lib/uml/modules';

/** Lines UML prints at every boot that say nothing. */
const NOISE =
  /^(Checking |Core dump limits|\tsoft - |\thard - |Adding \d+ bytes to physical|Powering off\.|reboot: System halted)/;

/** Variables of ours that must not leak into the VM's shell. */
const LOCAL_ONLY = new Set(['PWD', 'OLDPWD', 'SHLVL', '_', 'TMPDIR', 'HOME', 'HOSTNAME']);

function onPath(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

/**
 * Why the harness cannot run on this machine (a missing package, not root),
 * or undefined when it can. `vm/install.sh` installs what is missing.
 */
export function nfsVmMissing(): string | undefined {
  if (process.platform !== 'linux') return 'User-Mode Linux needs a Linux host';
  if (process.getuid?.() !== 0) return 'the harness runs as root (the VM mounts the project directory read-write)';
  if (!onPath('linux.uml'))
    return 'linux.uml is not installed (apt-get install user-mode-linux, or tooling/real-nfs/vm/install.sh)';
  if (!existsSync('/usr/sbin/rpc.nfsd')) return 'rpc.nfsd is not installed (apt-get install nfs-kernel-server)';
  for (const tool of ['ip', 'tc', 'mkfs.ext4', 'nsenter', 'unshare', 'iptables-legacy']) {
    if (!onPath(tool)) return `${tool} is not installed (tooling/real-nfs/vm/install.sh)`;
  }
  if (umlKernelVersion() === undefined) return `no UML kernel modules in ${UML_MODULES}`;
  return undefined;
}

function umlKernelVersion(): string | undefined {
  if (!existsSync(UML_MODULES)) return undefined;
  const versions = readdirSync(UML_MODULES).sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  return versions.at(-1);
}

/** A value as one bash word. */
function shellWord(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

function bashArray(name: string, values: readonly string[]): string {
  return `${name}=(${values.map(shellWord).join(' ')})\n`;
}

function envFile(env: NodeJS.ProcessEnv): string {
  let text = '';
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined || LOCAL_ONLY.has(key) || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) continue;
    text += `export ${key}=${shellWord(value)}\n`;
  }
  return text;
}

/** VMs still running, killed if this process exits before they do. */
const running = new Set<number>();
process.once('exit', () => {
  for (const pgid of running) killGroup(pgid);
});

function killGroup(pgid: number): void {
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/**
 * Boot the VM, run `options.command` against the two mounts, and resolve
 * with its exit status and output once the VM is down and cleaned up.
 *
 * Inside, the command sees `NFS_A` and `NFS_B` (client 1's and client 2's
 * mount of one export), `NFS_SERVER_DIR` (the export as the server sees it),
 * `NFS_VERS`, `NFS_CTL` (fault control: `partition|heal c1|c2`,
 * `netem-in|netem-out c1|c2 '<netem spec>'`, `stop-server`, `start-server`,
 * `restart-server`) and `NFS_ON` (`$NFS_ON c2 cmd…` runs cmd as a process of
 * host `client2`).
 * @throws Error when the harness is missing ({@link nfsVmMissing}) or cwd lies outside `dirs`.
 */
export async function runInNfsVm(options: NfsVmOptions): Promise<NfsVmResult> {
  const missing = nfsVmMissing();
  if (missing !== undefined) throw new Error(`real-nfs: cannot boot the VM: ${missing}`);
  const kernel = umlKernelVersion() ?? '';
  const dirs = (options.dirs ?? [REPO_ROOT]).map((d) => resolve(d));
  const cwd = resolve(options.cwd ?? dirs[0] ?? REPO_ROOT);
  if (!dirs.some((d) => cwd === d || cwd.startsWith(`${d}/`))) {
    throw new Error(`real-nfs: cwd ${cwd} is not under the directories shared with the VM (${dirs.join(', ')})`);
  }
  const exportFs = options.exportFs ?? 'ext4';
  const run = await mkdtemp(join(tmpdir(), 'fanout-real-nfs-'));
  const umid = `fanout-nfs-${process.pid}-${Date.now().toString(36)}`;
  const started = Date.now();
  try {
    for (const script of ['stage1.sh', 'stage2.sh', 'ctl.sh', 'on.sh']) {
      await copyFile(join(VM_SCRIPTS, script), join(run, script));
      await chmod(join(run, script), 0o755);
    }
    const cfg =
      `VERS=${shellWord(options.vers)}\nOPTS=${shellWord(options.mountOptions ?? '')}\n` +
      `FSTYPE=${shellWord(exportFs)}\nKV=${shellWord(kernel)}\nRUN=${shellWord(run)}\nCWD=${shellWord(cwd)}\n` +
      bashArray('DIRS', dirs) +
      bashArray('CMD', options.command);
    await writeFile(join(run, 'cfg'), cfg);
    await writeFile(join(run, 'env'), envFile({ ...process.env, ...options.env }));
    const args = [
      `mem=${options.memory ?? '2G'}`,
      `umid=${umid}`,
      'rootfstype=hostfs',
      'rootflags=/',
      'ro',
      `init=${join(run, 'stage1.sh')}`,
      'con=null',
      'con0=null,fd:1',
      'loglevel=3',
    ];
    if (exportFs === 'ext4') {
      const image = join(run, 'export.img');
      await writeFile(image, '');
      await truncate(image, 2 * 1024 ** 3);
      const mkfs = spawnSync('mkfs.ext4', ['-q', '-F', '-E', 'lazy_itable_init=1,lazy_journal_init=1', image], {
        encoding: 'utf8',
      });
      if (mkfs.status !== 0) throw new Error(`real-nfs: mkfs.ext4 failed: ${mkfs.stderr}`);
      args.push(`ubd0=${image}`);
    }
    const { output, timedOut } = await boot(args, run, options);
    const rc = await readFile(join(run, 'rc'), 'utf8').catch(() => '');
    const status = timedOut ? 124 : /^\d+\s*$/.test(rc) ? Number(rc.trim()) : 125;
    return { status, output, seconds: (Date.now() - started) / 1000, timedOut, runDirectory: run, umid };
  } finally {
    await rm(run, { recursive: true, force: true });
    await rm(join(homedir(), '.uml', umid), { recursive: true, force: true });
  }
}

async function boot(
  args: string[],
  run: string,
  options: NfsVmOptions,
): Promise<{ output: string; timedOut: boolean }> {
  // UML backs its memory with a file it unlinks at once; /dev/shm keeps that off the disk.
  const uml = spawn('linux.uml', args, {
    cwd: run,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, TMPDIR: existsSync('/dev/shm') ? '/dev/shm' : tmpdir() },
  });
  const pgid = uml.pid;
  if (pgid !== undefined) running.add(pgid);
  let output = '';
  let partial = '';
  const take = (chunk: Buffer) => {
    const lines = (partial + chunk.toString('utf8')).split('\n');
    partial = lines.pop() ?? '';
    const kept = lines
      .filter((line) => !NOISE.test(line))
      .map((line) => `${line}\n`)
      .join('');
    output += kept;
    if (kept !== '') options.onOutput?.(kept);
  };
  uml.stdout.on('data', take);
  uml.stderr.on('data', take);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    if (pgid !== undefined) killGroup(pgid);
  }, options.timeoutMs ?? 600_000);
  try {
    await new Promise<void>((done, failed) => {
      uml.once('error', failed);
      uml.once('close', () => done());
    });
  } finally {
    clearTimeout(timer);
    // UML's helper processes share its process group; none may outlive the run.
    if (pgid !== undefined) {
      killGroup(pgid);
      running.delete(pgid);
    }
  }
  if (partial !== '' && !NOISE.test(partial)) output += partial;
  if (timedOut) output += `[real-nfs] killed the VM after ${options.timeoutMs ?? 600_000} ms\n`;
  return { output, timedOut };
}
