/**
 * Outages under `--watch` (issue 16, item 1): a destination that goes away
 * (a WebDAV server stopped for 15 s, a full disk, a vanished directory, a
 * stale NFS handle) never ends `run --watch` or `consume --watch`; the route
 * says once that it is down and once that it is back, and every message is
 * delivered exactly once when the storage returns. Each test fails on the
 * code before: the process exited (status 1) or the route stopped for good.
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  apacheInstalled,
  type ApacheDav,
  startApacheDav,
} from '../../../packages/fs-webdav/src/test-support/apache.js';
import { delivered, fanout, lines, names, tempDir } from './cli-harness.js';
import { countLines, startFanout, startWrapped, waitFor } from './daemon-harness.js';

const run = promisify(execFile);

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(async () => cleanup());

/** Enqueue one message per text into `spool`; their ids, in order. */
async function enqueue(spool: string, texts: readonly string[]): Promise<string[]> {
  const files: string[] = [];
  for (const [i, t] of texts.entries()) {
    const f = join(dir, `in-${Date.now()}-${i}`);
    await writeFile(f, t);
    files.push(f);
  }
  const r = await fanout(['enqueue', spool, ...files], { cwd: dir });
  expect(r.status).toBe(0);
  return lines(r.stdout);
}

/** Every message, delivered once to each destination directory, and none left waiting in S. */
async function expectExactlyOnce(
  destinations: readonly string[],
  expected: ReadonlyMap<string, string>,
  source = join(dir, 'S'),
): Promise<void> {
  for (const d of destinations)
    expect(new Map([...(await delivered(d))].sort())).toEqual(new Map([...expected].sort()));
  expect((await names(source)).filter((n) => n.startsWith('s'))).toEqual([]);
}

describe.skipIf(!apacheInstalled())(
  'run --watch with a WebDAV destination (needs Apache httpd with mod_dav: apt-get install apache2)',
  () => {
    let apache: ApacheDav;
    beforeAll(async () => {
      apache = await startApacheDav();
    });
    afterAll(async () => apache?.dispose());

    it('stays up while the server is stopped for 15 s, prints one down and one up line, and delivers everything exactly once when it returns', async () => {
      const B = `webdav+${apache.baseUrl}B-${Date.now()}`;
      const bDir = join(apache.dataDir, B.slice(B.lastIndexOf('/') + 1));
      expect((await fanout(['init', 'S', 'A', B], { cwd: dir })).status).toBe(0);
      const daemon = startFanout(
        ['run', '--from', 'S', '--to', 'A', '--to', B, '--watch', '--interval', '100', '--max-backoff', '2000'],
        { cwd: dir },
      );
      let stopped = false;
      try {
        const expected = new Map<string, string>();
        for (const [i, id] of (await enqueue('S', ['one', 'two', 'three'])).entries())
          expected.set(id, ['one', 'two', 'three'][i]!);
        await waitFor('the first messages in B', async () => (await delivered(bDir)).size === 3);

        await apache.stop();
        stopped = true;
        for (const [i, id] of (await enqueue('S', ['four', 'five', 'six'])).entries())
          expected.set(id, ['four', 'five', 'six'][i]!);
        await sleep(15_000);
        expect(daemon.exited()).toBe(false);
        expect(countLines(daemon.stderr(), /route: down: .*\(EUNAVAILABLE\)/)).toBe(1);
        expect((await names(join(dir, 'S'))).filter((n) => n.startsWith('s'))).toHaveLength(3);

        await apache.start();
        stopped = false;
        await waitFor(
          'every message in A and B',
          async () => (await delivered(join(dir, 'A'))).size === 6 && (await delivered(bDir)).size === 6,
        );
        await waitFor('the up line', () => /route: up again after/.test(daemon.stderr()));
        const r = await daemon.stop();
        expect(r.status).toBe(0);
        expect(countLines(r.stderr, /route: down: /)).toBe(1);
        expect(countLines(r.stderr, /route: up again after \d+(\.\d)? s \(EUNAVAILABLE/)).toBe(1);
        await expectExactlyOnce([join(dir, 'A'), bDir], expected);
      } finally {
        await daemon.stop('SIGKILL');
        if (stopped) await apache.start();
      }
    });

    it('started while the server is down, stays up (it exited after 5 s before) and delivers once the server answers', async () => {
      const B = `webdav+${apache.baseUrl}B-late-${Date.now()}`;
      const bDir = join(apache.dataDir, B.slice(B.lastIndexOf('/') + 1));
      expect((await fanout(['init', 'S', 'A', B], { cwd: dir })).status).toBe(0);
      const [id] = await enqueue('S', ['late']);
      await apache.stop();
      let stopped = true;
      const daemon = startFanout(
        ['run', '--from', 'S', '--to', 'A', '--to', B, '--watch', '--interval', '100', '--max-backoff', '1000'],
        { cwd: dir },
      );
      try {
        await waitFor('the down line', () => /route: down: .*\(EUNAVAILABLE\)/.test(daemon.stderr()));
        await sleep(7000);
        expect(daemon.exited()).toBe(false);
        await apache.start();
        stopped = false;
        await waitFor('the message in B', async () => (await delivered(bDir)).size === 1);
        const r = await daemon.stop();
        expect(r.status).toBe(0);
        expect(countLines(r.stderr, /route: down: /)).toBe(1);
        expect(countLines(r.stderr, /route: up again/)).toBe(1);
        await expectExactlyOnce([join(dir, 'A'), bDir], new Map([[id!, 'late']]));
      } finally {
        await daemon.stop('SIGKILL');
        if (stopped) await apache.start();
      }
    });

    it('without --watch, exits 4 (unavailable) when the server is away, the message kept in the source', async () => {
      const B = `webdav+${apache.baseUrl}B-gone-${Date.now()}`;
      expect((await fanout(['init', 'S', 'A', B], { cwd: dir })).status).toBe(0);
      const [id] = await enqueue('S', ['kept']);
      await apache.stop();
      try {
        const r = await fanout(['run', '--from', 'S', '--to', 'A', '--to', B], { cwd: dir });
        expect(r.status).toBe(4);
        expect(r.stderr).toContain('(EUNAVAILABLE)');
        expect(await names(join(dir, 'S'))).toEqual([`s${id}`]);
      } finally {
        await apache.start();
      }
    });
  },
);

describe.skipIf(process.getuid?.() !== 0)(
  'run --watch with a full destination (needs root: it mounts a small tmpfs)',
  () => {
    it('stays up on ENOSPC with one down line (not one per attempt), and delivers everything exactly once when space is freed', async () => {
      const B = join(dir, 'B');
      await mkdir(B);
      await run('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', B]);
      try {
        expect((await fanout(['init', 'S', 'A', 'B'], { cwd: dir })).status).toBe(0);
        // Take every free block, so the copies to B fail with ENOSPC while A has room.
        spawnSync('dd', ['if=/dev/zero', `of=${join(B, 'filler')}`, 'bs=4096'], { stdio: 'ignore' });
        const daemon = startFanout(
          ['run', '--from', 'S', '--to', 'A', '--to', 'B', '--watch', '--interval', '100', '--max-backoff', '500'],
          { cwd: dir },
        );
        try {
          const texts = ['x'.repeat(20_000), 'y'.repeat(20_000), 'z'.repeat(20_000)];
          const expected = new Map((await enqueue('S', texts)).map((id, i) => [id, texts[i]!] as const));
          await waitFor('the down line', () => /route: down: .*\(ENOSPC\)/.test(daemon.stderr()));
          await sleep(3000); // several retries at --max-backoff 500
          expect(daemon.exited()).toBe(false);
          expect(countLines(daemon.stderr(), /route: down: /)).toBe(1);
          expect(await delivered(join(dir, 'A'))).toEqual(new Map());

          await rm(join(B, 'filler'));
          await waitFor(
            'every message in A and B',
            async () => (await delivered(join(dir, 'A'))).size === 3 && (await delivered(B)).size === 3,
          );
          const r = await daemon.stop();
          expect(r.status).toBe(0);
          expect(countLines(r.stderr, /route: down: /)).toBe(1);
          expect(countLines(r.stderr, /route: up again after .*\(ENOSPC at /)).toBe(1);
          await expectExactlyOnce([join(dir, 'A'), B], expected);
        } finally {
          await daemon.stop('SIGKILL');
        }
      } finally {
        await run('umount', [B]);
      }
    });
  },
);

describe('run --watch --config with two routes', () => {
  it("keeps delivering on one route while the other route's destination is gone, and resumes the other when it is back", async () => {
    await writeFile(
      join(dir, 'fanout.yaml'),
      [
        'spools:',
        '  S1: ./S1',
        '  A1: ./A1',
        '  S2: ./S2',
        '  B2: ./B2',
        'routes:',
        '  - { name: one, from: S1, to: A1 }',
        '  - { name: two, from: S2, to: B2 }',
        '',
      ].join('\n'),
    );
    expect((await fanout(['init', 'S1', 'A1', 'S2', 'B2'], { cwd: dir })).status).toBe(0);
    const daemon = startFanout(
      ['--config', 'fanout.yaml', 'run', '--watch', '--interval', '100', '--max-backoff', '500'],
      { cwd: dir },
    );
    try {
      await rename(join(dir, 'B2'), join(dir, 'B2.away'));
      const [waiting] = await enqueue('S2', ['for two']);
      await waitFor('route two down', () => /route two: down: .*B2.*missing.*\(ENOTSPOOL\)/.test(daemon.stderr()));
      const one = await enqueue('S1', ['a', 'b']);
      await waitFor('route one delivering', async () => (await delivered(join(dir, 'A1'))).size === 2);
      await sleep(2000);
      const more = await enqueue('S1', ['c']);
      await waitFor('route one still delivering', async () => (await delivered(join(dir, 'A1'))).size === 3);
      expect(daemon.exited()).toBe(false);
      expect(await names(join(dir, 'S2'))).toEqual([`s${waiting}`]);

      await rename(join(dir, 'B2.away'), join(dir, 'B2'));
      await waitFor('route two resumed', async () => (await delivered(join(dir, 'B2'))).size === 1);
      const r = await daemon.stop();
      expect(r.status).toBe(0);
      expect(countLines(r.stderr, /route two: down: /)).toBe(1);
      expect(countLines(r.stderr, /route two: up again/)).toBe(1);
      expect(countLines(r.stderr, /route one: (down|up)/)).toBe(0);
      expect([...(await delivered(join(dir, 'A1'))).keys()].sort()).toEqual([...one, ...more].sort());
      expect(await delivered(join(dir, 'B2'))).toEqual(new Map([[waiting!, 'for two']]));
    } finally {
      await daemon.stop('SIGKILL');
    }
  });
});

describe.skipIf(spawnSync('sh', ['-c', 'command -v strace'], { stdio: 'ignore' }).status !== 0)(
  'consume --watch on NFS (needs strace: apt-get install strace)',
  () => {
    it('rides out stale file handles (errno -116, injected into the listing) and consumes the message once the mount answers again', async () => {
      expect((await fanout(['init', 'S', 'A'], { cwd: dir })).status).toBe(0);
      const [id] = await enqueue('S', ['hello']);
      expect((await fanout(['run', '--from', 'S', '--to', 'A'], { cwd: dir })).status).toBe(0);
      // The first 40 directory reads of the consumer fail with ESTALE (errno 116), as after an NFS server failover.
      // strace counts calls per thread: one pool thread does them all, so the outage ends after 40.
      const traced = startWrapped(
        [
          'strace',
          '-f',
          '-qq',
          '-o',
          '/dev/null',
          '-e',
          'trace=getdents64',
          '-e',
          'inject=getdents64:error=ESTALE:when=1..40',
        ],
        [
          'consume',
          `nfs://${join(dir, 'A')}`,
          '--watch',
          '--interval',
          '100',
          '--max-backoff',
          '200',
          '--exec',
          'cat >> got',
        ],
        { cwd: dir, env: { UV_THREADPOOL_SIZE: '1' } },
      );
      try {
        await waitFor('the down line', () => /consume nfs:\/\/.*: down: .*\(EIO\)/.test(traced.stderr()));
        await waitFor('the message consumed', async () => (await readdir(dir)).includes('got'), 40_000);
        await waitFor('the up line', () => /consume nfs:\/\/.*: up again/.test(traced.stderr()));
        expect(traced.exited()).toBe(false);
        const r = await traced.stop();
        expect(r.status).toBe(0);
        expect(countLines(r.stderr, /: down: /)).toBe(1);
        expect(countLines(r.stderr, /: up again/)).toBe(1);
        expect(await names(join(dir, 'A'))).toEqual([]);
        expect(await readFile(join(dir, 'got'), 'utf8')).toBe('hello');
        expect(id).toMatch(/^[0-9A-Z]{26}$/);
      } finally {
        await traced.stop('SIGKILL');
      }
    });
  },
);
