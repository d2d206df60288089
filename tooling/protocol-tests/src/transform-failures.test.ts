/**
 * A transform is the message's own business: whatever goes wrong in it (its
 * factory throws or returns something that is not a stream, the stream fails
 * or yields something that is not bytes) fails that message with ETRANSFORM,
 * reported against the source message `s<id>`, and the message stays in the
 * source untouched. Defects of issue 16: a factory returning a string replaced
 * the delivered content with that string, and a transform's exception was
 * reported as EIO against the staged copy `w<id>.<tx>` in a destination.
 */
import { Transform } from 'node:stream';
import { fanOut, FanoutError, overrideBackend, type TransformFactory } from '@fanout/core';
import { afterEach, describe, expect, it } from 'vitest';
import { checkInvariants, posixWorld, type PosixWorld } from './harness.js';

let world: PosixWorld | undefined;
afterEach(() => world?.dispose());

const failing: Record<string, TransformFactory> = {
  'returns a string': (() => 'not a stream') as unknown as TransformFactory,
  'returns a plain object': (() => ({ transform: true })) as unknown as TransformFactory,
  throws: () => {
    throw new Error('factory refuses');
  },
  'makes a stream that fails': () =>
    new Transform({
      transform(_chunk, _enc, done) {
        done(new Error('stream refuses'));
      },
    }),
  'makes a stream that yields objects, not bytes': () =>
    new Transform({
      readableObjectMode: true,
      transform(chunk: Buffer, _enc, done) {
        done(null, { length: chunk.length });
      },
    }),
};

describe('a failing transform', () => {
  for (const [what, transform] of Object.entries(failing)) {
    for (const destCount of [1, 2]) {
      it(`that ${what} fails each message with ETRANSFORM naming s<id> in the source, which keeps it untouched (${destCount} destination(s))`, async () => {
        world = await posixWorld(destCount, 3);
        const w = world;
        // The transform sits on the last destination only: a plain copy beside it must be rolled back too.
        const summary = await fanOut({
          source: w.source,
          destinations: w.dests.map((spool, k) => (k === destCount - 1 ? { spool, transform } : { spool })),
          recoverFirst: false,
        });
        expect(summary.committed).toBe(0);
        expect(summary.failed).toHaveLength(3);
        for (const f of summary.failed) {
          expect(f.error).toBeInstanceOf(FanoutError);
          expect({ code: f.error.code, spool: f.error.spool, file: f.error.file }).toEqual({
            code: 'ETRANSFORM',
            spool: w.source.location,
            file: `s${f.id}`,
          });
          expect(f.error.message).toContain(w.dests[destCount - 1]!.location);
        }
        expect(checkInvariants(w, destCount)).toEqual({ inSource: 3, delivered: 0 });
        for (const [id, content] of w.messages) expect(w.read('S', `s${id}`).equals(content)).toBe(true);
      });
    }
  }

  it('does not take the blame for a failing read of the source: that error is reported as it is', async () => {
    world = await posixWorld(1, 1);
    const w = world;
    const unreadable = overrideBackend(w.source, {
      read(name: string) {
        if (!name.startsWith('p')) return w.source.read(name);
        return (async function* () {
          yield new Uint8Array(0);
          throw new FanoutError('EIO', 'disk read error', { spool: w.source.location, file: name });
        })();
      },
    });
    const upper = () => new Transform({ transform: (c: Buffer, _e, done) => done(null, c) });
    const summary = await fanOut({
      source: unreadable,
      destinations: [{ spool: w.dests[0]!, transform: upper }],
      recoverFirst: false,
    });
    expect(summary.failed.map((f) => [f.error.code, f.error.message])).toEqual([['EIO', 'disk read error']]);
  });
});
