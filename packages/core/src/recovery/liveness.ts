import type { MarkerRecord } from '../marker/marker-codec.js';
import type { OwnerProbe } from '../owner/owner.js';

/**
 * A marker is stale — safe to recover — when its owner is provably dead, or
 * when nobody can tell and its lease has run out. A live owner's marker is
 * never touched.
 */
export async function isMarkerStale(marker: MarkerRecord, probe: OwnerProbe, now: number): Promise<boolean> {
  const liveness = await probe(marker.owner);
  if (liveness === 'dead') return true;
  if (liveness === 'alive') return false;
  return now > marker.leaseUntilMs;
}

/** `host pid` as an operator reads it. */
export function describeOwner(marker: MarkerRecord): string {
  return `${marker.owner.host} pid ${marker.owner.pid}`;
}
