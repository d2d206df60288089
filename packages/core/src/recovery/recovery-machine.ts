import type { SpoolBackend } from '../backend/spool-backend.js';
import { FanoutError, isFanoutError } from '../errors/fanout-error.js';
import type { MarkerRecord } from '../marker/marker-codec.js';
import { names } from '../names/protocol-names.js';
import type { Machine, Op, Settled } from '../protocol/ops.js';

/** What recovering one marker did. */
export type MarkerRecoveryOutcome =
  | { readonly action: 'rolled-back' | 'rolled-forward' }
  /** The marker names a state recovery must not guess about; it was left in place. */
  | { readonly action: 'refused'; readonly error: FanoutError };

function* settle(step: 'R2' | 'R3', ops: Op[]): Machine<Settled[]> {
  if (ops.length === 0) return [];
  return (yield { type: 'all', step, ops }) as Settled[];
}

function* syncAll(step: 'R2' | 'R3', spools: SpoolBackend[]): Machine<void> {
  const results = yield* settle(step, [...new Set(spools)].map((spool) => ({ type: 'syncDir', step, spool }) as const));
  for (const r of results) if (!r.ok) throw r.error;
}

function* removeAll(step: 'R2' | 'R3', ops: { spool: SpoolBackend; name: string }[]): Machine<void> {
  const results = yield* settle(step, ops.map(({ spool, name }) => ({ type: 'remove', step, spool, name }) as const));
  for (const r of results) if (!r.ok) throw r.error;
}

/**
 * Recover one verified marker `m<id>` (R2/R3 of the post, made idempotent):
 *
 * - `s<id>` present → the commit never happened: roll back, i.e. delete this
 *   attempt's copies (`w<id>.<tx>`; seed: `d<id>` and `l<id>`) in every
 *   destination, sync them, delete the marker (R2.1.2).
 * - `s<id>` absent → committed: roll forward, i.e. publish each remaining
 *   `w<id>.<tx>` as `d<id>` (a missing `w` was already published, and its
 *   `d<id>` may already be consumed; seed:
 *   remove the locks), sync, delete the marker (R3).
 *
 * Every step may be repeated after a crash with the same result.
 * `destinations` are the marker's destinations, already opened and verified.
 */
export function* recoverMarker(source: SpoolBackend, marker: MarkerRecord, destinations: SpoolBackend[]): Machine<MarkerRecoveryOutcome> {
  const markerFile = names.marker(marker.id);
  const { id, tx } = marker;
  const s = (yield { type: 'stat', step: 'R2', spool: source, name: names.source(id) }) as { kind: string } | undefined;
  if (s !== undefined) {
    const copy = marker.protocol === 'staged' ? names.staged(id, tx) : names.delivered(id);
    yield* removeAll('R2', destinations.map((spool) => ({ spool, name: copy })));
    // Seed: each copy goes before its lock; the other order shows a consumer an unlocked, uncommitted d<id>.
    if (marker.protocol === 'seed') yield* removeAll('R2', destinations.map((spool) => ({ spool, name: names.lock(id) })));
    // R2: the copies' removal is durable before the marker's, so a crash in between repeats the rollback rather than orphaning copies.
    yield* syncAll('R2', destinations);
    yield* removeAll('R2', [{ spool: source, name: markerFile }]);
    return { action: 'rolled-back' };
  }

  if (marker.protocol === 'staged') {
    for (const spool of destinations) {
      const from = names.staged(id, tx);
      const to = names.delivered(id);
      try {
        yield { type: 'publish', step: 'R3', spool, from, to };
      } catch (err) {
        // No staged copy: it was published before the crash (and a consumer may have taken d<id> since).
        if (isFanoutError(err, 'ENOENT')) continue;
        if (isFanoutError(err, 'EEXIST')) {
          return { action: 'refused', error: new FanoutError('EEXIST', `cannot publish ${from}: ${to} exists and is another file`, { spool: spool.location, file: to, cause: err }) };
        }
        throw err;
      }
    }
    // R3: the publishes are durable before the marker goes; else a crash leaves w-files no marker leads to.
    yield* syncAll('R3', destinations);
  } else {
    yield* removeAll('R3', destinations.map((spool) => ({ spool, name: names.lock(id) })));
    // R3: unlocks durable before the marker goes; else a lock would outlive every recovery.
    yield* syncAll('R3', destinations);
  }
  yield* removeAll('R3', [{ spool: source, name: markerFile }]);
  return { action: 'rolled-forward' };
}

/**
 * R1 (takeover): claim attempt `marker.tx` for this recoverer by creating the
 * claim file `r<id>.<tx>_<generation>` exclusively. Of several recoverers
 * exactly one creates it; the others get `EEXIST` and leave the marker alone.
 * The marker itself stays in place, so no new attempt can start on the
 * message until the recovery removes it.
 * @returns true if this recoverer now holds the claim.
 */
export function* claimMarker(source: SpoolBackend, claim: string, content: Uint8Array, temp: string): Machine<boolean> {
  // Written whole under a temp name first, then published without clobbering: a reader never sees a
  // claim without its holder (an empty claim would look like a dead recoverer's and invite a second one).
  yield { type: 'create', step: 'R1', spool: source, name: temp, content: () => content };
  try {
    yield { type: 'publish', step: 'R1', spool: source, from: temp, to: claim };
    return true;
  } catch (err) {
    yield { type: 'remove', step: 'R1', spool: source, name: temp };
    if (isFanoutError(err, 'EEXIST')) return false;
    throw err;
  }
}

/** After the marker is gone: remove the takeover claims of this attempt (generations 1..upTo). */
export function* releaseClaims(source: SpoolBackend, claims: string[]): Machine<void> {
  if (claims.length === 0) return;
  yield { type: 'all', step: 'R3', ops: claims.map((name) => ({ type: 'remove', step: 'R3', spool: source, name }) as const) };
}
