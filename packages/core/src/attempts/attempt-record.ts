import { createHash } from 'node:crypto';
import type { SpoolBackend } from '../backend/spool-backend.js';
import { type FanoutError, isFanoutError } from '../errors/fanout-error.js';
import { type AttemptSlot, isValidId, names } from '../names/protocol-names.js';
import { type Machine, settle, type StepName } from '../protocol/ops.js';

/**
 * A message's failed attempts (docs/PROTOCOL.md, "Poison messages"): how many
 * attempts failed because of the message itself (a transform that threw or
 * gave no stream, a consumer's command that failed) and the last such error.
 * An outage of a destination is not counted.
 *
 * It lives in two slots, `a<ID>.0` and `a<ID>.1`; the one with the higher
 * count is current. An update writes the *other* slot (whole, under a temp
 * name, then renamed in), so the current count is never removed before the
 * new one exists: a crash can lose an increment (one more attempt), never an
 * earlier count.
 */
export interface AttemptRecord {
  readonly id: string;
  /** Failed attempts so far (at least 1). */
  readonly count: number;
  /** The last failure: its code and message. */
  readonly lastError: { readonly code: string; readonly message: string };
  /** When it was counted, ms since the epoch. */
  readonly atMs: number;
}

/**
 * Attempts after which a message is held, unless told otherwise (`--max-attempts`).
 *
 * @example
 * ```ts
 * import { DEFAULT_MAX_ATTEMPTS, fanOut } from '@fanout/core';
 *
 * await fanOut({ source, destinations, maxAttempts: DEFAULT_MAX_ATTEMPTS * 2 }); // hold poison messages later
 * ```
 */
export const DEFAULT_MAX_ATTEMPTS = 5;

/** Attempt records larger than this are not ours. */
const MAX_ATTEMPT_RECORD_BYTES = 8192;
const MAGIC = 'fanout-attempts';
const utf8 = new TextEncoder();

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** The record as a JSON line and a checksum line, so a torn or edited slot is ignored rather than trusted. */
export function encodeAttemptRecord(r: AttemptRecord): string {
  const record = { fanout: MAGIC, version: 1, id: r.id, count: r.count, lastError: r.lastError, atMs: r.atMs };
  const body = `${JSON.stringify(record)}\n`;
  return `${body}sha256: ${sha256(body)}\n`;
}

/**
 * Parse a slot's content; `undefined` when it is not a whole record of message `id` (a torn or foreign file counts as
 * no record).
 */
export function decodeAttemptRecord(text: string, id: string): AttemptRecord | undefined {
  const cut = text.lastIndexOf('sha256: ');
  if (cut < 0) return undefined;
  const body = text.slice(0, cut);
  if (text.slice(cut + 8).trim() !== sha256(body)) return undefined;
  try {
    const o = JSON.parse(body) as {
      fanout?: unknown;
      id?: unknown;
      count?: unknown;
      lastError?: { code?: unknown; message?: unknown };
      atMs?: unknown;
    };
    if (o.fanout !== MAGIC || o.id !== id || typeof o.id !== 'string' || !isValidId(o.id)) return undefined;
    if (typeof o.count !== 'number' || !Number.isSafeInteger(o.count) || o.count < 1 || typeof o.atMs !== 'number')
      return undefined;
    const code = o.lastError?.code;
    const message = o.lastError?.message;
    if (typeof code !== 'string' || typeof message !== 'string') return undefined;
    return { id, count: o.count, lastError: { code, message }, atMs: o.atMs };
  } catch {
    return undefined;
  }
}

/** The current record of `id` and the slot it is in, from the content of both slots. */
export function currentOf(
  id: string,
  contents: readonly (string | undefined)[],
): { record: AttemptRecord | undefined; slot: AttemptSlot | undefined } {
  let record: AttemptRecord | undefined;
  let slot: AttemptSlot | undefined;
  contents.forEach((text, k) => {
    const r = text === undefined ? undefined : decodeAttemptRecord(text, id);
    if (r && (record === undefined || r.count > record.count)) {
      record = r;
      slot = k as AttemptSlot;
    }
  });
  return { record, slot };
}

const SLOTS: readonly AttemptSlot[] = [0, 1];

/**
 * Read both slots of `id` (reads only). A slot that is missing, torn, not a
 * regular file or not ours counts as no record: at worst one more attempt.
 */
export function* readAttempts(
  step: StepName,
  spool: SpoolBackend,
  id: string,
): Machine<{ record: AttemptRecord | undefined; slot: AttemptSlot | undefined }> {
  const results = yield* settle(
    step,
    SLOTS.map(
      (slot) =>
        ({
          type: 'readSmall',
          step,
          spool,
          name: names.attempts(id, slot),
          maxBytes: MAX_ATTEMPT_RECORD_BYTES,
        }) as const,
    ),
  );
  return currentOf(
    id,
    results.map((r) => (r.ok ? r.value : undefined)),
  );
}

/**
 * Count one failed attempt of `id` in `spool` with `error` as its last
 * error: write the record with the next count into the slot that is *not*
 * current (a temp written and synced, the old content of that slot removed,
 * the temp renamed in). Not synced here: the caller's next name change in
 * the same spool (the give-back or the hold) follows it in order.
 * @returns the new count.
 * @throws what the storage throws; the temp is removed first.
 */
export function* countAttempt(
  step: StepName,
  spool: SpoolBackend,
  id: string,
  error: FanoutError | { code: string; message: string },
  nowMs: number,
  temp: string,
): Machine<number> {
  const { record, slot } = yield* readAttempts(step, spool, id);
  const count = (record?.count ?? 0) + 1;
  const target: AttemptSlot = slot === 0 ? 1 : 0;
  const content = utf8.encode(
    encodeAttemptRecord({
      id,
      count,
      lastError: { code: error.code, message: error.message.slice(0, 2000) },
      atMs: nowMs,
    }),
  );
  yield { type: 'create', step, spool, name: temp, content: () => content };
  try {
    // The slot being replaced is the older one (or a torn one): the current count stays in the other slot.
    yield { type: 'remove', step, spool, name: names.attempts(id, target) };
    yield { type: 'rename', step, spool, from: temp, to: names.attempts(id, target) };
  } catch (err) {
    try {
      yield { type: 'remove', step, spool, name: temp };
    } catch {
      // left to recovery's dead-temp sweep
    }
    throw err;
  }
  return count;
}

/**
 * Remove both slots of `id` (a release, a delete, a delivery). Not synced
 * here. A slot that is not a regular file is left (and reported by `list`).
 * @returns whether something was removed.
 */
export function* clearAttempts(step: StepName, spool: SpoolBackend, id: string): Machine<boolean> {
  const results = yield* settle(
    step,
    SLOTS.map((slot) => ({ type: 'remove', step, spool, name: names.attempts(id, slot) }) as const),
  );
  for (const r of results) if (!r.ok && !isFanoutError(r.error, 'EBADENTRY', 'ENOENT')) throw r.error;
  return results.some((r) => r.ok && r.value === true);
}
