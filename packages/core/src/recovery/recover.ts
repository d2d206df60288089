import { describeKind, type EntryKind, type SpoolBackend, type SpoolOpener } from '../backend/spool-backend.js';
import { FanoutError, isFanoutError, toFanoutError } from '../errors/fanout-error.js';
import { type EventSink, ignoreEvents } from '../events/events.js';
import { decodeMarker, MAX_MARKER_BYTES, type MarkerRecord } from '../marker/marker-codec.js';
import { isNfsSillyName, parseProtocolName } from '../names/protocol-names.js';
import { defaultOwnerProbe, type OwnerInfo, type OwnerProbe, processOwner } from '../owner/owner.js';
import { type ExecutorHooks, MachineStopped, runMachine, unwrapStopped } from '../protocol/executor.js';
import { readSpoolIdentity, type SpoolIdentity } from '../spool/identity.js';
import { readSmall } from '../spool/read-small.js';
import { tempName } from '../spool/temp-name.js';
import { removeDeadTemps } from './dead-temps.js';
import { DEFAULT_MAX_ATTEMPTS } from '../attempts/attempt-record.js';
import { resolveQueueTwin } from '../queue/queue-machines.js';
import { describeOwner, isMarkerStale } from './liveness.js';
import { claimAttempt, recordGone, recoverAttempt, recoverOrphan, releaseClaims } from './recovery-machine.js';
import { claimName, encodeClaim, isClaimHolderDead, readClaim, RECOVERY_LEASE_MS } from './recoverer.js';

/** Options of {@link recover}. */
export interface RecoverOptions {
  /** The spool to recover (a source spool: its attempts are recovered; any spool: its dead temps are removed). */
  readonly spool: SpoolBackend;
  /**
   * Opens a destination named by a record. Its identity is checked against
   * the record's UUID before anything in it is touched.
   */
  readonly open: SpoolOpener;
  /**
   * Tells live owners from dead ones; default: {@link defaultOwnerProbe} (it can only say 'unknown', so leases decide).
   */
  readonly ownerProbe?: OwnerProbe;
  /** Who this recoverer is, written into its takeover claims. Default {@link processOwner}(). */
  readonly owner?: OwnerInfo;
  /** A recoverer that nobody can see is presumed dead this long after its takeover. Default 10 min. */
  readonly recoveryLeaseMs?: number;
  /**
   * Other spools whose dead writers' temps R6 removes too, each at most once per call (a worker's destinations). A
   * dead writer's temp there is otherwise reached only through its record, while the record lasts.
   */
  readonly sweepTempsIn?: readonly SpoolBackend[];
  /** Temps of writers that cannot be proven dead are removed after this age. Default 36 h (qmail's OSSIFIED). */
  readonly staleTempMs?: number;
  readonly now?: () => number;
  readonly onEvent?: EventSink;
  /** For checkers: stand between the recovery machines and the backends. @internal */
  readonly hooks?: ExecutorHooks;
  /** A message given back whose attempt count reached this is held (`h<id>.s`) instead. Default 5. */
  readonly maxAttempts?: number;
}

/** What a recovery did. */
export interface RecoverySummary {
  readonly rolledBack: number;
  readonly rolledForward: number;
  /** Attempts of live owners (or held by a live recoverer), left alone. */
  readonly inFlight: number;
  /** Records quarantined or refused: left in place, nothing deleted. Non-empty means exit status 3. */
  readonly refused: FanoutError[];
  /**
   * Steps that failed (a removal refused by the storage, a publish blocked): left in place for a later recovery. Exit
   * status 1.
   */
  readonly failed: FanoutError[];
  readonly tempsRemoved: number;
  /** Entries that are not protocol files: reported, never touched. */
  readonly unknown: number;
}

/**
 * Default age after which an unprovable writer's temp file is removed.
 *
 * @example
 * ```ts
 * import { STALE_TEMP_MS } from '@fanout/core';
 *
 * console.log(`temp files of writers nobody can prove dead go after ${STALE_TEMP_MS / 3_600_000} h`);
 * ```
 */
export const STALE_TEMP_MS = 36 * 3600 * 1000;

/**
 * Roll back or complete every interrupted attempt whose record is in
 * `spool`, then remove dead writers' temp files (R1–R7 of the post, in two
 * loops; a stale attempt's destinations have their dead temps removed too).
 * Idempotent and safe to crash at any point: run it again.
 *
 * It only ever deletes protocol files (names that parse exactly, of attempts
 * whose verified record names them) inside spools whose `.fanout-spool`
 * identity matches what the record says. A record that does not parse, fails
 * its checksum, is not a regular file, or names a foreign spool is
 * quarantined: reported in `refused`, left in place, its messages left alone.
 *
 * @throws `ENOTSPOOL` when `spool` is not a fanout spool.
 *
 * @example
 * ```ts
 * import { openSpool, recover } from '@fanout/core';
 *
 * const open = (url: string) => openSpool(url, { backends });
 * const summary = await recover({ spool: await open('/var/spool/fanout/outgoing'), open });
 * console.log(summary);
 * ```
 */
export async function recover(options: RecoverOptions): Promise<RecoverySummary> {
  return unwrapStopped(() => recoverUnwrapped(options));
}

async function recoverUnwrapped(options: RecoverOptions): Promise<RecoverySummary> {
  const { spool } = options;
  const probe = options.ownerProbe ?? defaultOwnerProbe;
  const self = options.owner ?? processOwner();
  const now = options.now ?? Date.now;
  const emit = options.onEvent ?? ignoreEvents;
  const identity = await readSpoolIdentity(spool);
  const opened = new Map<string, Promise<{ backend: SpoolBackend; identity: SpoolIdentity }>>();
  const refused: FanoutError[] = [];
  const failed: FanoutError[] = [];
  let rolledBack = 0;
  let rolledForward = 0;
  let inFlight = 0;
  let unknown = 0;
  let tempsRemoved = 0;
  const recoveryLeaseMs = options.recoveryLeaseMs ?? RECOVERY_LEASE_MS;
  const maxAttempts = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  /** Spools whose dead temps this call has removed already, by location (recovery opens its own handles). */
  const cleaned = new Set<string>();
  const refuse = (error: FanoutError) => {
    refused.push(error);
    emit({ type: 'quarantined', spool: error.spool ?? spool.location, file: error.file ?? '', error });
  };
  const reportUnknown = (name: string, kind: EntryKind) => {
    unknown++;
    emit({ type: 'unknown-entry', spool: spool.location, name, kind });
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
   * Read and verify a record; one that is corrupt or foreign is refused (unless `quiet`), one that vanished is absent.
   */
  const readVerifiedRecord = async (file: string, tx: string, quiet = false): Promise<MarkerRecord | undefined> => {
    let record: MarkerRecord;
    try {
      record = decodeMarker(await readSmall(spool, file, MAX_MARKER_BYTES), { spool: spool.location, file, tx });
    } catch (err) {
      if (!quiet && !isFanoutError(err, 'ENOENT'))
        refuse(toFanoutError(err, 'ECORRUPT', { spool: spool.location, file }));
      return undefined;
    }
    if (record.source.uuid !== identity.uuid) {
      if (!quiet)
        refuse(
          new FanoutError('EFOREIGN', `record belongs to spool ${record.source.uuid}; quarantined`, {
            spool: spool.location,
            file,
          }),
        );
      return undefined;
    }
    return record;
  };

  const verifiedDestinations = async (record: MarkerRecord, file: string): Promise<SpoolBackend[] | undefined> => {
    const destinations: SpoolBackend[] = [];
    for (const ref of record.destinations) {
      try {
        const d = await openDestination(ref.location);
        if (d.identity.uuid !== ref.uuid) {
          refuse(
            new FanoutError(
              'EFOREIGN',
              `record names spool ${ref.uuid} at ${ref.location}, which is spool ${d.identity.uuid}; quarantined`,
              { spool: spool.location, file },
            ),
          );
          return undefined;
        }
        destinations.push(d.backend);
      } catch (err) {
        const e = toFanoutError(err, 'EIO', { spool: ref.location });
        refuse(
          new FanoutError(
            e.code === 'ENOTSPOOL' ? 'EFOREIGN' : e.code,
            `cannot verify destination ${ref.location}: ${e.message}`,
            { spool: spool.location, file, cause: e },
          ),
        );
        return undefined;
      }
    }
    return destinations;
  };

  /** R1: the claims of attempt `tx`, and whether a live holder (the owner renewing, or a recoverer) has it. */
  const claimsOf = async (tx: string): Promise<{ claims: string[]; next: number; holder: string | undefined }> => {
    const claims: string[] = [];
    for (let generation = 1; ; generation++) {
      const name = claimName(tx, generation);
      const c = await readClaim(spool, name, options.hooks);
      if (c === undefined) return { claims, next: generation, holder: undefined };
      // A file that is not our claim still takes the generation's name: skip it, never delete it.
      if (c === 'foreign') continue;
      claims.push(name);
      if (!(await isClaimHolderDead(c, probe, now())))
        return { claims, next: generation, holder: `${c.owner.host} pid ${c.owner.pid}` };
    }
  };

  const recoverRecord = async (file: string, tx: string, fromRetiring: boolean) => {
    const record = await readVerifiedRecord(file, tx);
    if (record === undefined) return;
    if (!(await isMarkerStale(record, probe, now()))) {
      inFlight++;
      emit({ type: 'marker-in-flight', id: tx, spool: spool.location, owner: describeOwner(record) });
      return;
    }
    const destinations = await verifiedDestinations(record, file);
    if (destinations === undefined) return;
    // R1: take the attempt over with the next free claim generation; a live holder of an earlier one keeps it.
    const { claims, next, holder } = await claimsOf(tx);
    if (holder !== undefined) {
      inFlight++;
      emit({ type: 'marker-in-flight', id: tx, spool: spool.location, owner: holder });
      return;
    }
    const mine = claimName(tx, next);
    const content = encodeClaim({ owner: self, claimedMs: now(), leaseMs: recoveryLeaseMs });
    if (!(await runMachine(claimAttempt(spool, mine, content, tempName()), options.hooks))) return;
    claims.push(mine);
    // The record may have been finished since we read it.
    if ((await readVerifiedRecord(file, tx, true)) === undefined) {
      await runMachine(releaseClaims(spool, claims), options.hooks);
      return;
    }
    // A dead writer's temps in a destination are only reachable through this record: remove them first.
    for (const d of destinations) {
      if (cleaned.has(d.location)) continue;
      tempsRemoved += await removeDeadTemps(d, probe, options.staleTempMs ?? STALE_TEMP_MS, now(), emit, options.hooks);
      cleaned.add(d.location);
    }
    let outcome;
    try {
      outcome = await runMachine(recoverAttempt(spool, record, destinations, fromRetiring, maxAttempts), options.hooks);
    } catch (err) {
      if (err instanceof MachineStopped) throw err;
      // A sync or a read that failed: nothing is decided; the claim stays until it expires, the record for later.
      failed.push(toFanoutError(err, 'EIO', { spool: spool.location, file }));
      return;
    }
    rolledBack += outcome.rolledBack;
    rolledForward += outcome.rolledForward;
    for (const p of outcome.problems) {
      failed.push(p);
      emit({ type: 'recovery-failed', spool: p.spool ?? spool.location, file: p.file ?? file, error: p });
    }
    for (const m of outcome.messages) emit({ type: 'recovered', id: m.id, tx, action: m.action });
    if (outcome.retired) {
      await runMachine(releaseClaims(spool, claims), options.hooks);
    } else if (outcome.problems.length === 0) {
      inFlight++;
      emit({ type: 'marker-in-flight', id: tx, spool: spool.location, owner: describeOwner(record) });
    }
  };

  try {
    // Loop 1 (R1–R5): attempts.
    for await (const entry of spool.list()) {
      const parsed = parseProtocolName(entry.name);
      if (parsed.kind === 'unknown') {
        // The NFS client's own file, gone once closed: `status` counts it; reporting it on every pass says nothing.
        if (!isNfsSillyName(entry.name)) reportUnknown(entry.name, entry.kind);
        continue;
      }
      if (parsed.kind === 'identity') continue;
      // A protocol name on a symlink, directory or FIFO is not ours: report it, never follow or delete it.
      if (entry.kind !== 'file') {
        if (parsed.kind === 'record' || parsed.kind === 'retiring') {
          refuse(
            new FanoutError('EBADENTRY', `record is ${describeKind(entry.kind)}, not a regular file; quarantined`, {
              spool: spool.location,
              file: entry.name,
            }),
          );
        } else reportUnknown(entry.name, entry.kind);
        continue;
      }
      try {
        if (parsed.kind === 'record' || parsed.kind === 'retiring') {
          await recoverRecord(entry.name, parsed.tx, parsed.kind === 'retiring');
        } else if (parsed.kind === 'taken' || parsed.kind === 'backout' || parsed.kind === 'committed') {
          if (
            await runMachine(
              recoverOrphan(spool, entry.name, parsed.kind, parsed.id, parsed.tx, maxAttempts),
              options.hooks,
            )
          ) {
            if (parsed.kind === 'committed') rolledForward++;
            else rolledBack++;
          }
        } else if (parsed.kind === 'held' || parsed.kind === 'deleting') {
          // A hold, release or delete that a crash left with both names (the rename's halves): the other name wins.
          await runMachine(resolveQueueTwin(spool, entry.name, parsed.id), options.hooks);
        } else if (parsed.kind === 'claim') {
          // A claim whose attempt is over is a leftover; only claims this code wrote, of dead holders, go.
          if (!(await runMachine(recordGone('R1', spool, parsed.tx), options.hooks))) continue;
          const holder = await readClaim(spool, entry.name, options.hooks);
          if (holder !== undefined && holder !== 'foreign' && (await isClaimHolderDead(holder, probe, now())))
            await runMachine(releaseClaims(spool, [entry.name]), options.hooks);
        }
      } catch (err) {
        // One attempt's storage failure does not stop the others; it is reported and left for later.
        if (err instanceof MachineStopped) throw err;
        const e = toFanoutError(err, 'EIO', { spool: spool.location, file: entry.name });
        failed.push(e);
        emit({ type: 'recovery-failed', spool: e.spool ?? spool.location, file: e.file ?? entry.name, error: e });
      }
    }

    // Loop 2 (R6): temp files of dead writers, in the source and in the other spools asked for. A temp that shows up
    // after its record was recovered (a create the NFS client sent before its process was killed, a listing served
    // from the client's cache) is found only here, or by a consumer that, on another host, cannot prove it dead.
    for (const s of [spool, ...(options.sweepTempsIn ?? [])]) {
      if (s !== spool && cleaned.has(s.location)) continue;
      tempsRemoved += await removeDeadTemps(s, probe, options.staleTempMs ?? STALE_TEMP_MS, now(), emit, options.hooks);
      cleaned.add(s.location);
    }
    return { rolledBack, rolledForward, inFlight, refused, failed, tempsRemoved, unknown };
  } finally {
    for (const p of opened.values()) {
      await p.then((d) => (d.backend === spool ? undefined : d.backend.close())).catch(() => undefined);
    }
  }
}
