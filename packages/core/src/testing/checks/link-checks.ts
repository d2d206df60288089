/** Conformance checks of `link` (backends that have it: the ones with hard links). */
import assert from 'node:assert/strict';
import type { SpoolBackend } from '../../backend/spool-backend.js';
import { assertContent, assertRejectedWith, expectFanoutError, listNames, settle, utf8 } from '../assertions.js';
import { NotApplicableError, tryPlant, withBackend, type ConformanceCheck } from '../harness.js';

/** The backend's `link`, or not applicable when it has no hard links. */
function linkOf(b: SpoolBackend): (from: string, to: string) => Promise<void> {
  if (!b.link) throw new NotApplicableError('the backend has no hard links (no link())');
  return b.link.bind(b);
}

export const linkChecks: readonly ConformanceCheck[] = [
  {
    name: 'link gives the file a second name and keeps the first',
    run: (h) =>
      withBackend(h, async (b) => {
        const link = linkOf(b);
        const content = utf8('one record, many names');
        await b.createExclusive('t1', content);
        await link('t1', 'm1');
        await link('t1', 'm2');
        for (const name of ['t1', 'm1', 'm2']) await assertContent(b, name, content, `(${name})`);
        const [t, m1] = [await b.stat('t1'), await b.stat('m1')];
        if (t?.fileId !== undefined && m1?.fileId !== undefined)
          assert.equal(m1.fileId, t.fileId, 'both names are one file');
        if (t?.nlink !== undefined) assert.equal(t.nlink, 3, 'three names');
        await b.remove('t1');
        await assertContent(b, 'm2', content, 'a name outlives the removal of another');
        assert.deepEqual(await listNames(b), ['m1', 'm2']);
      }),
  },
  {
    name: 'link never replaces an existing name: EEXIST, both files intact; linking again to the same file resolves',
    run: (h) =>
      withBackend(h, async (b) => {
        const link = linkOf(b);
        await b.createExclusive('t1', utf8('record'));
        await b.createExclusive('m1', utf8('another owner'));
        await expectFanoutError('link onto an existing file', () => link('t1', 'm1'), 'EEXIST', { backend: b });
        await assertContent(b, 'm1', utf8('another owner'), 'the target is untouched');
        await link('t1', 'm2');
        await link('t1', 'm2');
        await assertContent(b, 'm2', utf8('record'), 'after the repeated link');
        assert.deepEqual(await listNames(b), ['m1', 'm2', 't1']);
      }),
  },
  {
    name: 'link of a missing source fails with ENOENT; of a symlink or directory with EBADENTRY; changes nothing',
    run: (h) =>
      withBackend(h, async (b) => {
        const link = linkOf(b);
        await expectFanoutError('link of a missing name', () => link('missing', 'm1'), 'ENOENT', { backend: b });
        const planted: string[] = [];
        if (await tryPlant(h, b, 'sym', 'symlink')) planted.push('sym');
        if (await tryPlant(h, b, 'dir', 'directory')) planted.push('dir');
        for (const name of planted) {
          await expectFanoutError(`link from a ${name}`, () => link(name, 'm-new'), 'EBADENTRY', { backend: b });
        }
        assert.equal(await b.stat('m1'), undefined);
        assert.equal(await b.stat('m-new'), undefined);
      }),
  },
  {
    name: 'of 8 concurrent links of different files to one name exactly one wins, the rest get EEXIST',
    run: (h) =>
      withBackend(h, async (b) => {
        const link = linkOf(b);
        const n = 8;
        for (let i = 0; i < n; i++) await b.createExclusive(`t${i}`, utf8(`record ${i}`));
        const { fulfilled, rejected } = await settle(Array.from({ length: n }, (_, i) => link(`t${i}`, 'm-race')));
        assert.equal(fulfilled.length, 1, `exactly one link wins (winners: ${fulfilled.join(', ')})`);
        for (const { index, reason } of rejected) assertRejectedWith(reason, 'EEXIST', `linker ${index}`);
        await assertContent(b, 'm-race', utf8(`record ${fulfilled[0]!}`));
      }),
  },
];
