import { describeKind, type SpoolBackend, type SpoolOpener } from '../backend/spool-backend.js';
import { FanoutError, isFanoutError, toFanoutError } from '../errors/fanout-error.js';
import { type EventSink, ignoreEvents } from '../events/events.js';
import { decodeMarker, MAX_MARKER_BYTES, type MarkerRecord } from '../marker/marker-codec.js';
import { names, parseProtocolName } from '../names/protocol-names.js';
import { defaultOwnerProbe, type OwnerProbe } from '../owner/owner.js';
import { type ExecutorHooks, runMachine, unwrapStopped } from '../protocol/executor.js';
import { readSpoolIdentity, type SpoolIdentity } from '../spool/identity.js';
import { readSmall } from '../spool/read-small.js';
import { tempName } from '../spool/temp-name.js';
import { hostname } from 'node:os';
import { removeDeadTemps } from './dead-temps.js';
import { describeOwner, isMarkerStale } from './liveness.js';
import { claimMarker, recoverMarker, releaseClaims } from './recovery-machine.js';
import { claimName, encodeClaim, isRecovererDead, readClaim, RECOVERY_LEASE_MS } from './recoverer.js';

/** Options of {@link recover}. */
export interface RecoverOptions {
  /** The spool to recover (a source spool: its markers are recovered; any spool: its dead temps are removed). */
  readonly spool: SpoolBackend;
  /**
   * Opens a destination named by a marker. Its identity is checked against
   * the marker's UUID before anything in it is touched.
   */
  readonly open: SpoolOpener;
  /** Tells live owners from dead ones; default: `kill(pid, 0)` on this host. */
  readonly ownerProbe?: OwnerProbe;
  /** A recoverer on another host that took a marker over is presumed dead this long after its takeover. Default 10 min. */
  readonly recoveryLeaseMs?: number;
  /** Temps of writers that cannot be proven dead are removed after this age. Default 36 h (qmail's OSSIFIED). */
  readonly staleTempMs?: number;
  readonly now?: () => number;
  readonly onEvent?: EventSink;
  /** For checkers: stand between the recovery machines and the backends. */
  readonly hooks?: ExecutorHooks;
}

/** What a recovery did. */
export interface RecoverySummary {
  readonly rolledBack: number;
  readonly rolledForward: number;
  /** Markers of live owners, left alone. */
  readonly inFlight: number;
  /** Markers quarantined or refused: left in place, nothing deleted. Non-empty means exit status 3. */
  readonly refused: FanoutError[];
  readonly tempsRemoved: number;
  /** Entries that are not protocol files: reported, never touched. */
  readonly unknown: number;
}

/** Default age after which an unprovable writer's temp file is removed. */
export const STALE_TEMP_MS = 36 * 3600 * 1000;

/**
 * Roll back or complete every interrupted transaction whose marker is in
 * `spool`, then remove dead writers' temp files (R1–R7 of the post, in two
 * loops; a stale marker's destinations have their dead temps removed too). Idempotent and safe to crash at any point: run it again.
 *
 * It only ever deletes protocol files (`t`, `m`, `w`, `d`, `l` of a rolled
 * back transaction) inside spools whose `.fanout-spool` identity matches what
 * the marker says. A marker that does not parse, fails its checksum, is not
 * a regular file, or names a foreign spool is quarantined: reported in
 * `refused`, left in place, its message left in the source.
 *
 * @throws `ENOTSPOOL` when `spool` is not a fanout spool.
 */
export async function recover(options: RecoverOptions): Promise<RecoverySummary> {
  return unwrapStopped(() => recoverUnwrapped(options));
}

async function recoverUnwrapped(options: RecoverOptions): Promise<RecoverySummary> {
  const { spool } = options;
  const probe = options.ownerProbe ?? defaultOwnerProbe;
  const now = options.now ?? Date.now;
  const emit = options.onEvent ?? ignoreEvents;
  const identity = await readSpoolIdentity(spool);
  const opened = new Map<string, Promise<{ backend: SpoolBackend; identity: SpoolIdentity }>>();
  const refused: FanoutError[] = [];
  let rolledBack = 0;
  let rolledForward = 0;
  let inFlight = 0;
  let unknown = 0;
  let tempsRemoved = 0;
  const recoveryLeaseMs = options.recoveryLeaseMs ?? RECOVERY_LEASE_MS;
  const cleaned = new Set<SpoolBackend>();
  const refuse = (error: FanoutError) => {
    refused.push(error);
    emit({ type: 'quarantined', spool: error.spool ?? spool.location, file: error.file ?? '', error });
  };

  const openDestination = (location: string) => {
    let p = opened.get(location);
    if (!p) {
      p = options.open(location).then(async (backend) => ({ backend, identity: await readSpoolIdentity(backend) }));
      opened.set(location, p);
    }
    return p;
  };

  /**
   * Read and verify `m<id>`. A marker that is corrupt or foreign is refused
   * (reported) unless `quiet`; one that vanished meanwhile (another recoverer
   * finished it) is simply absent.
   */
  const readVerifiedMarker = async (file: string, id: string, quiet = false): Promise<MarkerRecord | undefined> => {
    let marker: MarkerRecord;
    try {
      marker = decodeMarker(await readSmall(spool, file, MAX_MARKER_BYTES), { spool: spool.location, file, id });
    } catch (err) {
      if (!quiet && !isFanoutError(err, 'ENOENT')) refuse(toFanoutError(err, 'ECORRUPT', { spool: spool.location, file }));
      return undefined;
    }
    if (marker.id !== id || marker.source.uuid !== identity.uuid) {
      if (!quiet) refuse(new FanoutError('EFOREIGN', `marker belongs to ${marker.id === id ? `spool ${marker.source.uuid}` : `message ${marker.id}`}; quarantined`, { spool: spool.location, file }));
      return undefined;
    }
    return marker;
  };

  const verifiedDestinations = async (marker: MarkerRecord, file: string): Promise<SpoolBackend[] | undefined> => {
    const destinations: SpoolBackend[] = [];
    for (const ref of marker.destinations) {
      try {
        const d = await openDestination(ref.location);
        if (d.identity.uuid !== ref.uuid) {
          refuse(new FanoutError('EFOREIGN', `marker names spool ${ref.uuid} at ${ref.location}, which is spool ${d.identity.uuid}; quarantined`, { spool: spool.location, file }));
          return undefined;
        }
        destinations.push(d.backend);
      } catch (err) {
        const e = toFanoutError(err, 'EIO', { spool: ref.location });
        refuse(new FanoutError(e.code === 'ENOTSPOOL' ? 'EFOREIGN' : e.code, `cannot verify destination ${ref.location}: ${e.message}`, { spool: spool.location, file, cause: e }));
        return undefined;
      }
    }
    return destinations;
  };

  try {
    // Loop 1 (R1–R5): markers.
    for await (const entry of spool.list()) {
      const parsed = parseProtocolName(entry.name);
      if (parsed.kind === 'unknown') {
        unknown++;
        emit({ type: 'unknown-entry', spool: spool.location, name: entry.name, kind: entry.kind });
        continue;
      }
      if (parsed.kind !== 'marker' && parsed.kind !== 'recovering') {
        // A protocol name on a symlink, directory or FIFO is not ours: report it, never follow or delete it.
        if (entry.kind !== 'file' && parsed.kind !== 'identity') {
          unknown++;
          emit({ type: 'unknown-entry', spool: spool.location, name: entry.name, kind: entry.kind });
        }
        continue;
      }
      const file = entry.name;
      if (entry.kind !== 'file') {
        refuse(new FanoutError('EBADENTRY', `marker is ${describeKind(entry.kind)}, not a regular file; quarantined`, { spool: spool.location, file }));
        continue;
      }
      if (parsed.kind === 'recovering') {
        // A takeover claim. While its marker exists the marker's own entry decides; without one it is a leftover.
        if ((await spool.stat(names.marker(parsed.id))) !== undefined) continue;
        const holder = await readClaim(spool, file);
        if (holder !== undefined && (await isRecovererDead(holder, probe, now(), recoveryLeaseMs))) await spool.remove(file);
        continue;
      }
      const marker = await readVerifiedMarker(file, parsed.id);
      if (marker === undefined) continue;
      if (!(await isMarkerStale(marker, probe, now()))) {
        inFlight++;
        emit({ type: 'marker-in-flight', id: marker.id, spool: spool.location, owner: describeOwner(marker) });
        continue;
      }
      const destinations = await verifiedDestinations(marker, file);
      if (destinations === undefined) continue;
      // R1: take the attempt over with the next free claim generation; a live holder of an earlier one keeps it.
      const claims: string[] = [];
      let holderAlive = false;
      let generation = 1;
      for (; ; generation++) {
        const name = claimName(marker.id, marker.tx, generation);
        const holder = await readClaim(spool, name);
        if (holder === undefined) break;
        claims.push(name);
        if (!(await isRecovererDead(holder, probe, now(), recoveryLeaseMs))) {
          holderAlive = true;
          break;
        }
      }
      if (holderAlive) {
        inFlight++;
        emit({ type: 'marker-in-flight', id: marker.id, spool: spool.location, owner: `recoverer holding ${claims[claims.length - 1]}` });
        continue;
      }
      const mine = claimName(marker.id, marker.tx, generation);
      const claimContent = encodeClaim({ host: hostname(), pid: process.pid, claimedMs: now() });
      if (!(await runMachine(claimMarker(spool, mine, claimContent, tempName()), options.hooks))) continue;
      claims.push(mine);
      // The marker may have been finished, and its name reused by a newer attempt, since we read it.
      const current = await readVerifiedMarker(file, marker.id, true);
      if (current === undefined || current.tx !== marker.tx) {
        await runMachine(releaseClaims(spool, claims), options.hooks);
        continue;
      }
      // A dead writer's temps in a destination (e.g. fs-nfs's create-by-link) are only reachable through
      // this marker: remove them before the marker goes, so a crash cannot orphan them.
      for (const d of destinations) {
        if (cleaned.has(d)) continue;
        tempsRemoved += await removeDeadTemps(d, probe, options.staleTempMs ?? STALE_TEMP_MS, now(), emit);
        cleaned.add(d);
      }
      const outcome = await runMachine(recoverMarker(spool, marker, destinations), options.hooks);
      // The marker is gone (or refused and left for a later try): the claims have done their work.
      await runMachine(releaseClaims(spool, claims), options.hooks);
      if (outcome.action === 'refused') refuse(outcome.error);
      else {
        if (outcome.action === 'rolled-back') rolledBack++;
        else rolledForward++;
        emit({ type: 'recovered', id: marker.id, tx: marker.tx, action: outcome.action });
      }
    }

    // Loop 2 (R6): temp files of dead writers.
    tempsRemoved += await removeDeadTemps(spool, probe, options.staleTempMs ?? STALE_TEMP_MS, now(), emit);
    return { rolledBack, rolledForward, inFlight, refused, tempsRemoved, unknown };
  } finally {
    for (const p of opened.values()) {
      await p.then((d) => (d.backend === spool ? undefined : d.backend.close())).catch(() => undefined);
    }
  }
}
