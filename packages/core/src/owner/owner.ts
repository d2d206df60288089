import { hostname } from 'node:os';

/** Who runs a transaction, recorded in its marker so recovery can tell a live owner from a dead one. */
export interface OwnerInfo {
  /** Host name. */
  readonly host: string;
  /** Boot id of that host (Linux `/proc/sys/kernel/random/boot_id`), '' if unknown. */
  readonly bootId: string;
  /** Process id. */
  readonly pid: number;
  /** The process's start time as the host reports it (clock ticks since boot on Linux), '' if unknown. */
  readonly startTime: string;
}

/** What a probe can say about an owner. */
export type Liveness = 'alive' | 'dead' | 'unknown';

/**
 * Tells whether the owner of a marker still runs. The core's default only
 * knows `kill(pid, 0)` on its own host; the CLI's probe (apps/cli,
 * `localOwnerProbe`) also compares boot id and process start time from
 * `/proc`, so a reused pid is not mistaken for the owner.
 */
export type OwnerProbe = (owner: OwnerInfo) => Promise<Liveness>;

/** The owner record of this process, without boot id and start time. */
export function defaultOwner(): OwnerInfo {
  return { host: hostname(), bootId: '', pid: process.pid, startTime: '' };
}

/** `kill(pid, 0)` on this host; 'unknown' for another host. */
export const defaultOwnerProbe: OwnerProbe = async (owner) => {
  if (owner.host !== hostname()) return 'unknown';
  if (owner.pid === process.pid) return 'alive';
  try {
    process.kill(owner.pid, 0);
    return 'alive';
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM' ? 'alive' : 'dead';
  }
};

/** A short tag safe for file names, derived from the host name. */
export function hostTag(host: string): string {
  return host.replace(/[^0-9A-Za-z]/g, '').slice(0, 24) || 'host';
}
