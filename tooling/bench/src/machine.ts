/** What machine the bench ran on, for the report. */
import { execFileSync } from 'node:child_process';
import { readFileSync, realpathSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, release, totalmem } from 'node:os';

/** A mount from /proc/mounts. */
export interface Mount {
  readonly device: string;
  readonly mountPoint: string;
  readonly type: string;
  readonly options: string;
}

/** /proc/mounts escapes spaces and the like as octal (`\040`). */
function unescapeMount(text: string): string {
  return text.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/**
 * The mount holding `path`: the longest mount point that is a prefix of it (the last such, as later mounts hide earlier
 * ones).
 */
export function mountOf(path: string, procMounts: string): Mount | undefined {
  let best: Mount | undefined;
  for (const line of procMounts.split('\n')) {
    const [device, mp, type, options] = line.split(' ');
    if (!device || !mp || !type) continue;
    const mountPoint = unescapeMount(mp);
    const inside = mountPoint === '/' || path === mountPoint || path.startsWith(`${mountPoint}/`);
    if (inside && (!best || mountPoint.length >= best.mountPoint.length))
      best = { device, mountPoint, type, options: options ?? '' };
  }
  return best;
}

/** The mount holding an existing path, read from /proc/mounts. */
export function mountOfPath(path: string): Mount | undefined {
  try {
    return mountOf(realpathSync(path), readFileSync('/proc/mounts', 'utf8'));
  } catch {
    return undefined;
  }
}

/** Lines describing this machine. */
export function describeMachine(benchDir: string, repoRoot: string): Record<string, string> {
  let cpuModel = cpus()[0]?.model ?? 'unknown';
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) cpuModel = m[1]!.trim();
  } catch {
    // not Linux: os.cpus() it is
  }
  const mount = mountOfPath(benchDir);
  let rotational = '';
  if (mount?.device.startsWith('/dev/')) {
    try {
      const dev = mount.device.slice(5).replace(/\d+$/, '');
      rotational =
        readFileSync(`/sys/block/${dev}/queue/rotational`, 'utf8').trim() === '1'
          ? ', rotational flag 1 (a virtual disk may say so)'
          : ' (non-rotational)';
    } catch {
      // partitions on other naming schemes: leave it out
    }
  }
  const git = (...args: string[]) => {
    try {
      return execFileSync('git', ['-C', repoRoot, ...args], { encoding: 'utf8' }).trim();
    } catch {
      return '';
    }
  };
  const dirty = git('status', '--porcelain', '--', 'packages/core', 'packages/fs-posix');
  const filesystem = mount
    ? `${mount.type} (${mount.device}${rotational}, mounted ${mount.mountPoint} ${mount.options})`
    : 'an unknown filesystem';
  return {
    CPU: `${cpuModel}, ${availableParallelism()} cores available`,
    Memory: `${(totalmem() / 2 ** 30).toFixed(1)} GiB`,
    'Bench directory': `${benchDir} on ${filesystem}`,
    Kernel: `Linux ${release()}`,
    Node:
      `${process.version}, UV_THREADPOOL_SIZE ${process.env.UV_THREADPOOL_SIZE ?? 'unset (4)'} ` +
      `unless a row says otherwise`,
    Code:
      `${git('rev-parse', '--short', 'HEAD') || 'unknown commit'}` +
      `${dirty ? ' with uncommitted changes in packages/core or packages/fs-posix' : ''}`,
    Date: new Date().toISOString(),
    // Other work on the machine skews every figure; say how busy it was.
    'Load average at start':
      loadavg()
        .map((l) => l.toFixed(2))
        .join(', ') + ' (1, 5, 15 min)',
  };
}

/** {@link describeMachine}'s lines as a Markdown list, without the keys in `leaveOut`. */
export function machineLines(machine: Record<string, string>, leaveOut: readonly string[] = []): string[] {
  return Object.entries(machine)
    .filter(([k]) => !leaveOut.includes(k))
    .map(([k, v]) => `- **${k}**: ${v}`);
}
