import type { SpoolBackend } from '../backend/spool-backend.js';
import { DEFAULT_MAX_ATTEMPTS } from '../attempts/attempt-record.js';
import { FanoutError, isFanoutError } from '../errors/fanout-error.js';
import { names, parseProtocolName } from '../names/protocol-names.js';
import { type ExecutorHooks, runMachine, unwrapStopped } from '../protocol/executor.js';
import { type Machine, perform } from '../protocol/ops.js';
import { giveBackName } from '../recovery/recovery-machine.js';
import { readSpoolIdentity } from '../spool/identity.js';

/** What {@link discardRecord} did. */
export interface DiscardOutcome {
  /** The record's file name (`m<TX>` or `x<TX>`). */
  readonly record: string;
  readonly tx: string;
  /** Messages of the attempt given back to waiting (`s<id>`, or `h<id>.s` if their count reached the limit). */
  readonly givenBack: readonly string[];
  /** Claims `r<TX>.<g>` removed with the record. */
  readonly claimsRemoved: number;
}

/** Options of {@link discardRecord}. */
export interface DiscardOptions {
  /** A message whose attempt count reached this is given back held. Default 5. */
  readonly maxAttempts?: number;
  /** For checkers: stand between the machines and the backend. @internal */
  readonly hooks?: ExecutorHooks;
}

/**
 * The way out of a quarantined attempt record (`fanout recover
 * --discard-record`): a record that does not parse, fails its checksum, or
 * names a spool that is not what it says, which recovery refuses to act on.
 *
 * What it does to the messages the attempt holds, found by their names
 * (`p<id>.<TX>`, `b<id>.<TX>`, `k<id>.<TX>`), since the record itself cannot
 * be trusted to list them:
 * - taken (`p`): the fence (`p` → `b`, as a recoverer's takeover: an owner
 *   still running loses its commit), then back to waiting (`b` → `s<id>`);
 * - backing out (`b`): back to waiting;
 * - committed (`k`): **refused**, nothing changed: its copies may be
 *   unpublished in destinations only the record knew, so giving it back
 *   would deliver it twice and forgetting it could lose it.
 * Then the record and the attempt's claims are removed and the spool
 * synced. Staged copies `w<id>.<TX>` the attempt left in its destinations
 * are invisible to consumers; they stay (the record that named their spools
 * is gone) and `fanout status` of those spools shows them.
 *
 * @example
 * ```ts
 * const r = await discardRecord(source, 'm01J9Z3K6Y8M2Q4R5S6T7V8W9X0');
 * console.log(`${r.givenBack.length} messages waiting again`);
 * ```
 * @throws `EUSAGE` when `file` is not a record name; `ENOENT` when it does
 *   not exist; `EBADENTRY` when it is not a regular file (remove it by
 *   hand); `ECORRUPT` (refused) when the attempt committed messages.
 */
export async function discardRecord(
  spool: SpoolBackend,
  file: string,
  options: DiscardOptions = {},
): Promise<DiscardOutcome> {
  const parsed = parseProtocolName(file);
  if (parsed.kind !== 'record' && parsed.kind !== 'retiring')
    throw new FanoutError('EUSAGE', 'is not an attempt record name (m<TX> or x<TX>)', { spool: spool.location, file });
  await readSpoolIdentity(spool);
  const st = await spool.stat(file);
  if (st === undefined) throw new FanoutError('ENOENT', 'no such record', { spool: spool.location, file });
  if (st.kind !== 'file')
    throw new FanoutError(
      'EBADENTRY',
      `is a ${st.kind}, not a regular file: not written by fanout; remove it by hand`,
      { spool: spool.location, file },
    );
  const { tx } = parsed;
  const taken: string[] = [];
  const backout: string[] = [];
  const committed: string[] = [];
  const claims: string[] = [];
  for await (const entry of spool.list()) {
    const p = parseProtocolName(entry.name);
    if (!('tx' in p) || p.tx !== tx || entry.kind !== 'file') continue;
    if (p.kind === 'taken') taken.push(p.id);
    else if (p.kind === 'backout') backout.push(p.id);
    else if (p.kind === 'committed') committed.push(p.id);
    else if (p.kind === 'claim') claims.push(entry.name);
  }
  if (committed.length > 0) throw refusedCommitted(spool, file, tx, committed);
  return unwrapStopped(() =>
    runMachine(
      discardMachine(spool, file, tx, taken, backout, claims, options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS),
      options.hooks,
    ),
  );
}

function refusedCommitted(spool: SpoolBackend, file: string, tx: string, ids: readonly string[]): FanoutError {
  return new FanoutError(
    'ECORRUPT',
    `attempt ${tx} committed ${ids.map((id) => names.committed(id, tx)).join(' ')}: ` +
      `its copies may be unpublished in destinations only the record knew; nothing changed. ` +
      `Publish each w<id>.${tx} as d<id> in its destinations (or restore the record), then run \`fanout recover\``,
    { spool: spool.location, file },
  );
}

/** The steps of {@link discardRecord}, as a machine. */
export function* discardMachine(
  spool: SpoolBackend,
  file: string,
  tx: string,
  taken: readonly string[],
  backout: readonly string[],
  claims: readonly string[],
  maxAttempts: number,
): Machine<DiscardOutcome> {
  const back = [...backout];
  for (const id of taken) {
    try {
      // The fence, as a takeover: an owner still running loses its commit (p -> k) to this rename.
      yield* perform({ type: 'rename', step: 'Q', spool, from: names.taken(id, tx), to: names.backout(id, tx) });
      back.push(id);
    } catch (err) {
      if (!isFanoutError(err, 'ENOENT')) throw err;
      // The owner won: committed, or backed out itself. A commit must not be forgotten with the record.
      if ((yield* perform({ type: 'stat', step: 'Q', spool, name: names.committed(id, tx) })) !== undefined)
        throw refusedCommitted(spool, file, tx, [id]);
    }
  }
  const givenBack: string[] = [];
  for (const id of back) {
    const to = yield* giveBackName(spool, id, maxAttempts);
    try {
      yield* perform({ type: 'rename', step: 'Q', spool, from: names.backout(id, tx), to });
      givenBack.push(to);
    } catch (err) {
      if (!isFanoutError(err, 'ENOENT')) throw err;
    }
  }
  // No sync needed before the record goes: a p or b left without a record is an orphan, which recovery gives back.
  yield* perform({ type: 'remove', step: 'Q', spool, name: file });
  for (const c of claims) yield* perform({ type: 'remove', step: 'Q', spool, name: c });
  // Q: durable before it is reported (else the quarantined record may come back: harmless, discard it again).
  yield* perform({ type: 'syncDir', step: 'Q', spool });
  return { record: file, tx, givenBack, claimsRemoved: claims.length };
}
