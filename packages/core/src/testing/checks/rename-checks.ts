/** Conformance checks of `rename`: the protocol's fence (commit and takeover race on one name). */
import assert from 'node:assert/strict';
import { assertContent, assertRejectedWith, expectFanoutError, listNames, settle, utf8 } from '../assertions.js';
import { withBackend, type ConformanceCheck } from '../harness.js';

export const renameChecks: readonly ConformanceCheck[] = [
  {
    name: 'rename moves the file to its new name in one step',
    run: (h) =>
      withBackend(h, async (b) => {
        const content = utf8('the message');
        await b.createExclusive('pM1.TX1', content);
        const before = await b.stat('pM1.TX1');
        await b.rename('pM1.TX1', 'kM1.TX1');
        assert.equal(await b.stat('pM1.TX1'), undefined, 'the old name is gone');
        const after = await b.stat('kM1.TX1');
        if (before?.fileId !== undefined && after?.fileId !== undefined)
          assert.equal(after.fileId, before.fileId, 'rename moves the file, it does not copy it');
        await assertContent(b, 'kM1.TX1', content);
        assert.deepEqual(await listNames(b), ['kM1.TX1']);
      }),
  },
  {
    name: 'rename of a missing name fails with ENOENT and changes nothing',
    run: (h) =>
      withBackend(h, async (b) => {
        await b.createExclusive('other', utf8('bystander'));
        await expectFanoutError('rename of a missing name', () => b.rename('pM1.TX1', 'kM1.TX1'), 'ENOENT', {
          backend: b,
        });
        assert.deepEqual(await listNames(b), ['other']);
      }),
  },
  {
    name: 'rename never replaces another file: EEXIST, both files intact',
    run: (h) =>
      withBackend(h, async (b) => {
        await b.createExclusive('bM1.TX1', utf8('backing out'));
        await b.createExclusive('sM1', utf8('someone else'));
        await expectFanoutError('rename onto another file', () => b.rename('bM1.TX1', 'sM1'), 'EEXIST', { backend: b });
        await assertContent(b, 'bM1.TX1', utf8('backing out'));
        await assertContent(b, 'sM1', utf8('someone else'));
      }),
  },
  {
    name: 'of a commit and a takeover renaming one name at once, exactly one wins and the other gets ENOENT',
    run: (h) =>
      withBackend(h, async (b) => {
        for (let round = 0; round < 8; round++) {
          const from = `pM${round}.TX1`;
          await b.createExclusive(from, utf8(`message ${round}`));
          const targets = [`kM${round}.TX1`, `bM${round}.TX1`, `xM${round}.TX1`, `yM${round}.TX1`];
          const { fulfilled, rejected } = await settle(targets.map((to) => b.rename(from, to)));
          assert.equal(
            fulfilled.length,
            1,
            `round ${round}: exactly one rename wins (winners: ${fulfilled.join(', ')})`,
          );
          for (const { index, reason } of rejected) {
            assertRejectedWith(reason, 'ENOENT', `round ${round}, rename ${index}`);
            assert.equal(
              await b.stat(targets[index]!),
              undefined,
              `round ${round}: a losing rename made no ${targets[index]}`,
            );
          }
          await assertContent(b, targets[fulfilled[0]!]!, utf8(`message ${round}`));
          assert.equal(await b.stat(from), undefined);
        }
      }),
  },
];
