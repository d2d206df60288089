import type { SpoolBackend } from '../backend/spool-backend.js';
import { type AttemptRecord, currentOf } from '../attempts/attempt-record.js';
import { FanoutError, isFanoutError } from '../errors/fanout-error.js';
import { names, type ParsedName, parseProtocolName } from '../names/protocol-names.js';
import { readSmall } from '../spool/read-small.js';

/**
 * A message's state as the queue commands show it:
 * - `waiting`: `s<id>` in a source (or `d<id>` in a destination), never failed;
 * - `failed`: waiting, with failed attempts counted (it will be tried again);
 * - `held`: `h<id>.s` / `h<id>.d`, taken by nobody until released;
 * - `in-flight`: taken by an attempt (`p`, `k`, `b`), claimed by a consumer
 *   (`c`), or being deleted (`z`).
 */
export type MessageState = 'waiting' | 'held' | 'in-flight' | 'failed';

/** One message of a spool, as {@link listMessages} and {@link showMessage} describe it. */
export interface MessageInfo {
  readonly id: string;
  readonly state: MessageState;
  /** Its file name now (`s<id>`, `h<id>.s`, `p<id>.<tx>`, …). */
  readonly name: string;
  readonly size: number;
  /** Last modification of the file: when it was enqueued (renames keep it). */
  readonly mtimeMs: number;
  readonly ageMs: number;
  /** Failed attempts counted so far (0: none). */
  readonly attempts: number;
  /** The last counted failure. */
  readonly lastError?: { readonly code: string; readonly message: string; readonly atMs: number };
  /** The attempt that holds it, for `p`/`k`/`b` names. */
  readonly tx?: string;
}

/** Options of {@link listMessages}. */
export interface ListOptions {
  /** Only messages in this state. */
  readonly state?: MessageState;
  readonly now?: () => number;
}

const MESSAGE_KINDS: ReadonlySet<ParsedName['kind']> = new Set([
  'source',
  'delivered',
  'held',
  'taken',
  'committed',
  'backout',
  'claimed',
  'deleting',
]);

/** The attempt record of `id` (reads both slots; a missing, torn or odd slot is no record). */
export async function readAttemptRecord(spool: SpoolBackend, id: string): Promise<AttemptRecord | undefined> {
  const contents = await Promise.all(
    ([0, 1] as const).map((slot) =>
      readSmall(spool, names.attempts(id, slot), 8192).catch((err: unknown) => {
        if (isFanoutError(err, 'ENOENT', 'EBADENTRY', 'ECORRUPT')) return undefined;
        throw err;
      }),
    ),
  );
  return currentOf(id, contents).record;
}

function stateOf(kind: ParsedName['kind'], attempts: number): MessageState {
  if (kind === 'source' || kind === 'delivered') return attempts > 0 ? 'failed' : 'waiting';
  return kind === 'held' ? 'held' : 'in-flight';
}

async function describe(
  spool: SpoolBackend,
  name: string,
  parsed: ParsedName & { id: string },
  now: number,
): Promise<MessageInfo | undefined> {
  const st = await spool.stat(name);
  if (st === undefined || st.kind !== 'file') return undefined;
  const record = await readAttemptRecord(spool, parsed.id);
  const attempts = record?.count ?? 0;
  return {
    id: parsed.id,
    state: stateOf(parsed.kind, attempts),
    name,
    size: st.size,
    mtimeMs: st.mtimeMs,
    ageMs: Math.max(0, now - st.mtimeMs),
    attempts,
    ...(record ? { lastError: { ...record.lastError, atMs: record.atMs } } : {}),
    ...('tx' in parsed ? { tx: parsed.tx } : {}),
  };
}

/**
 * Every message of `spool` (waiting, failed, held, in flight), streamed from
 * the listing: one at a time, never the whole listing in memory (`mailq`,
 * `postqueue -j`). Each costs a `stat` and a look at its attempt count.
 * Messages that change name while the listing runs may be missed or seen
 * twice, as with `readdir`.
 *
 * @example
 * ```ts
 * for await (const m of listMessages(source, { state: 'held' })) {
 *   console.log(m.id, m.attempts, m.lastError?.message);
 * }
 * ```
 */
export async function* listMessages(spool: SpoolBackend, options: ListOptions = {}): AsyncGenerator<MessageInfo> {
  const now = options.now ?? Date.now;
  for await (const entry of spool.list()) {
    if (entry.kind !== 'file') continue;
    const parsed = parseProtocolName(entry.name);
    if (!MESSAGE_KINDS.has(parsed.kind) || !('id' in parsed)) continue;
    const info = await describe(spool, entry.name, parsed, now());
    if (info && (options.state === undefined || info.state === options.state)) yield info;
  }
}

/**
 * Everything known about message `id` (`postcat -q`): its name, state,
 * size, age, attempt count and last error. Looks at its waiting and held
 * names first; only for a message in flight does it stream the listing.
 *
 * @example
 * ```ts
 * const m = await showMessage(source, id);
 * if (m.state === 'held') for await (const chunk of spool.read(m.name)) process.stdout.write(chunk);
 * ```
 * @throws `ENOENT` when there is no such message; `EUSAGE` for a malformed id.
 */
export async function showMessage(
  spool: SpoolBackend,
  id: string,
  options: { now?: () => number } = {},
): Promise<MessageInfo> {
  if (parseProtocolName(names.source(id)).kind !== 'source')
    throw new FanoutError('EUSAGE', `${JSON.stringify(id)} is not a message id`, { spool: spool.location });
  const now = (options.now ?? Date.now)();
  for (const name of [
    names.source(id),
    names.held(id, 's'),
    names.delivered(id),
    names.held(id, 'd'),
    names.deleting(id),
  ]) {
    const parsed = parseProtocolName(name) as ParsedName & { id: string };
    const info = await describe(spool, name, parsed, now);
    if (info) return info;
  }
  for await (const entry of spool.list()) {
    const parsed = parseProtocolName(entry.name);
    if (entry.kind !== 'file' || !MESSAGE_KINDS.has(parsed.kind) || !('id' in parsed) || parsed.id !== id) continue;
    const info = await describe(spool, entry.name, parsed, now);
    if (info) return info;
  }
  throw new FanoutError('ENOENT', 'no such message', { spool: spool.location, file: names.source(id) });
}
