import type { SpoolBackend } from '../backend/spool-backend.js';
import { FanoutError, isFanoutError } from '../errors/fanout-error.js';
import { decodeMarker, MAX_MARKER_BYTES } from '../marker/marker-codec.js';
import { names, parseProtocolName } from '../names/protocol-names.js';
import { type ExecutorHooks, runMachine, unwrapStopped } from '../protocol/executor.js';
import { readSmall } from '../spool/read-small.js';
import { deleteBegin, deleteFinish, deleteUndo, holdMachine, releaseMachine } from './queue-machines.js';

/** Options shared by the queue commands. */
export interface QueueCommandOptions {
  /** For checkers: stand between the command's steps and the backend. @internal */
  readonly hooks?: ExecutorHooks;
  /** @internal The crash checker's `--drop-order`: a release renames before it removes the count. */
  readonly dropOrder?: boolean;
}

/** What a queue command did to one message. */
export interface QueueCommandResult {
  readonly id: string;
  /** `held`, `already-held`, `released` or `deleted`. */
  readonly outcome: 'held' | 'already-held' | 'released' | 'deleted';
  /** The message's name afterwards (`h<id>.s`, `s<id>`, …); none after a delete. */
  readonly name?: string;
}

function checkId(spool: SpoolBackend, id: string): void {
  if (parseProtocolName(names.source(id)).kind !== 'source')
    throw new FanoutError('EUSAGE', `${JSON.stringify(id)} is not a message id`, { spool: spool.location });
}

/**
 * Why message `id` has no waiting or held name: `EINFLIGHT` when an attempt
 * or a consumer holds it (`p`/`k`/`b`, a staged `w`, a claim `c`), naming
 * that file; `ENOENT` when the spool has no such message. Streams the
 * listing (only on this error path).
 */
export async function whyAbsent(spool: SpoolBackend, id: string): Promise<FanoutError> {
  for await (const entry of spool.list()) {
    const parsed = parseProtocolName(entry.name);
    if (!('id' in parsed) || parsed.id !== id) continue;
    if (
      parsed.kind === 'taken' ||
      parsed.kind === 'committed' ||
      parsed.kind === 'backout' ||
      parsed.kind === 'claimed' ||
      parsed.kind === 'staged'
    ) {
      const by = parsed.kind === 'claimed' ? 'a consumer' : 'an attempt';
      return new FanoutError(
        'EINFLIGHT',
        `is in flight (${by} holds it as ${entry.name}); nothing changed, try again later`,
        { spool: spool.location, file: names.source(id) },
      );
    }
    if (parsed.kind === 'deleting')
      return new FanoutError(
        'ENOENT',
        `is being deleted (${entry.name}); run \`fanout delete\` on it again to finish`,
        { spool: spool.location, file: entry.name },
      );
  }
  return new FanoutError('ENOENT', 'no such message', { spool: spool.location, file: names.source(id) });
}

/**
 * Hold message `id` of `spool` (`postsuper -h`): no worker or consumer takes
 * it until it is released. Safe beside running workers, recoverers and
 * consumers: one atomic rename, durable when it resolves.
 *
 * @example
 * ```ts
 * await holdMessage(source, '01J9Z3K6Y8M2Q4R5S6T7V8W9X0');
 * ```
 * @throws `EINFLIGHT` when a worker or consumer holds the message right now
 *   (nothing changed); `ENOENT` when there is no such message; `EUSAGE` for
 *   a malformed id.
 */
export async function holdMessage(
  spool: SpoolBackend,
  id: string,
  options: QueueCommandOptions = {},
): Promise<QueueCommandResult> {
  checkId(spool, id);
  const r = await unwrapStopped(() => runMachine(holdMachine(spool, id), options.hooks));
  if (r.outcome === 'absent') throw await whyAbsent(spool, id);
  return { id, outcome: r.outcome, name: r.name };
}

/**
 * Release held message `id` (`postsuper -H`): its attempt count is reset and
 * it waits again as `s<id>` (or `d<id>` in a destination), durably.
 *
 * @example
 * ```ts
 * await releaseMessage(source, id); // workers take it at their next pass
 * ```
 * @throws `EUSAGE` when the message exists but is not held; `EINFLIGHT`,
 *   `ENOENT` as {@link holdMessage}.
 */
export async function releaseMessage(
  spool: SpoolBackend,
  id: string,
  options: QueueCommandOptions = {},
): Promise<QueueCommandResult> {
  checkId(spool, id);
  const r = await unwrapStopped(() => runMachine(releaseMachine(spool, id, options.dropOrder === true), options.hooks));
  if (r.outcome === 'released') return { id, outcome: 'released', name: r.name };
  for (const name of [names.source(id), names.delivered(id)]) {
    if ((await spool.stat(name)) !== undefined)
      throw new FanoutError('EUSAGE', 'is not held; nothing to release', { spool: spool.location, file: name });
  }
  throw await whyAbsent(spool, id);
}

/**
 * The ids that attempt records (`m<TX>`, `x<TX>`) in `spool` list, of those
 * in `ids`; a record that cannot be read may list any of them, so it stands
 * for all. Streams the listing; reads records only.
 */
async function namedByRecords(spool: SpoolBackend, ids: ReadonlySet<string>): Promise<Map<string, string>> {
  const named = new Map<string, string>();
  for await (const entry of spool.list()) {
    const parsed = parseProtocolName(entry.name);
    if (parsed.kind !== 'record' && parsed.kind !== 'retiring') continue;
    let listed: readonly string[];
    try {
      listed = decodeMarker(await readSmall(spool, entry.name, MAX_MARKER_BYTES), { tx: parsed.tx }).ids;
    } catch (err) {
      if (isFanoutError(err, 'ENOENT')) continue;
      listed = [...ids];
    }
    for (const id of listed) if (ids.has(id) && !named.has(id)) named.set(id, entry.name);
  }
  return named;
}

/**
 * Delete messages of `spool` (`postsuper -d`), waiting or held, durably:
 * each is renamed to `z<id>` (a worker that took it first wins: `EINFLIGHT`),
 * its attempt count removed, then `z<id>` removed and the spool synced.
 * A message that an attempt record still lists (a crashed run that recovery
 * has not finished, or a record quarantined as corrupt) gets its name back
 * and is refused with `EINFLIGHT`: recovery must settle that attempt first,
 * so that no leftover copy of it can ever be published for a deleted message.
 *
 * Resolves with one result per id, in order; each failure is an error in its
 * place (the others are still deleted).
 *
 * @example
 * ```ts
 * for (const r of await deleteMessages(source, [id1, id2])) {
 *   if (r instanceof FanoutError) console.error(r.oneLine());
 * }
 * ```
 */
export async function deleteMessages(
  spool: SpoolBackend,
  ids: readonly string[],
  options: QueueCommandOptions = {},
): Promise<(QueueCommandResult | FanoutError)[]> {
  return unwrapStopped(async () => {
    const started: (string | undefined | FanoutError)[] = [];
    for (const id of ids) {
      try {
        checkId(spool, id);
        const r = await runMachine(deleteBegin(spool, id), options.hooks);
        started.push(r.outcome === 'absent' ? await whyAbsent(spool, id) : r.from);
      } catch (err) {
        if (!(err instanceof FanoutError)) throw err;
        started.push(err);
      }
    }
    // After the renames: a record made later cannot take a message that is z<id> now.
    const marked = new Set(ids.filter((_, k) => !(started[k] instanceof FanoutError)));
    const named = marked.size > 0 ? await namedByRecords(spool, marked) : new Map<string, string>();
    const out: (QueueCommandResult | FanoutError)[] = [];
    for (const [k, id] of ids.entries()) {
      const s = started[k];
      if (s instanceof FanoutError) {
        out.push(s);
        continue;
      }
      const record = named.get(id);
      if (record !== undefined) {
        if (s !== undefined) await runMachine(deleteUndo(spool, id, s), options.hooks);
        out.push(
          new FanoutError(
            'EINFLIGHT',
            `attempt record ${record} lists it; run \`fanout recover\` ` +
              `(or clear a quarantined record) first; nothing deleted`,
            { spool: spool.location, file: s ?? names.deleting(id) },
          ),
        );
        continue;
      }
      await runMachine(deleteFinish(spool, id), options.hooks);
      out.push({ id, outcome: 'deleted' });
    }
    return out;
  });
}

/**
 * Delete one message; see {@link deleteMessages}.
 * @throws `EINFLIGHT`, `ENOENT`, `EUSAGE` as {@link holdMessage}.
 *
 * @example
 * ```ts
 * import { deleteMessage, isFanoutError } from '@fanout/core';
 *
 * try {
 *   await deleteMessage(outbox, id); // s<id> or h<id>.s -> z<id>, removed, synced
 * } catch (err) {
 *   if (!isFanoutError(err, 'EINFLIGHT', 'ENOENT')) throw err;
 * }
 * ```
 */
export async function deleteMessage(
  spool: SpoolBackend,
  id: string,
  options: QueueCommandOptions = {},
): Promise<QueueCommandResult> {
  const [r] = await deleteMessages(spool, [id], options);
  if (r instanceof FanoutError) throw r;
  return r!;
}
