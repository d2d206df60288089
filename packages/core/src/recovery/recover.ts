import { describeKind, type EntryKind, type SpoolBackend, type SpoolOpener } from '../backend/spool-backend.js';
import { FanoutError, isFanoutError, toFanoutError } from '../errors/fanout-error.js';
import { type EventSink, ignoreEvents } from '../events/events.js';
import { decodeMarker, MAX_MARKER_BYTES, type MarkerRecord } from '../marker/marker-codec.js';
import { isNfsSillyName, parseProtocolName } from '../names/protocol-names.js';
import { defaultOwnerProbe, type OwnerInfo, type OwnerProbe, processOwner } from '../owner/owner.js';
import { type ExecutorHooks, MachineStopped, runMachine, unwrapStopped } from '../protocol/executor.js';
import type { Machine } from '../protocol/ops.js';
import { readSpoolIdentity, type SpoolIdentity } from '../spool/identity.js';
import { readSmall } from '../spool/read-small.js';
import { tempName } from '../spool/temp-name.js';
import { removeDeadTemps } from './dead-temps.js';
import { DEFAULT_MAX_ATTEMPTS } from '../attempts/attempt-record.js';
import { resolveQueueTwin } from '../queue/queue-machines.js';
import { describeOwner, markerState } from './liveness.js';
import { isOwnIdleAttempt } from '../fanout/active-attempts.js';
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
  /**
   * Attempts recovered from owners that cannot be proven dead: their messages are settled, their records stay until
   * the owner is proven dead, finishes itself, or `staleTempMs` has passed since its lease ran out (a later recovery
   * removes through them what the owner may still write).
   */
  readonly awaitingOwner: number;
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
  const run = new RecoveryRun(options, await readSpoolIdentity(options.spool));
  try {
    // Loop 1 (R1–R5): attempts.
    for await (const entry of options.spool.list()) await run.entry(entry.name, entry.kind);
    // Loop 2 (R6).
    await run.sweepTemps();
    return run.summary();
  } finally {
    await run.close();
  }
}

/** One call of {@link recover}: what it has found and done so far, and the destinations it opened. */
class RecoveryRun {
  private readonly spool: SpoolBackend;
  private readonly probe: OwnerProbe;
  private readonly self: OwnerInfo;
  private readonly now: () => number;
  private readonly emit: EventSink;
  private readonly maxAttempts: number;
  private readonly opened = new Map<string, Promise<{ backend: SpoolBackend; identity: SpoolIdentity }>>();
  /** Spools whose dead temps this call has removed already, by location (recovery opens its own handles). */
  private readonly cleaned = new Set<string>();
  private readonly refused: FanoutError[] = [];
  private readonly failed: FanoutError[] = [];
  private rolledBack = 0;
  private rolledForward = 0;
  private inFlight = 0;
  private awaitingOwner = 0;
  private unknown = 0;
  private tempsRemoved = 0;

  constructor(
    private readonly options: RecoverOptions,
    private readonly identity: SpoolIdentity,
  ) {
    this.spool = options.spool;
    this.probe = options.ownerProbe ?? defaultOwnerProbe;
    this.self = options.owner ?? processOwner();
    this.now = options.now ?? Date.now;
    this.emit = options.onEvent ?? ignoreEvents;
    this.maxAttempts = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  }

  summary(): RecoverySummary {
    const { rolledBack, rolledForward, inFlight, awaitingOwner, refused, failed, tempsRemoved, unknown } = this;
    return { rolledBack, rolledForward, inFlight, awaitingOwner, refused, failed, tempsRemoved, unknown };
  }

  /** Close the destinations this call opened (never the spool it was given). */
  async close(): Promise<void> {
    for (const p of this.opened.values()) {
      await p.then((d) => (d.backend === this.spool ? undefined : d.backend.close())).catch(() => undefined);
    }
  }

  private run<T>(machine: Machine<T>): Promise<T> {
    return runMachine(machine, this.options.hooks);
  }

  private refuse(error: FanoutError): void {
    this.refused.push(error);
    this.emit({ type: 'quarantined', spool: error.spool ?? this.spool.location, file: error.file ?? '', error });
  }

  private reportUnknown(name: string, kind: EntryKind): void {
    this.unknown++;
    this.emit({ type: 'unknown-entry', spool: this.spool.location, name, kind });
  }

  private reportFailed(e: FanoutError, file: string): void {
    this.failed.push(e);
    this.emit({ type: 'recovery-failed', spool: e.spool ?? this.spool.location, file: e.file ?? file, error: e });
  }

  private reportInFlight(tx: string, owner: string): void {
    this.inFlight++;
    this.emit({ type: 'marker-in-flight', id: tx, spool: this.spool.location, owner });
  }

  /**
   * Loop 1, one entry of the listing (docs/PROTOCOL.md, "Recovery"): R5 for names that are not ours, a record or
   * `x<tx>` (R1–R4), an orphan `p`/`b`/`k`, a crash twin of a hold or delete, a leftover claim.
   */
  async entry(name: string, kind: EntryKind): Promise<void> {
    const parsed = parseProtocolName(name);
    if (parsed.kind === 'unknown') {
      // The NFS client's own file, gone once closed: `status` counts it; reporting it on every pass says nothing.
      if (!isNfsSillyName(name)) this.reportUnknown(name, kind);
      return;
    }
    if (parsed.kind === 'identity') return;
    // A protocol name on a symlink, directory or FIFO is not ours: report it, never follow or delete it.
    if (kind !== 'file') {
      if (parsed.kind === 'record' || parsed.kind === 'retiring') {
        this.refuse(
          new FanoutError('EBADENTRY', `record is ${describeKind(kind)}, not a regular file; quarantined`, {
            spool: this.spool.location,
            file: name,
          }),
        );
      } else this.reportUnknown(name, kind);
      return;
    }
    try {
      if (parsed.kind === 'record' || parsed.kind === 'retiring') {
        await this.recoverRecord(name, parsed.tx, parsed.kind === 'retiring');
      } else if (parsed.kind === 'taken' || parsed.kind === 'backout' || parsed.kind === 'committed') {
        if (await this.run(recoverOrphan(this.spool, name, parsed.kind, parsed.id, parsed.tx, this.maxAttempts))) {
          if (parsed.kind === 'committed') this.rolledForward++;
          else this.rolledBack++;
        }
      } else if (parsed.kind === 'held' || parsed.kind === 'deleting') {
        // A hold, release or delete that a crash left with both names (the rename's halves): the other name wins.
        await this.run(resolveQueueTwin(this.spool, name, parsed.id));
      } else if (parsed.kind === 'claim') {
        await this.removeLeftoverClaim(name, parsed.tx);
      }
    } catch (err) {
      // One attempt's storage failure does not stop the others; it is reported and left for later.
      if (err instanceof MachineStopped) throw err;
      this.reportFailed(toFanoutError(err, 'EIO', { spool: this.spool.location, file: name }), name);
    }
  }

  /** A claim whose attempt is over is a leftover; only claims this code wrote, of dead holders, go. */
  private async removeLeftoverClaim(name: string, tx: string): Promise<void> {
    if (!(await this.run(recordGone('R1', this.spool, tx)))) return;
    const holder = await readClaim(this.spool, name, this.options.hooks);
    if (holder !== undefined && holder !== 'foreign' && (await isClaimHolderDead(holder, this.probe, this.now())))
      await this.run(releaseClaims(this.spool, [name]));
  }

  /**
   * Loop 2 (R6): temp files of dead writers, in the source and in the other spools asked for. A temp that shows up
   * after its record was recovered (a create the NFS client sent before its process was killed, a listing served
   * from the client's cache) is found only here, or by a consumer that, on another host, cannot prove it dead.
   */
  async sweepTemps(): Promise<void> {
    for (const s of [this.spool, ...(this.options.sweepTempsIn ?? [])]) {
      if (s !== this.spool && this.cleaned.has(s.location)) continue;
      await this.removeDeadTempsIn(s);
    }
  }

  private async removeDeadTempsIn(s: SpoolBackend): Promise<void> {
    const staleMs = this.options.staleTempMs ?? STALE_TEMP_MS;
    this.tempsRemoved += await removeDeadTemps(s, this.probe, staleMs, this.now(), this.emit, this.options.hooks);
    this.cleaned.add(s.location);
  }

  private openDestination(location: string): Promise<{ backend: SpoolBackend; identity: SpoolIdentity }> {
    let p = this.opened.get(location);
    if (!p) {
      p = this.options
        .open(location)
        .then(async (backend) => ({ backend, identity: await readSpoolIdentity(backend) }));
      this.opened.set(location, p);
    }
    return p;
  }

  /**
   * Read and verify a record; one that is corrupt or foreign is refused (unless `quiet`), one that vanished is absent.
   */
  private async readVerifiedRecord(file: string, tx: string, quiet = false): Promise<MarkerRecord | undefined> {
    const { spool } = this;
    let record: MarkerRecord;
    try {
      record = decodeMarker(await readSmall(spool, file, MAX_MARKER_BYTES), { spool: spool.location, file, tx });
    } catch (err) {
      if (!quiet && !isFanoutError(err, 'ENOENT'))
        this.refuse(toFanoutError(err, 'ECORRUPT', { spool: spool.location, file }));
      return undefined;
    }
    if (record.source.uuid !== this.identity.uuid) {
      if (!quiet)
        this.refuse(
          new FanoutError('EFOREIGN', `record belongs to spool ${record.source.uuid}; quarantined`, {
            spool: spool.location,
            file,
          }),
        );
      return undefined;
    }
    return record;
  }

  /** The record's destinations, opened, each the spool its UUID says; else the record is refused. */
  private async verifiedDestinations(record: MarkerRecord, file: string): Promise<SpoolBackend[] | undefined> {
    const destinations: SpoolBackend[] = [];
    for (const ref of record.destinations) {
      try {
        const d = await this.openDestination(ref.location);
        if (d.identity.uuid !== ref.uuid) {
          this.refuse(
            new FanoutError(
              'EFOREIGN',
              `record names spool ${ref.uuid} at ${ref.location}, which is spool ${d.identity.uuid}; quarantined`,
              { spool: this.spool.location, file },
            ),
          );
          return undefined;
        }
        destinations.push(d.backend);
      } catch (err) {
        const e = toFanoutError(err, 'EIO', { spool: ref.location });
        this.refuse(
          new FanoutError(
            e.code === 'ENOTSPOOL' ? 'EFOREIGN' : e.code,
            `cannot verify destination ${ref.location}: ${e.message}`,
            { spool: this.spool.location, file, cause: e },
          ),
        );
        return undefined;
      }
    }
    return destinations;
  }

  /** R1: the claims of attempt `tx`, and whether a live holder (the owner renewing, or a recoverer) has it. */
  private async claimsOf(tx: string): Promise<{ claims: string[]; next: number; holder: string | undefined }> {
    const claims: string[] = [];
    for (let generation = 1; ; generation++) {
      const name = claimName(tx, generation);
      const c = await readClaim(this.spool, name, this.options.hooks);
      if (c === undefined) return { claims, next: generation, holder: undefined };
      // A file that is not our claim still takes the generation's name: skip it, never delete it.
      if (c === 'foreign') continue;
      claims.push(name);
      if (!(await isClaimHolderDead(c, this.probe, this.now())))
        return { claims, next: generation, holder: `${c.owner.host} pid ${c.owner.pid}` };
    }
  }

  /**
   * R1, takeover: claim attempt `tx` with the next free claim generation (a live holder of an earlier one keeps it),
   * then read its record again.
   * @returns the claims of the attempt, this one's last; `undefined`: left alone.
   */
  private async takeOver(file: string, tx: string): Promise<string[] | undefined> {
    const { claims, next, holder } = await this.claimsOf(tx);
    if (holder !== undefined) {
      this.reportInFlight(tx, holder);
      return undefined;
    }
    const mine = claimName(tx, next);
    const content = encodeClaim({
      owner: this.self,
      claimedMs: this.now(),
      leaseMs: this.options.recoveryLeaseMs ?? RECOVERY_LEASE_MS,
    });
    if (!(await this.run(claimAttempt(this.spool, mine, content, tempName())))) return undefined;
    claims.push(mine);
    // The record may have been finished since we read it.
    if ((await this.readVerifiedRecord(file, tx, true)) === undefined) {
      await this.run(releaseClaims(this.spool, claims));
      return undefined;
    }
    return claims;
  }

  /** R1–R4 for one record `file` (`x<tx>` when `fromRetiring`): left alone, refused, or recovered. */
  private async recoverRecord(file: string, tx: string, fromRetiring: boolean): Promise<void> {
    const record = await this.readVerifiedRecord(file, tx);
    if (record === undefined) return;
    // This process's own attempt that no longer runs here: as good as a dead owner's (a live daemon finishes its own).
    const state = isOwnIdleAttempt(record.owner, this.self, tx)
      ? 'owner-dead'
      : await markerState(record, this.probe, this.now());
    if (state === 'live') return this.reportInFlight(tx, describeOwner(record));
    // An owner that may still be running keeps its record past this recovery (see recoverAttempt), up to the age after
    // which recovery presumes a writer dead.
    const staleMs = this.options.staleTempMs ?? STALE_TEMP_MS;
    const keepRecord = state === 'lease-expired' && this.now() <= record.leaseUntilMs + staleMs;
    const destinations = await this.verifiedDestinations(record, file);
    if (destinations === undefined) return;
    const claims = await this.takeOver(file, tx);
    if (claims === undefined) return;
    // A dead writer's temps in a destination are only reachable through this record: remove them first.
    for (const d of destinations) if (!this.cleaned.has(d.location)) await this.removeDeadTempsIn(d);
    let outcome;
    try {
      outcome = await this.run(
        recoverAttempt(this.spool, record, destinations, fromRetiring, this.maxAttempts, keepRecord),
      );
    } catch (err) {
      if (err instanceof MachineStopped) throw err;
      // A sync or a read that failed: nothing is decided; the claim stays until it expires, the record for later.
      this.failed.push(toFanoutError(err, 'EIO', { spool: this.spool.location, file }));
      return;
    }
    this.rolledBack += outcome.rolledBack;
    this.rolledForward += outcome.rolledForward;
    for (const p of outcome.problems) this.reportFailed(p, file);
    for (const m of outcome.messages) this.emit({ type: 'recovered', id: m.id, tx, action: m.action });
    if (outcome.retired) await this.run(releaseClaims(this.spool, claims));
    else if (outcome.awaitingOwner) {
      // Released at once: the next recovery pass looks through the record again for what the owner made meanwhile.
      await this.run(releaseClaims(this.spool, claims));
      this.awaitingOwner++;
      this.emit({ type: 'marker-awaiting-owner', id: tx, spool: this.spool.location, owner: describeOwner(record) });
    } else if (outcome.problems.length === 0) this.reportInFlight(tx, describeOwner(record));
  }
}
