import type { MarkerRecord } from '../marker/marker-codec.js';
import type { OwnerProbe } from '../owner/owner.js';

/**
 * A marker is stale — safe to recover — when its owner is provably dead, or
 * when nobody can tell and its lease has run out. A live owner's marker is
 * never touched. `live`: leave it alone; `owner-dead`: recover it;
 * `lease-expired`: recover it, but its owner may still be running (paused,
 * cut off by a partition) and act on it later.
 */
export async function markerState(
  marker: MarkerRecord,
  probe: OwnerProbe,
  now: number,
): Promise<'live' | 'owner-dead' | 'lease-expired'> {
  const liveness = await probe(marker.owner);
  if (liveness === 'dead') return 'owner-dead';
  if (liveness === 'alive') return 'live';
  return now > marker.leaseUntilMs ? 'lease-expired' : 'live';
}

/** `host pid` as an operator reads it. */
export function describeOwner(marker: MarkerRecord): string {
  return `${marker.owner.host} pid ${marker.owner.pid}`;
}
