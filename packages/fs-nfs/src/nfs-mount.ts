/**
 * What the kernel says about the NFS mount a spool lives on (`/proc/self/mountinfo`), and the one
 * mount option fanout cannot work around: on NFSv3 a cached "no such file" outlives the directory's
 * revalidation when another host made the name in the same timestamp tick as the directory's previous
 * change (v3 sees a change only by the directory's times). Measured on real NFS v3 (tooling/real-nfs),
 * 20 creates on one client each right after the other client looked the name up: 4 to 6 names still
 * missing on the second client after it reopened the directory; none with `lookupcache=positive`, and
 * none on v4.2, whose change attribute moves with every change.
 */
import { readFileSync, realpathSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** One line of `/proc/self/mountinfo`, the fields fanout reads. */
export interface MountInfoEntry {
  /** Where it is mounted (escapes such as `\040` decoded). */
  readonly mountPoint: string;
  /** `nfs` (v2 and v3), `nfs4`, `fuse.glusterfs`, `ext4`, … */
  readonly fsType: string;
  /** What is mounted: `server:/export`, `server:/volume`, `/dev/sda1`, … */
  readonly source: string;
  /** The superblock's options: for NFS, `vers=3`, `lookupcache=pos`, `hard`, … */
  readonly superOptions: readonly string[];
}

/** The NFS facts of one mount that matter to fanout. */
export interface NfsMountFacts {
  readonly mountPoint: string;
  /** `3`, `4.2`, …, as the kernel reports it (`vers=`). */
  readonly version: string;
  /** `all` (the default, not listed by the kernel), `pos` or `none`. */
  readonly lookupCache: 'all' | 'pos' | 'none';
}

const unescape = (field: string): string =>
  field.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));

/** Parse `/proc/self/mountinfo` (proc(5)); lines it cannot read are left out. */
export function parseMountInfo(text: string): MountInfoEntry[] {
  const entries: MountInfoEntry[] = [];
  for (const line of text.split('\n')) {
    const fields = line.split(' ');
    const dash = fields.indexOf('-');
    if (dash < 6 || fields.length < dash + 4) continue;
    entries.push({
      mountPoint: unescape(fields[4]!),
      fsType: fields[dash + 1]!,
      source: unescape(fields[dash + 2]!),
      superOptions: fields[dash + 3]!.split(','),
    });
  }
  return entries;
}

/** The mount that holds `path` (an absolute, resolved path): the last, longest mount point above it. */
export function mountOf(path: string, entries: readonly MountInfoEntry[]): MountInfoEntry | undefined {
  let best: MountInfoEntry | undefined;
  for (const entry of entries) {
    const point = entry.mountPoint;
    const holds = point === '/' || path === point || path.startsWith(point.endsWith('/') ? point : `${point}/`);
    // Later lines are mounted over earlier ones at the same point.
    if (holds && (best === undefined || point.length >= best.mountPoint.length)) best = entry;
  }
  return best;
}

/** The NFS facts of a mount, or `undefined` when it is not NFS. */
export function nfsFactsOf(entry: MountInfoEntry): NfsMountFacts | undefined {
  if (entry.fsType !== 'nfs' && entry.fsType !== 'nfs4') return undefined;
  const option = (name: string) => entry.superOptions.find((o) => o.startsWith(`${name}=`))?.slice(name.length + 1);
  const cache = option('lookupcache');
  return {
    mountPoint: entry.mountPoint,
    version: option('vers') ?? (entry.fsType === 'nfs4' ? '4' : '3'),
    lookupCache: cache === 'pos' || cache === 'positive' ? 'pos' : cache === 'none' ? 'none' : 'all',
  };
}

/**
 * The advice for a spool on this mount, or `undefined` when there is none: NFSv2/v3 with the default
 * `lookupcache=all` can answer "no such file" for a name another host has made, past every revalidation
 * a client can ask for, so several hosts sharing the spool need `lookupcache=positive`.
 */
export function lookupCacheAdvice(facts: NfsMountFacts): string | undefined {
  const major = facts.version.split('.')[0];
  if ((major !== '2' && major !== '3') || facts.lookupCache !== 'all') return undefined;
  return (
    `${facts.mountPoint} is mounted NFSv${facts.version} with lookupcache=all: another host's new files can look ` +
    `missing here; if several hosts share this spool, mount it with lookupcache=positive (see @fanout/fs-nfs README)`
  );
}

/** The nearest existing directory at or above `path`, resolved through symlinks. */
function existingAncestor(path: string): string {
  for (let p = resolve(path); ; p = dirname(p)) {
    try {
      return realpathSync(p);
    } catch {
      if (dirname(p) === p) return p;
    }
  }
}

/**
 * The NFS facts of the mount holding `path`, read from `/proc/self/mountinfo`; `undefined` when the
 * path is not on NFS or the system has no mountinfo (not Linux): then nothing is known and nothing said.
 */
export function nfsMountFactsOf(path: string, mountInfoFile = '/proc/self/mountinfo'): NfsMountFacts | undefined {
  let text: string;
  try {
    text = readFileSync(mountInfoFile, 'utf8');
  } catch {
    return undefined;
  }
  const entry = mountOf(existingAncestor(path), parseMountInfo(text));
  return entry === undefined ? undefined : nfsFactsOf(entry);
}

const warned = new Set<string>();

/**
 * Warn once per mount point (`process.emitWarning`, code `FANOUT_NFS_LOOKUPCACHE`) when the spool at
 * `root` is on a mount that needs `lookupcache=positive` with several hosts. A warning, not a refusal:
 * one host alone on NFSv3 is safe with the default, and fanout cannot know how many hosts there are.
 */
export function warnAboutNfsMount(root: string, mountInfoFile?: string): string | undefined {
  const facts = nfsMountFactsOf(root, mountInfoFile);
  const advice = facts === undefined ? undefined : lookupCacheAdvice(facts);
  if (advice === undefined || warned.has(facts!.mountPoint)) return advice;
  warned.add(facts!.mountPoint);
  process.emitWarning(advice, { code: 'FANOUT_NFS_LOOKUPCACHE' });
  return advice;
}
