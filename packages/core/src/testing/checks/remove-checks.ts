/** Conformance checks of `remove`. */
import assert from 'node:assert/strict';
import { assertContent, expectFanoutError, listNames, utf8 } from '../assertions.js';
import { plantOrSkip, withBackend, type ConformanceCheck } from '../harness.js';

export const removeChecks: readonly ConformanceCheck[] = [
  {
    name: 'remove resolves true when it removed the name and false when there was nothing to remove',
    run: (h) =>
      withBackend(h, async (b) => {
        await b.createExclusive('s1', utf8('x'));
        await b.createExclusive('s2', utf8('bystander'));
        assert.equal(await b.remove('s1'), true, 'the first remove removes');
        assert.equal(await b.stat('s1'), undefined);
        assert.equal(await b.remove('s1'), false, 'the second remove finds nothing');
        assert.equal(await b.remove('never-existed'), false);
        assert.deepEqual(await listNames(b), ['s2']);
        await assertContent(b, 's2', utf8('bystander'));
      }),
  },
  {
    name: 'remove refuses a directory with EBADENTRY and leaves it',
    run: (h) =>
      withBackend(h, async (b) => {
        await plantOrSkip(h, b, 'dir', 'directory');
        await expectFanoutError('remove of a directory', () => b.remove('dir'), 'EBADENTRY', {
          backend: b,
          file: 'dir',
        });
        assert.equal((await b.stat('dir'))?.kind, 'directory');
      }),
  },
  {
    name: 'remove deletes a symlink itself, never what it points to',
    run: (h) =>
      withBackend(h, async (b) => {
        await b.createExclusive('bystander', utf8('still here'));
        await plantOrSkip(h, b, 'link', 'symlink');
        assert.equal(await b.remove('link'), true);
        assert.equal(await b.stat('link'), undefined);
        assert.deepEqual(await listNames(b), ['bystander']);
        await assertContent(b, 'bystander', utf8('still here'));
      }),
  },
];
