/**
 * The CLI's owner: fs-posix's Linux owner environment (`/proc`: boot id, pid
 * namespace, start times), read once per process and declared to the core at
 * startup, so that every name the CLI writes carries its full identity.
 */
import type { OwnerEnvironment, OwnerInfo, OwnerProbe } from '@fanout/core';
import { makeOwnerProbe as coreOwnerProbe } from '@fanout/core/internal';
import { linuxOwnerEnvironment } from '@fanout/fs-posix';

export {
  bootId,
  linuxOwnerEnvironment as linuxEnvironment,
  pidNamespace,
  processStartTime,
  procShowsOwnPidNamespace,
  startTimesComparable,
} from '@fanout/fs-posix';

/**
 * What {@link makeOwnerProbe} judges with: this process as it records itself, and a look at pids of its pid namespace.
 */
export type OwnerProbeEnvironment = OwnerEnvironment;

/** The probe over `env`: the core's one rule, `ownerLiveness(owner, env.lookup, env.self)`. */
export function makeOwnerProbe(env: OwnerProbeEnvironment): OwnerProbe {
  return coreOwnerProbe(env.self, env.lookup);
}

let local: OwnerProbeEnvironment | undefined;

/** This process's Linux owner environment, read from `/proc` once. */
export function localEnvironment(): OwnerProbeEnvironment {
  local ??= linuxOwnerEnvironment();
  return local;
}

/** The owner record of this process: host, boot id, pid namespace, pid and start time. */
export function localOwner(): OwnerInfo {
  return localEnvironment().self;
}

/**
 * The Linux owner probe: the core's one rule over `/proc` of this machine.
 * Same host, boot and pid namespace, and `/proc/<pid>` with the recorded
 * start time → 'alive'; no such pid, another start time, or another boot →
 * 'dead'; another host, another or unknown pid namespace, an unknown start
 * time → 'unknown' (a lease decides, or nothing is touched).
 */
export const localOwnerProbe: OwnerProbe = (owner) => makeOwnerProbe(localEnvironment())(owner);
