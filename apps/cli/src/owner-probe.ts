/**
 * Who this process is, and whether the owner recorded in a marker still runs,
 * as precisely as Linux lets us tell: a pid alone can be reused, so the boot id
 * and the process's start time are recorded and compared too.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { defaultOwnerProbe, type OwnerInfo, type OwnerProbe } from '@fanout/core';

const BOOT_ID_FILE = '/proc/sys/kernel/random/boot_id';

function readOrUndefined(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** This host's boot id, '' when the system does not tell (not Linux). */
export function bootId(): string {
  return readOrUndefined(BOOT_ID_FILE)?.trim() ?? '';
}

/**
 * Field 22 of `/proc/<pid>/stat` (start time in clock ticks since boot), or
 * `undefined` when the process does not exist or has already exited (a zombie
 * waiting for its parent to reap it is as dead as an owner gets). The command
 * name (field 2) may contain spaces and parentheses, so fields are counted
 * after its last `)`.
 */
export function processStartTime(pid: number, procRoot = '/proc'): string | undefined {
  if (!Number.isSafeInteger(pid) || pid <= 0) return undefined;
  const stat = readOrUndefined(`${procRoot}/${pid}/stat`);
  if (stat === undefined) return undefined;
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state), so field 22 is rest[19].
  if (rest[0] === 'Z' || rest[0] === 'X') return undefined;
  return rest[19] ?? '';
}

/** The owner record of this process: host, boot id, pid and start time. */
export function localOwner(): OwnerInfo {
  return { host: hostname(), bootId: bootId(), pid: process.pid, startTime: processStartTime(process.pid) ?? '' };
}

/** Dependencies of {@link makeOwnerProbe}, injectable for tests. */
export interface OwnerProbeEnvironment {
  readonly host: string;
  readonly bootId: string;
  /** Whether `/proc` exists here; without it the probe falls back to `kill(pid, 0)`. */
  readonly hasProc: boolean;
  readonly startTimeOf: (pid: number) => string | undefined;
}

/** A probe over the given environment; {@link localOwnerProbe} is the one over this machine. */
export function makeOwnerProbe(env: OwnerProbeEnvironment): OwnerProbe {
  return async (owner) => {
    if (owner.host !== env.host) return 'unknown';
    // Another boot of this host: every process of that boot is gone.
    if (owner.bootId !== '' && env.bootId !== '' && owner.bootId !== env.bootId) return 'dead';
    if (!env.hasProc) return defaultOwnerProbe(owner);
    const startTime = env.startTimeOf(owner.pid);
    if (startTime === undefined) return 'dead';
    // Same pid, different start time: the pid was reused by another process.
    if (owner.startTime !== '' && startTime !== '' && startTime !== owner.startTime) return 'dead';
    return 'alive';
  };
}

/**
 * The Linux owner probe: same host and boot, `/proc/<pid>` present, and the
 * same start time when the marker recorded one → `alive`; otherwise `dead`.
 * An owner on another host is `unknown` (its lease decides).
 */
export const localOwnerProbe: OwnerProbe = makeOwnerProbe({
  host: hostname(),
  bootId: bootId(),
  hasProc: readOrUndefined('/proc/self/stat') !== undefined,
  startTimeOf: (pid) => processStartTime(pid),
});
