/**
 * The one rule that tells whether an owner still runs. Every judge of an
 * owner — marker owners, recoverer and renewal claims, consumer claims, temp
 * files — asks a probe made by {@link makeOwnerProbe}, which applies
 * `ownerLiveness`. A probe never says 'dead' for a process it cannot
 * see, nor 'alive' for one it cannot tell from another.
 */
import type { Liveness, OwnerInfo, OwnerProbe } from './owner.js';
import { comparableOwner, NONCE_PATTERN, type OwnerRef } from './owner-tag.js';

/**
 * What this process can see of a pid in ITS OWN pid namespace:
 * - `absent`: no such process (or one that has exited: a zombie);
 * - `present`: a process with that pid, and its start time ('' if it cannot be read);
 * - `unknown`: it cannot look.
 */
export type PidSighting =
  | { readonly state: 'absent' }
  | { readonly state: 'present'; readonly startTime: string }
  | { readonly state: 'unknown' };

/** Looks a pid up in this process's own pid namespace. */
export type PidLookup = (pid: number) => PidSighting | Promise<PidSighting>;

/**
 * Whether `owner` runs, as seen by `self` (this process, as it records
 * itself) through `lookup`:
 *
 * 1. another host → 'unknown' (nobody here can tell; a lease decides);
 * 2. this very process (same host and pid, and the same per-process nonce
 *    as start time) → 'alive';
 * 3. same host, both boot ids known and different → 'dead' (that boot is over);
 *    either boot id unknown → 'unknown';
 * 4. same boot, but the pid namespace different or unknown on either side →
 *    'unknown' (a pid of another namespace is another process; we cannot see it);
 * 5. same namespace: the lookup cannot look → 'unknown'; no such pid → 'dead';
 *    a pid whose start time differs (both known) → 'dead' (the pid was reused);
 *    start time unknown on either side → 'unknown'; the same start time → 'alive'.
 */
export async function ownerLiveness(owner: OwnerRef, lookup: PidLookup, self: OwnerInfo): Promise<Liveness> {
  const o = comparableOwner(owner);
  const me = comparableOwner(self);
  if (o.hostHash !== me.hostHash) return 'unknown';
  if (o.pid === me.pid && NONCE_PATTERN.test(me.startTime) && o.startTime === me.startTime) return 'alive';
  if (o.bootHash === '' || me.bootHash === '') return 'unknown';
  if (o.bootHash !== me.bootHash) return 'dead';
  if (o.pidNamespace === '' || me.pidNamespace === '' || o.pidNamespace !== me.pidNamespace) return 'unknown';
  const seen = await lookup(o.pid);
  if (seen.state === 'unknown') return 'unknown';
  if (seen.state === 'absent') return 'dead';
  if (o.startTime === '' || seen.startTime === '') return 'unknown';
  return seen.startTime === o.startTime ? 'alive' : 'dead';
}

/** The probe of a process that is `self` and sees pids through `lookup`: `ownerLiveness` bound to them. */
export function makeOwnerProbe(self: OwnerInfo | (() => OwnerInfo), lookup: PidLookup): OwnerProbe {
  return (owner) => ownerLiveness(owner, lookup, typeof self === 'function' ? self() : self);
}
