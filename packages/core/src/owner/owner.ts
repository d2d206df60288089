import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { makeOwnerProbe, type PidLookup, type PidSighting } from './owner-liveness.js';
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
   * on Linux), or the core's per-process nonce (`n…`, see `defaultOwner`),
   * '' if unknown.
   */
  readonly startTime: string;
}

/** What a probe can say about an owner. */
export type Liveness = 'alive' | 'dead' | 'unknown';

/**
 * Tells whether an owner (a marker's, or a writer named by an owner tag in a
 * file name) still runs. Every probe this code makes applies the one rule,
 * `ownerLiveness`, over what it can see of processes; tests may inject
 * a verdict directly. The core's {@link defaultOwnerProbe} can only recognise
 * this very process, unless a backend or the application supplied an
 * {@link OwnerEnvironment} (fs-posix's `linuxOwnerEnvironment` reads `/proc`).
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

/**
 * What a process knows of itself and of the processes beside it: the
 * identity it records as the owner of what it writes, and a look at pids of
 * its own pid namespace. Backends that can see more than the core supply one
 * (fs-posix on Linux: `/proc`); see {@link setOwnerEnvironment}.
 */
export interface OwnerEnvironment {
  /** This process, as it writes itself into markers, temp names and claims. */
  readonly self: OwnerInfo;
  /** Looks up pids of this process's pid namespace. */
  readonly lookup: PidLookup;
}

/** The environment in force, and whether the application declared it or a backend supplied it. */
let declared: { readonly env: OwnerEnvironment; readonly by: 'application' | 'backend' } | undefined;

function assertThisProcess(owner: OwnerInfo): void {
  if (owner.pid !== process.pid)
    throw new RangeError(`the process owner must be this process (pid ${process.pid}), not pid ${owner.pid}`);
}

/** `kill(pid, 0)` for others; this process is present with the start time it records. */
function killLookup(self: OwnerInfo): PidLookup {
  return (pid) => (pid === self.pid ? { state: 'present', startTime: self.startTime } : killSighting(pid));
}

/**
 * The identity this process writes into file names (temp files, consumer
 * claims) and, by default, into its markers: that of the owner environment
 * in force ({@link setOwnerEnvironment}, or one a backend supplied when
 * `openSpool` loaded it), else `defaultOwner`().
 *
 * @example
 * ```ts
 * import { processOwner } from '@fanout/core';
 *
 * const me = processOwner();
 * console.log(me.host, me.pid); // this process, as its markers and claims record it
 * ```
 */
export function processOwner(): OwnerInfo {
  return declared?.env.self ?? defaultOwner();
}

/**
 * Declare this process's full identity (boot id, pid namespace, start time),
 * so that the names it writes can be judged exactly by other processes; pids
 * are still looked up with `kill(pid, 0)`. `undefined` goes back to
 * `defaultOwner`. Prefer {@link setOwnerEnvironment}, which also says
 * how to look pids up.
 * @throws RangeError when `owner.pid` is not this process's pid.
 */
export function setProcessOwner(owner: OwnerInfo | undefined): void {
  if (owner !== undefined) assertThisProcess(owner);
  declared = owner === undefined ? undefined : { env: { self: owner, lookup: killLookup(owner) }, by: 'application' };
}

/**
 * Declare this process's owner environment: who it is, and how it looks
 * pids up. {@link processOwner} and {@link defaultOwnerProbe} use it from
 * then on, and `openSpool` no longer installs the one a backend supplies.
 * `undefined` goes back to the core's default (a backend may supply one
 * again).
 * @throws RangeError when `env.self.pid` is not this process's pid.
 *
 * @example
 * ```ts
 * import { setOwnerEnvironment } from '@fanout/core';
 * import { linuxOwnerEnvironment } from '@fanout/fs-posix';
 *
 * // What openSpool does by itself on Linux when it opens a posix or nfs spool.
 * setOwnerEnvironment(linuxOwnerEnvironment());
 * ```
 */
export function setOwnerEnvironment(env: OwnerEnvironment | undefined): void {
  if (env !== undefined) assertThisProcess(env.self);
  declared = env === undefined ? undefined : { env, by: 'application' };
}

/**
 * Install an environment a backend supplied, unless one is already in force
 * (the application's, or another backend's): a process keeps one identity.
 * @returns whether it was installed.
 */
export function adoptOwnerEnvironment(supply: () => OwnerEnvironment | undefined): boolean {
  if (declared !== undefined) return false;
  const env = supply();
  if (env === undefined || env.self.pid !== process.pid) return false;
  declared = { env, by: 'backend' };
  return true;
}

/** `kill(pid, 0)`: the pid exists in this process's pid namespace (EPERM: it exists, not ours), or not (ESRCH). */
function killSighting(pid: number): PidSighting {
  if (!Number.isSafeInteger(pid) || pid <= 0) return { state: 'unknown' };
  try {
    process.kill(pid, 0);
    return { state: 'present', startTime: '' };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ESRCH'
      ? { state: 'absent' }
      : code === 'EPERM'
        ? { state: 'present', startTime: '' }
        : { state: 'unknown' };
  }
}

/**
 * The probe every function of the core uses unless given another: the one
 * rule (`ownerLiveness`) over the owner environment in force. That is
 * the one a backend supplied (fs-posix and fs-nfs on Linux: `/proc`, so a
 * dead or reused pid on this host and boot is 'dead') or the application
 * declared; without one, the core sees only `kill(pid, 0)` and its own
 * `defaultOwner`, so it says 'alive' for this very process and
 * 'unknown' for everybody else (leases decide).
 *
 * @example
 * ```ts
 * import { defaultOwnerProbe, processOwner } from '@fanout/core';
 *
 * console.log(await defaultOwnerProbe(processOwner())); // 'alive'
 * ```
 */
export const defaultOwnerProbe: OwnerProbe = (owner) => {
  const env = declared?.env;
  if (env !== undefined) return makeOwnerProbe(env.self, env.lookup)(owner);
  const self = defaultOwner();
  return makeOwnerProbe(self, killLookup(self))(owner);
};
