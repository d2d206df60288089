/** Conformance checks of `list`. */
import assert from 'node:assert/strict';
import type { EntryKind } from '../../backend/spool-backend.js';
import { assertContent, expectFanoutError, listAll, listNames, utf8 } from '../assertions.js';
import { NotApplicableError, tryPlant, withBackend, type ConformanceCheck, type PlantableKind } from '../harness.js';

/**
 * Names that are plain but odd: they trip backends that encode, normalise,
 * split or glob names (URL escapes, XML, shells, NFS silly-renames).
 */
export const ODD_NAMES: readonly string[] = [
  'h\u00e9llo w\u00f6rld', // NFC-composed accents
  '\u65e5\u672c\u8a9e\u306e\u30d5\u30a1\u30a4\u30eb',
  '\u{1F680}rocket',
  'with space',
  ' leading space',
  'trailing space ',
  '-leading-dash',
  '--',
  '.nfs000123',
  '.hidden',
  'a.b.c',
  '...',
  'trailing.',
  'x'.repeat(255),
  `${'\u00e9'.repeat(127)}x`, // 255 bytes of UTF-8
  '100%',
  '%41%2F',
  'a#b',
  'q?x=1',
  'a+b&c=d',
  "it's",
  '"quoted"',
  'a<b>&amp;',
  '[brackets]{braces}',
  '*',
  '~tilde',
];

export const listChecks: readonly ConformanceCheck[] = [
  {
    name: 'list of a fresh spool yields nothing',
    run: (h) =>
      withBackend(h, async (b) => {
        assert.deepEqual(await listAll(b), []);
      }),
  },
  {
    name: 'list reports each of 300 files exactly once, as files, without . and ..',
    run: (h) =>
      withBackend(h, async (b) => {
        const expected: string[] = [];
        for (let i = 0; i < 300; i++) {
          const name = `s${String(i).padStart(4, '0')}`;
          expected.push(name);
          await b.createExclusive(name, utf8(name));
        }
        const entries = await listAll(b);
        assert.deepEqual(
          entries.map((e) => e.name),
          expected,
        );
        for (const e of entries) assert.equal(e.kind, 'file', `${e.name} is a file`);
      }),
  },
  {
    name:
      'list, stat and read round-trip odd names exactly: unicode, ' +
      'spaces, dashes, dots, 255 bytes, URL and XML specials',
    run: (h) =>
      withBackend(h, async (b) => {
        for (const name of ODD_NAMES) {
          assert.equal(
            await b.createExclusive(name, utf8(`content of ${name}`)),
            utf8(`content of ${name}`).byteLength,
            name,
          );
        }
        const listed = await listAll(b);
        assert.deepEqual(
          listed.map((e) => e.name),
          [...ODD_NAMES].sort((a, c) => (a < c ? -1 : a > c ? 1 : 0)),
        );
        for (const e of listed) assert.equal(e.kind, 'file', JSON.stringify(e.name));
        for (const name of ODD_NAMES) {
          await assertContent(b, name, utf8(`content of ${name}`));
          assert.equal((await b.stat(name))?.size, utf8(`content of ${name}`).byteLength, name);
        }
        for (const name of ODD_NAMES) assert.equal(await b.remove(name), true, `remove ${JSON.stringify(name)}`);
        assert.deepEqual(await listAll(b), []);
      }),
  },
  {
    name: 'list and stat report symlinks, directories and other entries as what they are, never following links',
    run: (h) =>
      withBackend(h, async (b) => {
        await b.createExclusive('file', utf8('a regular file'));
        const planted = new Map<string, EntryKind>([['file', 'file']]);
        const kinds: [string, PlantableKind][] = [
          ['link', 'symlink'],
          ['dir', 'directory'],
          ['fifo', 'other'],
        ];
        for (const [name, kind] of kinds) if (await tryPlant(h, b, name, kind)) planted.set(name, kind);
        if (planted.size === 1)
          throw new NotApplicableError('the harness can plant no symlink, directory or other entry');
        const listed = await listAll(b);
        assert.deepEqual(
          listed,
          [...planted].map(([name, kind]) => ({ name, kind })).sort((x, y) => (x.name < y.name ? -1 : 1)),
          'each entry is listed once, with its own kind',
        );
        for (const [name, kind] of planted) {
          assert.equal((await b.stat(name))?.kind, kind, `stat(${name}).kind`);
        }
      }),
  },
  {
    name: 'list can be abandoned after the first entry and listed again in full',
    run: (h) =>
      withBackend(h, async (b) => {
        for (const name of ['a', 'b', 'c', 'd', 'e']) await b.createExclusive(name, utf8(name));
        let seen = 0;
        for await (const _entry of b.list()) {
          seen++;
          break;
        }
        assert.equal(seen, 1);
        // Two listings interleaved must not disturb each other.
        const first = b.list()[Symbol.asyncIterator]();
        const second = b.list()[Symbol.asyncIterator]();
        const one = await first.next();
        const two = await second.next();
        assert.ok(!one.done && !two.done, 'both listings yield an entry');
        await first.return?.();
        await second.return?.();
        assert.deepEqual(await listNames(b), ['a', 'b', 'c', 'd', 'e']);
        assert.equal(await b.remove('c'), true);
        await assertContent(b, 'd', utf8('d'));
      }),
  },
  {
    name: 'list fails with ENOENT when the container is gone',
    run: async (h) => {
      const removeContainer = h.removeContainer;
      if (!removeContainer) throw new NotApplicableError('the harness cannot remove a container');
      await withBackend(h, async (b) => {
        await b.createExclusive('s1', utf8('x'));
        await removeContainer(b);
        await expectFanoutError('list of a removed container', () => listAll(b), 'ENOENT', { backend: b });
      });
    },
  },
];
