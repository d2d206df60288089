/**
 * The assertions and small byte helpers the conformance checks share. They use
 * `node:assert/strict` so the checks run under any test runner, or none.
 */
import assert from 'node:assert/strict';
import type { SpoolBackend, SpoolEntry } from '../backend/spool-backend.js';
import type { FanoutErrorCode } from '../errors/fanout-error.js';

/** The shape of a FanoutError, checked structurally so two copies of `@fanout/core` still agree. */
interface FanoutErrorLike extends Error {
  code: FanoutErrorCode;
  spool: string | undefined;
  file: string | undefined;
}

function isFanoutErrorLike(err: unknown): err is FanoutErrorLike {
  return err instanceof Error && err.name === 'FanoutError' && typeof (err as { code?: unknown }).code === 'string';
}

/** What a rejection must carry besides its code. */
export interface ExpectedErrorContext {
  /** The backend whose `location` the error's `spool` must equal. */
  readonly backend: SpoolBackend;
  /** The file name the error must name; omit when more than one name is concerned (publish). */
  readonly file?: string;
}

/**
 * Run `action` and insist it rejects with a FanoutError of one of `codes`,
 * naming the backend's location (and `file`, when given).
 * @param what a description of the action for the failure message.
 */
export async function expectFanoutError(
  what: string,
  action: () => unknown,
  codes: FanoutErrorCode | readonly FanoutErrorCode[],
  context: ExpectedErrorContext,
): Promise<FanoutErrorLike> {
  const allowed = typeof codes === 'string' ? [codes] : codes;
  let outcome: unknown;
  try {
    outcome = await action();
  } catch (err) {
    assert.ok(
      isFanoutErrorLike(err),
      `${what}: expected a FanoutError (${allowed.join('|')}), got ${describeError(err)}`,
    );
    assert.ok(allowed.includes(err.code), `${what}: expected ${allowed.join('|')}, got ${err.code}: ${err.message}`);
    assert.equal(err.spool, context.backend.location, `${what}: the error's spool must be the backend's location`);
    if (context.file !== undefined) assert.equal(err.file, context.file, `${what}: the error must name the file`);
    return err;
  }
  assert.fail(`${what}: expected ${allowed.join('|')}, but it succeeded (${describeValue(outcome)})`);
}

function describeError(err: unknown): string {
  if (err instanceof Error) return `${err.name}${'code' in err ? ` ${String(err.code)}` : ''}: ${err.message}`;
  return String(err);
}

function describeValue(value: unknown): string {
  if (value === undefined) return 'resolved';
  try {
    return `resolved ${JSON.stringify(value)}`;
  } catch {
    return `resolved ${String(value)}`;
  }
}

/** Read a whole (small) file into one buffer. */
export async function readAll(backend: SpoolBackend, name: string): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of backend.read(name)) {
    assert.ok(chunk instanceof Uint8Array, `read(${JSON.stringify(name)}) must yield Uint8Arrays`);
    chunks.push(chunk);
    total += chunk.byteLength;
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  return out;
}

/** Consume `read(name)` entirely, for checks that expect it to fail. */
export async function drain(iterable: AsyncIterable<Uint8Array>): Promise<void> {
  for await (const _chunk of iterable) {
    // only the failure matters
  }
}

/** The whole listing, in name order. */
export async function listAll(backend: SpoolBackend): Promise<SpoolEntry[]> {
  const entries: SpoolEntry[] = [];
  for await (const entry of backend.list()) entries.push({ name: entry.name, kind: entry.kind });
  return entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** The listing's names, in name order. */
export async function listNames(backend: SpoolBackend): Promise<string[]> {
  return (await listAll(backend)).map((e) => e.name);
}

/** Assert the file `name` holds exactly `expected`. */
export async function assertContent(
  backend: SpoolBackend,
  name: string,
  expected: Uint8Array,
  why = '',
): Promise<void> {
  const actual = await readAll(backend, name);
  assert.equal(actual.byteLength, expected.byteLength, `${name}: size ${why}`);
  assert.ok(bytesEqual(actual, expected), `${name}: content differs ${why}`);
}

/** Byte-wise equality. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

const encoder = new TextEncoder();

/** UTF-8 bytes of `text`, as a plain Uint8Array (not a Buffer). */
export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/** A stream of `chunks`, yielding to the event loop between them so that concurrent writers interleave. */
export async function* slowly(chunks: readonly Uint8Array[]): AsyncGenerator<Uint8Array> {
  for (const chunk of chunks) {
    await new Promise((resolve) => setTimeout(resolve, 0));
    yield chunk;
  }
}

/** Settle all `promises` and split them into the indices that resolved and the errors. */
export async function settle<T>(
  promises: readonly Promise<T>[],
): Promise<{ fulfilled: number[]; rejected: { index: number; reason: unknown }[] }> {
  const results = await Promise.allSettled(promises);
  const fulfilled: number[] = [];
  const rejected: { index: number; reason: unknown }[] = [];
  results.forEach((r, index) =>
    r.status === 'fulfilled' ? fulfilled.push(index) : rejected.push({ index, reason: r.reason }),
  );
  return { fulfilled, rejected };
}

/** Assert that `reason` is a FanoutError with `code` (for losers of a race). */
export function assertRejectedWith(reason: unknown, code: FanoutErrorCode, what: string): void {
  assert.ok(isFanoutErrorLike(reason), `${what}: expected a FanoutError ${code}, got ${describeError(reason)}`);
  assert.equal(reason.code, code, `${what}: ${reason.message}`);
}
