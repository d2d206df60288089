/**
 * Real-process crash test (docs/DESIGN.md §7, tier 4): SIGKILL `fanout run` (and
 * sometimes `fanout recover`) at random moments on a real directory, recover,
 * finish, and check the invariants of docs/DESIGN.md §4 by reading the spools.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fanout, lines, names, spawnFanout, tempDir } from './cli-harness.js';

const ITERATIONS = Number(process.env.FANOUT_KILL_ITERATIONS ?? 25);
const MESSAGES = 30;
const DESTINATIONS = ['A', 'B'] as const;

/**
 * Start `fanout` and SIGKILL it at its k-th JSON event line, or a random delay
 * after its first one (counted from there, not from the spawn, so that the
 * process's start-up time does not decide where the kill lands).
 */
async function killMidway(
  args: string[],
  cwd: string,
  how: { delayMs: number } | { afterLines: number },
): Promise<void> {
  const { child, done } = spawnFanout([...args, '--json'], { cwd });
  let seen = 0;
  child.stdout!.on('data', (chunk: string) => {
    const before = seen;
    seen += chunk.split('\n').length - 1;
    if ('afterLines' in how && seen >= how.afterLines) child.kill('SIGKILL');
    if ('delayMs' in how && before === 0 && seen > 0) setTimeout(() => child.kill('SIGKILL'), how.delayMs);
  });
  // Awaiting 'close' reaps the process: an unreaped zombie would still look alive to recovery.
  await done;
}

/** Everything in a spool, by name, with contents of regular protocol files. */
async function snapshot(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const n of await names(dir)) out.set(n, /^[sd]/.test(n) ? await readFile(join(dir, n), 'utf8') : '');
  return out;
}

describe('SIGKILL of fanout run at random moments', () => {
  it(`never loses, duplicates or exposes a message (${ITERATIONS} kills)`, async () => {
    for (let iteration = 0; iteration < ITERATIONS; iteration++) {
      const { dir, cleanup } = await tempDir();
      try {
        const batch = randomInt(1, 5);
        const concurrency = randomInt(1, 4);
        const how = iteration % 2 === 0 ? { delayMs: randomInt(0, 150) } : { afterLines: randomInt(1, 2 * MESSAGES) };
        const killRecoverToo = iteration % 3 === 2;
        const where =
          `iteration ${iteration}: batch ${batch}, concurrency ${concurrency}, ` +
          `kill ${JSON.stringify(how)}${killRecoverToo ? ', recover killed too' : ''}`;

        expect((await fanout(['init', 'S', 'A', 'B'], { cwd: dir })).status, where).toBe(0);
        const files: string[] = [];
        const contents: string[] = [];
        for (let k = 0; k < MESSAGES; k++) {
          const content = `message ${k} of ${iteration}\n${randomBytes(randomInt(0, 6000)).toString('base64')}`;
          contents.push(content);
          files.push(`in${k}`);
          await writeFile(join(dir, `in${k}`), content);
        }
        const enq = await fanout(['enqueue', 'S', ...files], { cwd: dir });
        expect(enq.status, where).toBe(0);
        const ids = lines(enq.stdout);
        expect(ids, where).toHaveLength(MESSAGES);
        const expected = new Map(ids.map((id, k) => [id, contents[k]!]));

        await killMidway(
          [
            'run',
            '--from',
            'S',
            '--to',
            'A',
            '--to',
            'B',
            '--batch',
            String(batch),
            '--concurrency',
            String(concurrency),
          ],
          dir,
          how,
        );

        // Invariant 3 (staged), before any recovery: a d<id> exists only if s<id> is gone, and is complete.
        const s0 = await snapshot(join(dir, 'S'));
        for (const d of DESTINATIONS) {
          for (const [name, content] of await snapshot(join(dir, d))) {
            if (!name.startsWith('d')) continue;
            const id = name.slice(1);
            expect(s0.has(`s${id}`), `${where}: ${d}/${name} visible while s${id} is in S`).toBe(false);
            expect(content, `${where}: ${d}/${name} content`).toBe(expected.get(id));
          }
        }

        if (killRecoverToo) await killMidway(['recover', 'S'], dir, { delayMs: randomInt(0, 10) });
        const rec = await fanout(['recover', 'S'], { cwd: dir });
        expect(rec.status, `${where}: recover: ${rec.stderr}`).toBe(0);

        // Invariants 1 and 2 after recovery: each message is either still in S (and nowhere else) or in every
        // destination (and not in S).
        const s1 = await snapshot(join(dir, 'S'));
        const dests = await Promise.all(DESTINATIONS.map((d) => snapshot(join(dir, d))));
        for (const [id, content] of expected) {
          const inSource = s1.has(`s${id}`);
          for (const [i, d] of DESTINATIONS.entries()) {
            const copy = dests[i]!.get(`d${id}`);
            if (inSource) expect(copy, `${where}: ${id} both in S and in ${d}`).toBeUndefined();
            else expect(copy, `${where}: ${id} gone from S but not (exactly) in ${d}`).toBe(content);
          }
          if (inSource) expect(s1.get(`s${id}`), `${where}: s${id} content`).toBe(content);
        }
        expect(
          [...s1.keys()].filter((n) => !n.startsWith('s')),
          `${where}: S after recover`,
        ).toEqual([]);
        for (const [i, d] of DESTINATIONS.entries()) {
          expect(
            [...dests[i]!.keys()].filter((n) => !n.startsWith('d')),
            `${where}: ${d} after recover`,
          ).toEqual([]);
        }

        const finish = await fanout(['run', '--from', 'S', '--to', 'A', '--to', 'B'], { cwd: dir });
        expect(finish.status, `${where}: final run: ${finish.stderr}`).toBe(0);

        // The end state: S empty; every message exactly once in every destination, byte for byte.
        expect(await names(join(dir, 'S')), where).toEqual([]);
        const want = new Map([...expected].map(([id, c]) => [`d${id}`, c]));
        for (const d of DESTINATIONS) expect(await snapshot(join(dir, d)), `${where}: ${d} at the end`).toEqual(want);
      } finally {
        await cleanup();
      }
    }
  }, 180_000);
});

describe('SIGTERM and SIGINT of fanout run', () => {
  for (const [signal, status] of [
    ['SIGTERM', 143],
    ['SIGINT', 130],
  ] as const) {
    it(`finishes the messages in flight on ${signal}, leaves no marker, and exits ${status}`, async () => {
      const { dir, cleanup } = await tempDir();
      try {
        await fanout(['init', 'S', 'A'], { cwd: dir });
        const files: string[] = [];
        for (let k = 0; k < 200; k++) {
          files.push(`in${k}`);
          await writeFile(join(dir, `in${k}`), `m${k}`);
        }
        const ids = lines((await fanout(['enqueue', 'S', ...files], { cwd: dir })).stdout);
        const { child, done } = spawnFanout(['run', '--from', 'S', '--to', 'A', '--json'], { cwd: dir });
        let sent = false;
        child.stdout!.on('data', () => {
          if (!sent) child.kill(signal);
          sent = true;
        });
        const r = await done;
        expect(r.status).toBe(status);
        expect(r.stderr).toContain(`${signal}: finishing or rolling back the messages in flight`);
        const summary = JSON.parse(lines(r.stdout).at(-1)!) as {
          type: string;
          interrupted: boolean;
          committed: number;
        };
        expect(summary).toMatchObject({ type: 'summary', interrupted: true });
        // No recovery needed: every message is either still in S or delivered, and no protocol file is left.
        const s = await names(join(dir, 'S'));
        const a = await names(join(dir, 'A'));
        expect(s.every((n) => n.startsWith('s'))).toBe(true);
        expect(a.every((n) => n.startsWith('d'))).toBe(true);
        expect([...s, ...a].map((n) => n.slice(1)).sort()).toEqual([...ids].sort());
        expect(a).toHaveLength(summary.committed);
      } finally {
        await cleanup();
      }
    });
  }
});

describe('fanout run --watch', () => {
  it('fans out messages enqueued while it runs, and ends with the status of its work on SIGTERM', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      await fanout(['init', 'S', 'A'], { cwd: dir });
      const { child, done } = spawnFanout(
        ['run', '--from', 'S', '--to', 'A', '--watch', '--interval', '50', '--json'],
        { cwd: dir },
      );
      const [id] = lines((await fanout(['enqueue', 'S'], { cwd: dir, input: 'late arrival' })).stdout);
      child.stdout!.on('data', (chunk: string) => {
        if (chunk.includes('"message-committed"')) child.kill('SIGTERM');
      });
      const r = await done;
      expect(r.status).toBe(0);
      expect(JSON.parse(lines(r.stdout).at(-1)!)).toMatchObject({ type: 'summary', committed: 1, interrupted: true });
      expect(await names(join(dir, 'A'))).toEqual([`d${id}`]);
      expect(await names(join(dir, 'S'))).toEqual([]);
    } finally {
      await cleanup();
    }
  });
});
