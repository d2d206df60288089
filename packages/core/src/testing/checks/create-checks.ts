/** Conformance checks of `createExclusive`. */
import assert from 'node:assert/strict';
import { FanoutError } from '../../errors/fanout-error.js';
import {
  assertContent,
  assertRejectedWith,
  expectFanoutError,
  listNames,
  readAll,
  settle,
  slowly,
  utf8,
} from '../assertions.js';
import { NotApplicableError, tryPlant, withBackend, type ConformanceCheck } from '../harness.js';

/** Names the contract forbids; every operation must refuse them with EUSAGE. */
export const NOT_PLAIN_NAMES: readonly string[] = ['a/b', '/abs', '..', '.', '', 'x\0y'];

export const createChecks: readonly ConformanceCheck[] = [
  {
    name: 'createExclusive writes bytes, returns the byte count, and the file reads back the same',
    run: (h) =>
      withBackend(h, async (b) => {
        const content = utf8('hello, spool\n');
        assert.equal(await b.createExclusive('s1', content), content.byteLength);
        await assertContent(b, 's1', content);
        const st = await b.stat('s1');
        assert.equal(st?.kind, 'file');
        assert.equal(st?.size, content.byteLength);
        assert.deepEqual(await listNames(b), ['s1']);
      }),
  },
  {
    name: 'createExclusive streams an async iterable of many chunks, including views and empty chunks',
    run: (h) =>
      withBackend(h, async (b) => {
        const chunks: Uint8Array[] = [];
        for (let i = 0; i < 1000; i++) chunks.push(utf8(`line ${i} ${'x'.repeat(i % 97)}\n`));
        // A view into a bigger buffer: a backend that writes `chunk.buffer` instead of the view is caught.
        const big = utf8('<<<ignored>>>the view<<<ignored>>>');
        chunks.push(big.subarray(13, 21));
        chunks.push(new Uint8Array(0));
        chunks.push(Buffer.from('a Buffer works too'));
        const expected = Buffer.concat(chunks);
        async function* stream() {
          for (const c of chunks) yield c;
        }
        assert.equal(await b.createExclusive('s-stream', stream()), expected.byteLength);
        await assertContent(b, 's-stream', expected);
      }),
  },
  {
    name: 'createExclusive makes empty files from empty bytes, an empty stream, and a stream of empty chunks',
    run: (h) =>
      withBackend(h, async (b) => {
        assert.equal(await b.createExclusive('e1', new Uint8Array(0)), 0);
        assert.equal(await b.createExclusive('e2', (async function* () {})()), 0);
        assert.equal(await b.createExclusive('e3', slowly([new Uint8Array(0), new Uint8Array(0)])), 0);
        for (const name of ['e1', 'e2', 'e3']) {
          const st = await b.stat(name);
          assert.equal(st?.kind, 'file', `${name} is a file`);
          assert.equal(st?.size, 0, `${name} is empty`);
          assert.equal((await readAll(b, name)).byteLength, 0, `${name} reads as empty`);
        }
        assert.deepEqual(await listNames(b), ['e1', 'e2', 'e3']);
      }),
  },
  {
    name: 'createExclusive refuses an existing file with EEXIST and leaves it unchanged',
    run: (h) =>
      withBackend(h, async (b) => {
        const original = utf8('original');
        await b.createExclusive('s1', original);
        await expectFanoutError(
          'createExclusive over a file (bytes)',
          () => b.createExclusive('s1', utf8('intruder!')),
          'EEXIST',
          {
            backend: b,
            file: 's1',
          },
        );
        await expectFanoutError(
          'createExclusive over a file (stream)',
          () => b.createExclusive('s1', slowly([utf8('intruder'), utf8(' again')])),
          'EEXIST',
          { backend: b, file: 's1' },
        );
        await expectFanoutError(
          'createExclusive over an empty-content create',
          () => b.createExclusive('s1', new Uint8Array(0)),
          'EEXIST',
          {
            backend: b,
            file: 's1',
          },
        );
        await assertContent(b, 's1', original, 'after refused creates');
        assert.deepEqual(await listNames(b), ['s1']);
      }),
  },
  {
    name: 'createExclusive refuses a name held by a symlink or a directory with EEXIST and never writes through it',
    run: (h) =>
      withBackend(h, async (b) => {
        const planted: string[] = [];
        if (await tryPlant(h, b, 'link', 'symlink')) planted.push('link');
        if (await tryPlant(h, b, 'dir', 'directory')) planted.push('dir');
        if (planted.length === 0)
          throw new NotApplicableError('the harness can plant neither a symlink nor a directory');
        const before = await listNames(b);
        for (const name of planted) {
          const kind = (await b.stat(name))?.kind;
          await expectFanoutError(
            `createExclusive over a ${kind}`,
            () => b.createExclusive(name, utf8('data')),
            'EEXIST',
            {
              backend: b,
              file: name,
            },
          );
          assert.equal((await b.stat(name))?.kind, kind, `${name} is still a ${kind}`);
        }
        assert.deepEqual(await listNames(b), before);
      }),
  },
  {
    name: 'createExclusive fails with ENOENT when the container is gone',
    run: async (h) => {
      const removeContainer = h.removeContainer;
      if (!removeContainer) throw new NotApplicableError('the harness cannot remove a container');
      await withBackend(h, async (b) => {
        await removeContainer(b);
        await expectFanoutError(
          'createExclusive in a removed container',
          () => b.createExclusive('s1', utf8('x')),
          'ENOENT',
          {
            backend: b,
            file: 's1',
          },
        );
      });
    },
  },
  {
    name:
      'createExclusive removes the partial file when the content stream throws, ' +
      'reporting EIO or the stream\u2019s FanoutError',
    run: (h) =>
      withBackend(h, async (b) => {
        async function* breaksAfterSomeBytes(error: unknown) {
          yield utf8('some bytes that ');
          await new Promise((resolve) => setTimeout(resolve, 0));
          yield utf8('reach the file before ');
          throw error;
        }
        await expectFanoutError(
          'a stream that throws a plain Error',
          () => b.createExclusive('s1', breaksAfterSomeBytes(new Error('source broke'))),
          'EIO',
          {
            backend: b,
            file: 's1',
          },
        );
        const own = new FanoutError('EACCES', 'the source could not be read');
        let caught: unknown;
        try {
          await b.createExclusive('s2', breaksAfterSomeBytes(own));
        } catch (err) {
          caught = err;
        }
        assert.ok(
          caught instanceof Error && (caught as FanoutError).code === 'EACCES',
          'a FanoutError from the stream keeps its code',
        );
        assert.equal(await b.stat('s1'), undefined, 'no partial s1');
        assert.equal(await b.stat('s2'), undefined, 'no partial s2');
        assert.deepEqual(await listNames(b), [], 'nothing is left in the spool, under any name');
        // The name is free again.
        assert.equal(await b.createExclusive('s1', utf8('retry')), 5);
      }),
  },
  {
    name: 'createExclusive with an aborted signal fails with EABORTED and leaves no file',
    run: (h) =>
      withBackend(h, async (b) => {
        const already = new AbortController();
        already.abort();
        await expectFanoutError(
          'createExclusive with a signal aborted before',
          () => b.createExclusive('s1', utf8('x'), { signal: already.signal }),
          'EABORTED',
          {
            backend: b,
            file: 's1',
          },
        );
        const during = new AbortController();
        async function* abortsMidway() {
          yield utf8('first chunk ');
          await new Promise((resolve) => setTimeout(resolve, 0));
          during.abort();
          for (let i = 0; i < 3; i++) {
            await new Promise((resolve) => setTimeout(resolve, 0));
            yield utf8(`after abort ${i} `);
          }
        }
        await expectFanoutError(
          'createExclusive aborted mid-stream',
          () => b.createExclusive('s2', abortsMidway(), { signal: during.signal }),
          'EABORTED',
          {
            backend: b,
            file: 's2',
          },
        );
        assert.deepEqual(await listNames(b), [], 'no file is left by an aborted create');
      }),
  },
  {
    name: 'every operation refuses names that are not plain with EUSAGE and touches nothing',
    run: (h) =>
      withBackend(h, async (b) => {
        await b.createExclusive('ok', utf8('ok'));
        for (const bad of NOT_PLAIN_NAMES) {
          const shown = JSON.stringify(bad);
          const ctx = { backend: b };
          await expectFanoutError(`createExclusive(${shown})`, () => b.createExclusive(bad, utf8('x')), 'EUSAGE', ctx);
          await expectFanoutError(`publish(ok, ${shown})`, () => b.publish('ok', bad), 'EUSAGE', ctx);
          await expectFanoutError(`publish(${shown}, ok2)`, () => b.publish(bad, 'ok2'), 'EUSAGE', ctx);
          await expectFanoutError(`remove(${shown})`, () => b.remove(bad), 'EUSAGE', ctx);
          await expectFanoutError(`stat(${shown})`, () => b.stat(bad), 'EUSAGE', ctx);
          await expectFanoutError(`read(${shown})`, async () => readAll(b, bad), 'EUSAGE', ctx);
        }
        assert.deepEqual(await listNames(b), ['ok']);
        await assertContent(b, 'ok', utf8('ok'));
      }),
  },
  {
    name:
      'of 16 concurrent exclusive creates of one name exactly one wins, ' +
      'the rest get EEXIST, and the content is the winner\u2019s',
    run: (h) =>
      withBackend(h, async (b) => {
        const contents = Array.from({ length: 16 }, (_, i) => [
          utf8(`writer ${i} `),
          utf8(`part two of ${i} `),
          utf8(`end ${i}`),
        ]);
        const { fulfilled, rejected } = await settle(
          contents.map((parts) => b.createExclusive('s-race', slowly(parts))),
        );
        assert.equal(fulfilled.length, 1, `exactly one creator wins (winners: ${fulfilled.join(', ')})`);
        for (const { index, reason } of rejected) assertRejectedWith(reason, 'EEXIST', `creator ${index}`);
        const winner = fulfilled[0]!;
        await assertContent(b, 's-race', Buffer.concat(contents[winner]!), `(the winner was ${winner})`);
        assert.deepEqual(await listNames(b), ['s-race']);
      }),
  },
];
