/**
 * GlusterFS under a spool: which volumes fs-nfs can serve. On a GlusterFS volume distributed over several
 * subvolumes (DHT), `link()` onto a new name is not exclusive: two clients linking different files onto one name
 * at once can both succeed, each name then a file of its own brick (seen by tooling/real-gluster: 0–2 of 160–240
 * raced links per run, GlusterFS 10.3). fs-nfs's creation and publication rest on exactly that exclusivity, so it
 * refuses them there. A volume of one subvolume (a replica set, or a single brick) has no such split: its links are
 * decided in one place.
 */
import { FanoutError } from '@fanout/core';
import { readdirSync, readFileSync } from 'node:fs';
import { mountOf, parseMountInfo } from './nfs-mount.js';

/** Where the GlusterFS client publishes its translator graph (the `meta` translator's virtual directory). */
const META_GRAPH = '.meta/graphs/active';

/** What fs-nfs found of a GlusterFS mount under a spool. */
export interface GlusterMount {
  readonly mountPoint: string;
  /** The volume, as mounted (`server:/volume`). */
  readonly source: string;
  /**
   * The largest number of subvolumes one distribute (DHT) translator of the client's graph spreads names over; 1 for
   * a replica set or a single brick; undefined when the graph could not be read.
   */
  readonly distributeSubvolumes: number | undefined;
}

/** A small virtual file of the client's `.meta` graph, or '' when it cannot be read. */
function readOrEmpty(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** The names in a directory of the client's `.meta` graph (a handful). */
function namesIn(path: string): string[] {
  return readdirSync(path);
}

/**
 * The GlusterFS FUSE mount `root` lies on, with its volume's layout, or undefined when `root` is not on GlusterFS
 * (or the mount table cannot be read: then nothing is known to refuse).
 * @param mountInfo the mount table, `/proc/self/mountinfo` by default.
 */
export function glusterMountOf(root: string, mountInfo = '/proc/self/mountinfo'): GlusterMount | undefined {
  let text: string;
  try {
    text = readFileSync(mountInfo, 'utf8');
  } catch {
    return undefined;
  }
  const mount = mountOf(root, parseMountInfo(text));
  if (mount === undefined || mount.fsType !== 'fuse.glusterfs') return undefined;
  let distributeSubvolumes: number | undefined;
  try {
    const graph = `${mount.mountPoint === '/' ? '' : mount.mountPoint}/${META_GRAPH}`;
    let widest = 0;
    for (const xlator of namesIn(graph)) {
      const type = readOrEmpty(`${graph}/${xlator}/type`);
      if (type.trim() !== 'cluster/distribute') continue;
      widest = Math.max(widest, namesIn(`${graph}/${xlator}/subvolumes`).length);
    }
    distributeSubvolumes = widest === 0 ? undefined : widest;
  } catch {
    distributeSubvolumes = undefined;
  }
  return { mountPoint: mount.mountPoint, source: mount.source, distributeSubvolumes };
}

/**
 * Why fs-nfs refuses to create or publish names in a spool on `mount`, or undefined when it need not: a volume
 * distributed over several subvolumes, or one whose layout the client does not show (no `.meta`).
 */
export function glusterRefusal(mount: GlusterMount | undefined, spool: string): FanoutError | undefined {
  if (mount === undefined || mount.distributeSubvolumes === 1) return undefined;
  const what =
    mount.distributeSubvolumes === undefined
      ? `fs-nfs cannot tell whether GlusterFS volume ${mount.source} (mounted at ${mount.mountPoint}) is distributed ` +
        `(no ${META_GRAPH} in the mount)`
      : `GlusterFS volume ${mount.source} (mounted at ${mount.mountPoint}) is distributed over ` +
        `${mount.distributeSubvolumes} subvolumes`;
  return new FanoutError(
    'ENOTSUP',
    `${what}: there link() is not exclusive (two clients can both link one new name), so neither exclusive creation ` +
      'nor no-clobber publish can hold; use a volume of one subvolume (a replica set or a single brick)',
    { spool },
  );
}
