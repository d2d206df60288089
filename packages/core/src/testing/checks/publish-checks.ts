/** Conformance checks of `publish`. */
import assert from 'node:assert/strict';
import { assertContent, assertRejectedWith, expectFanoutError, listNames, settle, utf8 } from '../assertions.js';
import { NotApplicableError, tryPlant, withBackend, type ConformanceCheck } from '../harness.js';

export const publishChecks: readonly ConformanceCheck[] = [
  {
    name: 'publish gives the file its new name and removes the old one',
    run: (h) =>
      withBackend(h, async (b) => {
        const content = utf8('the message');
        await b.createExclusive('w1.tx', content);
        const before = await b.stat('w1.tx');
        await b.publish('w1.tx', 'd1');
        assert.equal(await b.stat('w1.tx'), undefined, 'the old name is gone');
        const after = await b.stat('d1');
        assert.equal(after?.kind, 'file');
        assert.equal(after?.size, content.byteLength);
        if (before?.fileId !== undefined && after?.fileId !== undefined) {
          assert.equal(after.fileId, before.fileId, 'publish renames the file, it does not copy it');
        }
        await assertContent(b, 'd1', content);
        assert.deepEqual(await listNames(b), ['d1']);
      }),
  },
  {
    name: 'publish never replaces an existing name: EEXIST, and both files stay intact',
    run: (h) =>
      withBackend(h, async (b) => {
        await b.createExclusive('w1', utf8('new copy'));
        await b.createExclusive('d1', utf8('already delivered'));
        await expectFanoutError('publish onto an existing file', () => b.publish('w1', 'd1'), 'EEXIST', { backend: b });
        await assertContent(b, 'w1', utf8('new copy'), 'the source is untouched');
        await assertContent(b, 'd1', utf8('already delivered'), 'the target is untouched');
        assert.deepEqual(await listNames(b), ['d1', 'w1']);
      }),
  },
  {
    name: 'publish of a missing source fails with ENOENT and changes nothing',
    run: (h) =>
      withBackend(h, async (b) => {
        await b.createExclusive('other', utf8('bystander'));
        await expectFanoutError('publish of a missing name', () => b.publish('missing', 'd1'), 'ENOENT', {
          backend: b,
        });
        assert.deepEqual(await listNames(b), ['other']);
      }),
  },
  {
    name: 'publish refuses a symlink or directory source with EBADENTRY and a symlink or directory target with EEXIST',
    run: (h) =>
      withBackend(h, async (b) => {
        const planted: string[] = [];
        if (await tryPlant(h, b, 'link', 'symlink')) planted.push('link');
        if (await tryPlant(h, b, 'dir', 'directory')) planted.push('dir');
        if (planted.length === 0)
          throw new NotApplicableError('the harness can plant neither a symlink nor a directory');
        await b.createExclusive('w1', utf8('a file'));
        const before = await listNames(b);
        for (const name of planted) {
          const kind = (await b.stat(name))?.kind;
          await expectFanoutError(`publish from a ${kind}`, () => b.publish(name, 'd-new'), 'EBADENTRY', {
            backend: b,
          });
          assert.equal(await b.stat('d-new'), undefined, `publishing a ${kind} created nothing`);
          await expectFanoutError(`publish onto a ${kind}`, () => b.publish('w1', name), 'EEXIST', { backend: b });
          assert.equal((await b.stat(name))?.kind, kind, `${name} is still a ${kind}`);
          await assertContent(b, 'w1', utf8('a file'), `after publishing onto a ${kind}`);
        }
        assert.deepEqual(await listNames(b), before);
      }),
  },
  {
    name: 'of 8 concurrent publishes to one name exactly one wins, the rest get EEXIST and keep their files',
    run: (h) =>
      withBackend(h, async (b) => {
        const n = 8;
        const content = (i: number) => utf8(`copy number ${i}`);
        for (let i = 0; i < n; i++) await b.createExclusive(`w${i}`, content(i));
        const { fulfilled, rejected } = await settle(Array.from({ length: n }, (_, i) => b.publish(`w${i}`, 'd-race')));
        assert.equal(fulfilled.length, 1, `exactly one publisher wins (winners: ${fulfilled.join(', ')})`);
        for (const { index, reason } of rejected) {
          assertRejectedWith(reason, 'EEXIST', `publisher ${index}`);
          await assertContent(b, `w${index}`, content(index), `(a losing publisher keeps its file)`);
        }
        const winner = fulfilled[0]!;
        await assertContent(b, 'd-race', content(winner), `(the winner was ${winner})`);
        assert.equal(await b.stat(`w${winner}`), undefined, 'the winner\u2019s old name is gone');
        assert.equal((await listNames(b)).length, n, 'the losers and the published file, nothing else');
      }),
  },
];
