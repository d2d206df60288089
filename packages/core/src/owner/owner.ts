import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { makeOwnerProbe, type PidSighting } from './owner-liveness.js';
import type { OwnerRef } from './owner-tag.js';

/** Who runs a transaction, recorded in its marker so recovery can tell a live owner from a dead one. */
export interface OwnerInfo {
  /** Host name, in full. */
  readonly host: string;
  /** Boot id of that host (Linux `/proc/sys/kernel/random/boot_id`), '' if unknown. */
  readonly bootId: string;
  /**
   * The pid namespace the pid is counted in (Linux: the inode of
   * `/proc/self/ns/pid`, e.g. `4026531836`), '' if unknown. Pids of two
   * namespaces are different processes even on one host and boot.
   */
  readonly pidNamespace: string;
  /** Process id. */
  readonly pid: number;
  /**
   * The process's start time as the host reports it (clock ticks since boot
   * on Linux), or the core's per-process nonce (`n…`, see {@link defaultOwner}),
   * '' if unknown.
   */
  readonly startTime: string;
}

/** What a probe can say about an owner. */
export type Liveness = 'alive' | 'dead' | 'unknown';

/**
 * Tells whether an owner (a marker's, or a writer named by an owner tag in a
 * file name) still runs. Every probe this code makes applies the one rule,
 * {@link ownerLiveness}, over what it can see of processes; tests may inject
 * a verdict directly. The core's {@link defaultOwnerProbe} can only recognise
 * this very process; the CLI's (apps/cli `localOwnerProbe`) also reads `/proc`.
 */
export type OwnerProbe = (owner: OwnerRef) => Promise<Liveness>;

function nonce(): string {
  const alphabet = '0123456789abcdefghijklmnopqrstuv';
  const bytes = randomBytes(16);
  let out = 'n';
  for (let i = 0; i < 16; i++) out += alphabet[bytes[i]! & 31];
  return out;
}

/** Unique to this process (this module instance: each worker thread has its own). */
const PROCESS_NONCE = nonce();

/**
 * The owner record of this process as the core alone can tell it: host and
 * pid, no boot id or pid namespace (those need `/proc`), and instead of a
 * start time a random per-process nonce, so that this process can recognise
 * its own files (and nobody else can mistake them for theirs).
 */
export function defaultOwner(): OwnerInfo {
  return { host: hostname(), bootId: '', pidNamespace: '', pid: process.pid, startTime: PROCESS_NONCE };
}

let declaredOwner: OwnerInfo | undefined;

/**
 * The identity this process writes into file names (temp files, consumer
 * claims) and, by default, into its markers: what {@link setProcessOwner}
 * declared, else {@link defaultOwner}().
 */
export function processOwner(): OwnerInfo {
  return declaredOwner ?? defaultOwner();
}

/**
 * Declare this process's full identity (the CLI declares its `localOwner()`,
 * with boot id, pid namespace and start time from `/proc`), so that the names
 * it writes can be judged exactly by other processes. `undefined` goes back
 * to {@link defaultOwner}.
 * @throws RangeError when `owner.pid` is not this process's pid.
 */
export function setProcessOwner(owner: OwnerInfo | undefined): void {
  if (owner !== undefined && owner.pid !== process.pid) throw new RangeError(`the process owner must be this process (pid ${process.pid}), not pid ${owner.pid}`);
  declaredOwner = owner;
}

/** `kill(pid, 0)`: the pid exists in this process's pid namespace (EPERM: it exists, not ours), or not (ESRCH). */
function killSighting(pid: number): PidSighting {
  if (!Number.isSafeInteger(pid) || pid <= 0) return { state: 'unknown' };
  try {
    process.kill(pid, 0);
    return { state: 'present', startTime: '' };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ESRCH' ? { state: 'absent' } : code === 'EPERM' ? { state: 'present', startTime: '' } : { state: 'unknown' };
  }
}

/**
 * The core's probe: the one rule ({@link ownerLiveness}) over what the core
 * can see without `/proc` — `kill(pid, 0)` tells whether a pid exists, never
 * its start time. Judged against {@link processOwner}(): with the core's own
 * {@link defaultOwner} (no boot id, no pid namespace) it says 'alive' only for
 * this very process (same host, pid and nonce) and 'unknown' for everybody
 * else; only when the application declared a full identity (boot id and pid
 * namespace, {@link setProcessOwner}) can it also prove a pid of the same
 * namespace gone ('dead').
 */
export const defaultOwnerProbe: OwnerProbe = (owner) => {
  const self = processOwner();
  return makeOwnerProbe(self, (pid) => (pid === self.pid ? { state: 'present', startTime: self.startTime } : killSighting(pid)))(owner);
};
