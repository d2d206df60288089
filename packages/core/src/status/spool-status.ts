import type { EntryKind, SpoolBackend } from '../backend/spool-backend.js';
import { isFanoutError, toFanoutError } from '../errors/fanout-error.js';
import { decodeMarker, MAX_MARKER_BYTES } from '../marker/marker-codec.js';
import { isNfsSillyName, type ParsedName, parseProtocolName } from '../names/protocol-names.js';
import { defaultOwnerProbe, type OwnerInfo, type OwnerProbe } from '../owner/owner.js';
import { markerState } from '../recovery/liveness.js';
import { isClaimHolderDead, readClaim } from '../recovery/recoverer.js';
import { readSpoolIdentity, type SpoolIdentity } from '../spool/identity.js';
import { readSmall } from '../spool/read-small.js';

/** One attempt record (`m<tx>`, `x<tx>`) or claim (`r<tx>.<g>`) as `status` shows it. */
export interface MarkerStatus {
  readonly file: string;
  /** The attempt id. */
  readonly id: string;
  /** The messages the attempt lists. */
  readonly ids?: readonly string[];
  /** `in-flight` (live owner), `stale` (recovery would take it), `corrupt` (recovery would quarantine it). */
  readonly state: 'in-flight' | 'stale' | 'corrupt';
  /**
   * A stale record only: whether its owner is proven dead (recovery finishes the attempt and removes the record), or
   * only its lease ran out (recovery settles its messages but keeps the record while the owner may still be running,
   * see `RecoverySummary.awaitingOwner`).
   */
  readonly ownerDead?: boolean;
  readonly tx?: string;
  readonly protocol?: string;
  readonly owner?: OwnerInfo;
  readonly ageMs?: number;
  readonly error?: string;
}

/**
 * The age buckets of {@link AgeHistogram}, qshape's doubling ones: 0-5m, 5-10m, 10-20m, 20-40m, 40-80m, 80-160m, 160m+.
 *
 * @example
 * ```ts
 * import { AGE_BUCKETS, spoolStatus } from '@fanout/core';
 *
 * const { ages } = await spoolStatus(outbox);
 * for (const bucket of AGE_BUCKETS) console.log(bucket.label, ages.waiting.buckets[bucket.label]);
 * ```
 */
export const AGE_BUCKETS: readonly { readonly label: string; readonly upToMs: number }[] = [
  { label: '0-5m', upToMs: 5 * 60_000 },
  { label: '5-10m', upToMs: 10 * 60_000 },
  { label: '10-20m', upToMs: 20 * 60_000 },
  { label: '20-40m', upToMs: 40 * 60_000 },
  { label: '40-80m', upToMs: 80 * 60_000 },
  { label: '80-160m', upToMs: 160 * 60_000 },
  { label: '160m+', upToMs: Infinity },
];

/** How many messages are how old (`qshape`): one count per {@link AGE_BUCKETS} bucket, in order. */
export interface AgeHistogram {
  readonly total: number;
  /** Counts per bucket, by label. */
  readonly buckets: Record<string, number>;
  /** Age of the oldest message, ms (0 when there is none). */
  readonly oldestMs: number;
}

function emptyHistogram(): { total: number; buckets: Record<string, number>; oldestMs: number } {
  return { total: 0, buckets: Object.fromEntries(AGE_BUCKETS.map((b) => [b.label, 0])), oldestMs: 0 };
}

function addAge(h: { total: number; buckets: Record<string, number>; oldestMs: number }, ageMs: number): void {
  h.total++;
  const bucket = AGE_BUCKETS.find((b) => ageMs < b.upToMs)!;
  h.buckets[bucket.label]!++;
  h.oldestMs = Math.max(h.oldestMs, ageMs);
}

/** The role a spool entry plays, by its name (docs/PROTOCOL.md names them); what {@link SpoolStatus.counts} counts. */
export type SpoolRole =
  | 'source'
  | 'taken'
  | 'committed'
  | 'backout'
  | 'temp'
  | 'record'
  | 'retiring'
  | 'staged'
  | 'delivered'
  | 'claim'
  | 'claimed'
  | 'lock'
  | 'held'
  | 'attempts'
  | 'deleting'
  | 'unknown';

// SpoolRole is written out for the API docs; it must stay every kind of name but the identity file.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const rolesAreNameKinds: Same<SpoolRole, Exclude<ParsedName['kind'], 'identity'>> = true;
void rolesAreNameKinds;

/** What is in a spool, by kind. */
export interface SpoolStatus {
  readonly location: string;
  readonly identity: SpoolIdentity;
  /**
   * Entries per protocol role (`source`, `taken`, `committed`, `backout`, `record`, `retiring`, `claim`, `staged`,
   * `delivered`, `claimed`, `lock`, `temp`, `held`, `attempts`, `deleting`, `unknown`).
   */
  readonly counts: Record<SpoolRole, number>;
  /** Ages of the messages waiting (`s<id>`, and `d<id>` in a destination) and held (`h<id>.s`, `h<id>.d`). */
  readonly ages: { readonly waiting: AgeHistogram; readonly held: AgeHistogram };
  /** Markers, up to `limit`. */
  readonly markers: MarkerStatus[];
  /**
   * Entries that are not protocol files (or protocol names of the wrong kind), up to `limit`; `.nfs…` files are not
   * among them.
   */
  readonly unknown: { name: string; kind: EntryKind }[];
  /**
   * `.nfs…` files: the NFS client's silly renames of files unlinked while open, gone once closed (`isNfsSillyName`).
   */
  readonly nfsSilly: number;
  /** True when more markers or unknown entries exist than were listed. */
  readonly truncated: boolean;
}

/** Every role counted zero. */
function noEntries(): Record<SpoolRole, number> {
  return {
    source: 0,
    taken: 0,
    committed: 0,
    backout: 0,
    temp: 0,
    record: 0,
    retiring: 0,
    claim: 0,
    staged: 0,
    delivered: 0,
    claimed: 0,
    lock: 0,
    held: 0,
    attempts: 0,
    deleting: 0,
    unknown: 0,
  };
}

/** A claim `file` on attempt `tx`, as a marker: stale once its holder is dead; `undefined`: gone, or not ours. */
async function claimStatus(
  spool: SpoolBackend,
  file: string,
  tx: string,
  probe: OwnerProbe,
  now: number,
): Promise<MarkerStatus | undefined> {
  const holder = await readClaim(spool, file);
  if (holder === undefined || holder === 'foreign') return undefined;
  const dead = await isClaimHolderDead(holder, probe, now);
  return { file, id: tx, state: dead ? 'stale' : 'in-flight', owner: holder.owner, ageMs: now - holder.claimedMs };
}

/** A record `file` (`m<tx>` or `x<tx>`), as a marker, `corrupt` when it does not decode; `undefined`: it is gone. */
async function recordStatus(
  spool: SpoolBackend,
  file: string,
  tx: string,
  probe: OwnerProbe,
  now: number,
): Promise<MarkerStatus | undefined> {
  try {
    const m = decodeMarker(await readSmall(spool, file, MAX_MARKER_BYTES), { tx });
    const state = await markerState(m, probe, now);
    return {
      file,
      id: tx,
      ids: m.ids,
      state: state === 'live' ? 'in-flight' : 'stale',
      ...(state === 'live' ? {} : { ownerDead: state === 'owner-dead' }),
      tx: m.tx,
      protocol: m.protocol,
      owner: m.owner,
      ageMs: now - m.createdMs,
    };
  } catch (err) {
    if (isFanoutError(err, 'ENOENT')) return undefined;
    return { file, id: tx, state: 'corrupt', error: toFanoutError(err, 'ECORRUPT').message };
  }
}

/**
 * Count a spool's entries by role, make the age histograms of its waiting
 * and held messages (one `stat` each), and describe its markers, streaming
 * the listing: memory is bounded by `limit`, not by the spool's size.
 * @throws `ENOTSPOOL` when `spool` is not a fanout spool.
 *
 * @example
 * ```ts
 * import { spoolStatus } from '@fanout/core';
 *
 * const status = await spoolStatus(outbox);
 * console.log(status.counts.source, 'waiting;', status.ages.waiting.oldestMs, 'ms the oldest');
 * ```
 */
export async function spoolStatus(
  spool: SpoolBackend,
  options: { ownerProbe?: OwnerProbe; now?: () => number; limit?: number } = {},
): Promise<SpoolStatus> {
  const identity = await readSpoolIdentity(spool);
  const probe = options.ownerProbe ?? defaultOwnerProbe;
  const now = (options.now ?? Date.now)();
  const limit = options.limit ?? 1000;
  const counts = noEntries();
  const ages = { waiting: emptyHistogram(), held: emptyHistogram() };
  const markers: MarkerStatus[] = [];
  const unknown: { name: string; kind: EntryKind }[] = [];
  let truncated = false;
  let nfsSilly = 0;
  // The ages need one stat per message: awaiting each in turn made `status` over 200,000 entries a
  // 20-second walk of thread-pool round trips; a bounded window keeps memory flat and the pool busy.
  const stats = new StatWindow(STAT_WINDOW);
  for await (const entry of spool.list()) {
    const parsed = parseProtocolName(entry.name);
    if (parsed.kind === 'identity') continue;
    if (parsed.kind === 'unknown' && isNfsSillyName(entry.name)) {
      nfsSilly++;
      continue;
    }
    if (parsed.kind === 'unknown' || entry.kind !== 'file') {
      counts.unknown++;
      if (unknown.length < limit) unknown.push({ name: entry.name, kind: entry.kind });
      else truncated = true;
      continue;
    }
    counts[parsed.kind]++;
    if (parsed.kind === 'source' || parsed.kind === 'delivered' || parsed.kind === 'held') {
      const histogram = parsed.kind === 'held' ? ages.held : ages.waiting;
      await stats.add(async () => {
        const st = await spool.stat(entry.name);
        if (st !== undefined) addAge(histogram, Math.max(0, now - st.mtimeMs));
      });
      continue;
    }
    if (parsed.kind === 'claim') {
      const claim = await claimStatus(spool, entry.name, parsed.tx, probe, now);
      if (claim !== undefined && markers.length < limit) markers.push(claim);
      continue;
    }
    if (parsed.kind !== 'record' && parsed.kind !== 'retiring') continue;
    if (markers.length >= limit) {
      truncated = true;
      continue;
    }
    const record = await recordStatus(spool, entry.name, parsed.tx, probe, now);
    // A record that went meanwhile (its attempt finished) is not counted.
    if (record === undefined) counts[parsed.kind]--;
    else markers.push(record);
  }
  await stats.drain();
  return { location: spool.location, identity, counts, ages, markers, unknown, nfsSilly, truncated };
}

/** How many age stats `status` keeps in flight at once. */
const STAT_WINDOW = 64;

/**
 * At most `size` tasks in flight; `add` waits for room, `drain` for the rest. The first failure
 * is thrown (by the next `add` or by `drain`) once the tasks started before it have settled, so
 * none is left running unobserved.
 */
class StatWindow {
  private readonly running = new Set<Promise<void>>();
  private failure: { err: unknown } | undefined;

  constructor(private readonly size: number) {}

  async add(task: () => Promise<void>): Promise<void> {
    while (this.running.size >= this.size) await Promise.race(this.running);
    if (this.failure) return this.drain();
    const p: Promise<void> = task()
      .catch((err: unknown) => {
        this.failure ??= { err };
      })
      .finally(() => this.running.delete(p));
    this.running.add(p);
  }

  async drain(): Promise<void> {
    await Promise.all(this.running);
    if (this.failure) throw this.failure.err;
  }
}
