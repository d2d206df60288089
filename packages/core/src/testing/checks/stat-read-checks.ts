/** Conformance checks of `stat` and `read`. */
import assert from 'node:assert/strict';
import { assertContent, drain, expectFanoutError, readAll, utf8 } from '../assertions.js';
import { NotApplicableError, plantOrSkip, tryPlant, withBackend, type ConformanceCheck } from '../harness.js';

/** How long a read of a FIFO may take before the check calls it hung. Generous: it only catches a hang. */
const FIFO_HANG_MS = 10_000;

export const statReadChecks: readonly ConformanceCheck[] = [
  {
    name: 'stat resolves undefined for a missing name',
    run: (h) =>
      withBackend(h, async (b) => {
        assert.equal(await b.stat('missing'), undefined);
      }),
  },
  {
    name: 'stat describes a file: its kind, size, time, and an identity that differs between two files',
    run: (h) =>
      withBackend(h, async (b) => {
        const before = Date.now();
        await b.createExclusive('s1', utf8('12345'));
        await b.createExclusive('s2', utf8(''));
        const one = await b.stat('s1');
        const two = await b.stat('s2');
        assert.ok(one && two);
        assert.equal(one.kind, 'file');
        assert.equal(one.size, 5);
        assert.equal(two.size, 0);
        assert.equal(typeof one.mtimeMs, 'number');
        // Coarse clocks (WebDAV's second resolution, NFS skew) are allowed a day either way; 0 means unknown.
        if (one.mtimeMs !== 0)
          assert.ok(Math.abs(one.mtimeMs - before) < 86_400_000, `mtimeMs ${one.mtimeMs} is near now`);
        if (one.nlink !== undefined) assert.ok(one.nlink >= 1, 'a file has at least one name');
        if (one.fileId !== undefined && two.fileId !== undefined)
          assert.notEqual(one.fileId, two.fileId, 'two files, two identities');
        const again = await b.stat('s1');
        assert.equal(again?.fileId, one.fileId, 'a file keeps its identity');
        assert.equal(again?.size, 5);
      }),
  },
  {
    name: 'read streams back exactly the bytes written, for a file of several megabytes',
    run: (h) =>
      withBackend(h, async (b) => {
        const size = 3 * 1024 * 1024 + 17;
        const content = new Uint8Array(size);
        for (let i = 0; i < size; i++) content[i] = (i * 131 + (i >>> 10)) & 0xff;
        await b.createExclusive('s-big', content);
        await assertContent(b, 's-big', content);
        // Reading twice, and abandoning a read early, leaves the file as it was.
        for await (const _chunk of b.read('s-big')) break;
        await assertContent(b, 's-big', content, '(second read)');
      }),
  },
  {
    name: 'read of a missing name fails with ENOENT',
    run: (h) =>
      withBackend(h, async (b) => {
        await expectFanoutError('read of a missing name', () => drain(b.read('missing')), 'ENOENT', {
          backend: b,
          file: 'missing',
        });
      }),
  },
  {
    name: 'read refuses a symlink and a directory with EBADENTRY instead of following or listing them',
    run: (h) =>
      withBackend(h, async (b) => {
        const planted: string[] = [];
        if (await tryPlant(h, b, 'link', 'symlink')) planted.push('link');
        if (await tryPlant(h, b, 'dir', 'directory')) planted.push('dir');
        if (planted.length === 0)
          throw new NotApplicableError('the harness can plant neither a symlink nor a directory');
        for (const name of planted) {
          await expectFanoutError(`read of ${name}`, () => drain(b.read(name)), 'EBADENTRY', {
            backend: b,
            file: name,
          });
        }
      }),
  },
  {
    name: 'read refuses a FIFO or other special file with EBADENTRY, without hanging',
    run: (h) =>
      withBackend(h, async (b) => {
        await plantOrSkip(h, b, 'fifo', 'other');
        let timer: ReturnType<typeof setTimeout> | undefined;
        const hung = new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new assert.AssertionError({ message: `read of a FIFO hung for ${FIFO_HANG_MS} ms` })),
            FIFO_HANG_MS,
          );
        });
        try {
          await expectFanoutError('read of a FIFO', () => Promise.race([drain(b.read('fifo')), hung]), 'EBADENTRY', {
            backend: b,
            file: 'fifo',
          });
        } finally {
          clearTimeout(timer);
        }
      }),
  },
];

export const spoolChecks: readonly ConformanceCheck[] = [
  {
    name: 'syncDir resolves after creates, publishes and removes, and changes nothing',
    run: (h) =>
      withBackend(h, async (b) => {
        await b.syncDir();
        await b.createExclusive('w1', utf8('one'));
        await b.createExclusive('s2', utf8('two'));
        await b.syncDir();
        await b.publish('w1', 'd1');
        await b.remove('s2');
        await b.syncDir();
        assert.equal(await b.stat('s2'), undefined);
        await assertContent(b, 'd1', utf8('one'));
      }),
  },
  {
    name: 'ensureContainer is idempotent and keeps the spool\u2019s files',
    run: (h) =>
      withBackend(h, async (b) => {
        await b.createExclusive('s1', utf8('kept'));
        await b.ensureContainer();
        await b.ensureContainer();
        await assertContent(b, 's1', utf8('kept'));
      }),
  },
  {
    name: 'location is well formed: a non-empty, credential-free string',
    run: (h) =>
      withBackend(h, async (b) => {
        assert.equal(typeof b.location, 'string');
        assert.ok(b.location.length > 0, 'location is not empty');
        assert.ok(!/\/\/[^/@]*:[^/@]*@/.test(b.location), `location carries no credentials: ${b.location}`);
      }),
  },
];
