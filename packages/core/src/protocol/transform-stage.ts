/**
 * A destination's transform, applied to one message's content in C2. What
 * goes wrong in it is the message's own failure, not the storage's: the
 * factory throwing or returning something that is not a stream, the stream
 * failing, or it yielding something that is not bytes all fail the copy with
 * `ETRANSFORM` naming the source message, so the attempt rolls back and the
 * message waits in the source untouched. A failing read of the source passes
 * through as it is.
 */
import { pipeline, Readable } from 'node:stream';
import { FanoutError, isFanoutError } from '../errors/fanout-error.js';
import type { TransformFactory } from './transaction-plan.js';

/** Where a transform's failure is reported: the source spool and the message's `s<id>`. */
export interface TransformSubject {
  readonly spool: string;
  readonly file: string;
}

function causeText(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}

function describeValue(value: unknown): string {
  if (typeof value === 'string') return 'a string';
  if (typeof value === 'object') return Array.isArray(value) ? 'an array' : 'an object that is not a stream';
  return `a ${typeof value}`;
}

/** Duck-typed, so that streams of another copy of `stream` (readable-stream) pass too. */
function isDuplexStream(value: unknown): value is NodeJS.ReadWriteStream {
  const v = value as Partial<NodeJS.ReadWriteStream> | null;
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof v.write === 'function' &&
    typeof v.read === 'function' &&
    typeof v.on === 'function' &&
    typeof v.pipe === 'function'
  );
}

/**
 * The content of the copy to `destination`: `content()` through the
 * transform the factory makes, or `undefined` when it makes none (a plain copy).
 * @throws `ETRANSFORM` when the factory throws or returns something other than a stream or `undefined`.
 */
export function applyTransform(
  factory: TransformFactory,
  context: { readonly id: string; readonly destination: string },
  content: () => AsyncIterable<Uint8Array>,
  subject: TransformSubject,
): AsyncIterable<Uint8Array> | undefined {
  const fail = (what: string, cause?: unknown) =>
    new FanoutError('ETRANSFORM', `transform for ${context.destination} ${what}`, { ...subject, cause });
  let made: unknown;
  try {
    made = factory(context);
  } catch (cause) {
    throw fail(`threw: ${causeText(cause)}`, cause);
  }
  if (made === undefined || made === null) return undefined;
  // Without this check, pipeline() takes a string or an array for content of its own: the message's content would be
  // replaced.
  if (!isDuplexStream(made))
    throw fail(`returned ${describeValue(made)}, not a stream (a Transform, or undefined for a plain copy)`);
  let sourceError: unknown;
  const input = (async function* () {
    try {
      yield* content();
    } catch (err) {
      sourceError = err;
      throw err;
    }
  })();
  // pipeline() propagates a failure of either side into the stream read here.
  const output = pipeline(
    Readable.from(input, { objectMode: false }),
    made,
    () => undefined,
  ) as unknown as AsyncIterable<unknown>;
  return (async function* () {
    try {
      for await (const chunk of output) {
        if (!(chunk instanceof Uint8Array)) throw fail(`produced ${describeValue(chunk)} chunk, not bytes`);
        yield chunk;
      }
    } catch (err) {
      if (sourceError !== undefined) throw sourceError;
      if (isFanoutError(err, 'ETRANSFORM')) throw err;
      throw fail(`failed: ${causeText(err)}`, err);
    }
  })();
}
