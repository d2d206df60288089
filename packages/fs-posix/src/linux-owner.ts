/**
 * Who this process is, and whether an owner (a marker's, or the writer named
 * by an owner tag in a file name) still runs, as precisely as Linux lets us
 * tell: the owner environment the posix and nfs backends supply to the core
 * (`openSpool` installs it; `setOwnerEnvironment` for an application that
 * opens spools otherwise). The verdict is the core's one rule
 * (`ownerLiveness`); this module only supplies what `/proc` shows:
 *
 * - this process's identity: host, boot id (`/proc/sys/kernel/random/boot_id`),
 *   pid namespace (the inode of `/proc/self/ns/pid`), pid and start time
 *   (field 22 of `/proc/self/stat`);
 * - a lookup of pids in THIS process's pid namespace: `/proc/<pid>/stat`
 *   (exists? zombie? start time?), with `kill(pid, 0)` as a second opinion
 *   before anything is called absent (a `hidepid` mount hides other users'
 *   processes).
 *
 * A `/proc` that is not this process's own pid namespace (a container that
 * sees the host's `/proc`, `unshare --pid` without `--mount-proc`) shows other
 * processes under those pids: then nothing is looked up ('unknown'). Start
 * times are not compared from inside a time namespace whose boot-time offset
 * is not zero (they are shifted by it).
 */
import { readFileSync, readlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import type { OwnerEnvironment, OwnerInfo, PidSighting } from '@fanout/core';

function readOrUndefined(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function readlinkOrUndefined(path: string): string | undefined {
  try {
    return readlinkSync(path);
  } catch {
    return undefined;
  }
}

/** This host's boot id, '' when the system does not tell (not Linux). */
export function bootId(procRoot = '/proc'): string {
  return readOrUndefined(`${procRoot}/sys/kernel/random/boot_id`)?.trim() ?? '';
}

/**
 * This process's pid namespace: the inode of `/proc/self/ns/pid` (`pid:[4026531836]` → `4026531836`), '' when
 * unknown.
 */
export function pidNamespace(procRoot = '/proc'): string {
  const m = /^pid:\[([1-9][0-9]{0,19})\]$/.exec(readlinkOrUndefined(`${procRoot}/self/ns/pid`) ?? '');
  return m ? m[1]! : '';
}

/**
 * Whether `procRoot` shows the pid namespace of the process `pid` (this one)
 * is in: `/proc/self/status` lists the process's pid in each namespace from
 * that of the `/proc` mount down to its own (`NSpid:`), so exactly one entry,
 * our pid, means the mount is ours. Kernels before 4.1 have no `NSpid:`; then
 * `/proc/self` must at least be our pid.
 */
export function procShowsOwnPidNamespace(procRoot = '/proc', pid: number = process.pid): boolean {
  const status = readOrUndefined(`${procRoot}/self/status`);
  if (status === undefined) return false;
  const line = /^NSpid:\s*(.*)$/m.exec(status);
  if (line) {
    const pids = line[1]!.trim().split(/\s+/);
    return pids.length === 1 && pids[0] === String(pid);
  }
  return readlinkOrUndefined(`${procRoot}/self`) === String(pid);
}

/**
 * Whether start times read from `/proc` are comparable with other
 * processes': not when this process is in a time namespace whose boot-time
 * offset is not zero (`/proc/<pid>/stat` start times are shifted by the
 * reader's offset).
 */
export function startTimesComparable(procRoot = '/proc'): boolean {
  const offsets = readOrUndefined(`${procRoot}/self/timens_offsets`);
  if (offsets === undefined) return true; // no time namespaces in this kernel
  const m = /^boottime\s+(-?\d+)\s+(-?\d+)\s*$/m.exec(offsets);
  return m !== null && Number(m[1]) === 0 && Number(m[2]) === 0;
}

/** The parsed `/proc/<pid>/stat`, or `undefined` when there is none. */
function readStat(pid: number, procRoot: string): { state: string; startTime: string } | undefined {
  if (!Number.isSafeInteger(pid) || pid <= 0) return undefined;
  const stat = readOrUndefined(`${procRoot}/${pid}/stat`);
  if (stat === undefined) return undefined;
  // The command name (field 2) may contain spaces and parentheses: count fields after its last `)`.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state), so field 22 (start time) is rest[19].
  const startTime = rest[19] ?? '';
  return { state: rest[0] ?? '', startTime: /^[0-9]+$/.test(startTime) ? startTime : '' };
}

/**
 * Field 22 of `/proc/<pid>/stat` (start time in clock ticks since boot), or
 * `undefined` when the process does not exist or has already exited (a zombie
 * waiting for its parent to reap it is as dead as an owner gets).
 */
export function processStartTime(pid: number, procRoot = '/proc'): string | undefined {
  const st = readStat(pid, procRoot);
  if (st === undefined || st.state === 'Z' || st.state === 'X') return undefined;
  return st.startTime;
}

/** `kill(pid, 0)`: false only when no such process exists (ESRCH). */
function killSays(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/** Where {@link linuxOwnerEnvironment} looks; injectable for tests (a fake `/proc` tree). */
export interface LinuxOwnerEnvironmentOptions {
  /** Default `/proc`. */
  readonly procRoot?: string;
  /** This process's pid; default `process.pid`. */
  readonly pid?: number;
  /** Default `os.hostname()`. */
  readonly host?: string;
  /** Whether a pid exists although `/proc` does not show it; default `kill(pid, 0)` (not ESRCH). */
  readonly pidExists?: (pid: number) => boolean;
}

/**
 * The identity and the pid lookup `/proc` gives this process: boot id, pid
 * namespace and start time, so that the core's probe tells a dead or reused
 * pid of this host and boot ('dead') from a live one. On a system without
 * `/proc` every field it cannot read is '' and every lookup 'unknown'.
 *
 * @example
 * ```ts
 * import { setOwnerEnvironment } from '@fanout/core';
 * import { linuxOwnerEnvironment } from '@fanout/fs-posix';
 *
 * setOwnerEnvironment(linuxOwnerEnvironment()); // openSpool does this by itself for file: and nfs: spools
 * ```
 */
export function linuxOwnerEnvironment(options: LinuxOwnerEnvironmentOptions = {}): OwnerEnvironment {
  const procRoot = options.procRoot ?? '/proc';
  const pid = options.pid ?? process.pid;
  const pidExists = options.pidExists ?? killSays;
  const comparable = startTimesComparable(procRoot);
  const own = procShowsOwnPidNamespace(procRoot, pid);
  const self: OwnerInfo = {
    host: options.host ?? hostname(),
    bootId: bootId(procRoot),
    pidNamespace: pidNamespace(procRoot),
    pid,
    startTime: comparable ? (processStartTime(pid, procRoot) ?? '') : '',
  };
  const lookup = (p: number): PidSighting => {
    if (!own || !Number.isSafeInteger(p) || p <= 0) return { state: 'unknown' };
    const st = readStat(p, procRoot);
    if (st !== undefined) {
      if (st.state === 'Z' || st.state === 'X') return { state: 'absent' };
      return { state: 'present', startTime: comparable ? st.startTime : '' };
    }
    // No /proc/<pid>: gone, or hidden from us (hidepid). Only kill(pid, 0) saying ESRCH proves it gone.
    return pidExists(p) ? { state: 'present', startTime: '' } : { state: 'absent' };
  };
  return { self, lookup };
}

/** Whether this host has the `/proc` {@link linuxOwnerEnvironment} reads (Linux). */
export function hasLinuxProc(procRoot = '/proc'): boolean {
  return readOrUndefined(`${procRoot}/self/stat`) !== undefined;
}
