/**
 * What fanout needs of a shared filesystem that only two real GlusterFS FUSE clients of one volume can show: races
 * decided across the two mounts, one client's rename seen by the other, a file unlinked while open, a client cut off
 * from the server, and GlusterFS's rename (DHT: link + rename + unlink on the bricks) cut in the middle.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { lstat, open, readdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { FanoutError } from '@fanout/core';
import { NfsBackend } from '@fanout/fs-nfs';
import { bothConnected, copies, ctl, freshDir, gl, onBricks, outcomeOf, sleep, type ChildOutcome } from './env.js';

const RACE_CHILD = fileURLToPath(new URL('./children/race-child.mjs', import.meta.url));
const NAMES = 40;
const bytes = (text: string) => new TextEncoder().encode(text);

type RaceMode = 'excl' | 'publish' | 'link' | 'rename';
const MODES: readonly RaceMode[] = ['excl', 'publish', 'link', 'rename'];

interface RaceResult {
  readonly mode: RaceMode;
  readonly wins: number[];
  readonly errors: string[];
}

/** A contender's stdout, line by line, and a way to wait for a line. */
function linesOf(child: ChildProcess): (match: (line: string) => boolean) => Promise<string> {
  const seen: string[] = [];
  const waiting: { match: (line: string) => boolean; done: (line: string) => void }[] = [];
  let partial = '';
  child.stdout?.on('data', (d: Buffer) => {
    const lines = (partial + d.toString()).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      seen.push(line);
      for (const w of waiting.splice(0)) w.match(line) ? w.done(line) : waiting.push(w);
    }
  });
  return (match) => {
    const line = seen.find(match);
    return line !== undefined ? Promise.resolve(line) : new Promise((done) => waiting.push({ match, done }));
  };
}

/** The contenders of every race: a on client 1's mount, b on client 2's, each race in its own directory. */
const contenders = (() => {
  let started:
    | Promise<{
        dirs: Record<RaceMode, { a: string; b: string; rel: string }>;
        go: string;
        outcomes: Promise<ChildOutcome>[];
        lines: ((m: (l: string) => boolean) => Promise<string>)[];
      }>
    | undefined;
  return () =>
    (started ??= (async () => {
      const dirs = {} as Record<RaceMode, { a: string; b: string; rel: string }>;
      for (const mode of MODES) dirs[mode] = await freshDir(`race-${mode}`);
      // The fence race renames the same p<i> on both sides.
      for (let i = 0; i < NAMES; i++) await writeFile(join(dirs.rename.a, `p${i}`), `message ${i}`);
      const go = `/tmp/go-gluster-race-${process.pid}-${Date.now()}`;
      const kids = (['a', 'b'] as const).map((who) =>
        spawn(process.execPath, [RACE_CHILD, who, String(NAMES), go, ...MODES.map((m) => `${m}:${dirs[m][who]}`)], {
          stdio: ['ignore', 'pipe', 'pipe'],
        }),
      );
      return { dirs, go, outcomes: kids.map(outcomeOf), lines: kids.map(linesOf) };
    })());
})();

/** Run race `mode` between the two clients' contenders, started together. */
async function raceAcrossClients(mode: RaceMode) {
  const { dirs, go, outcomes, lines } = await contenders();
  await Promise.all(lines.map((l) => l((line) => line === `ready ${mode}`)));
  writeFileSync(`${go}.${mode}`, '');
  const [ra, rb] = await Promise.all(
    lines.map(async (l) => JSON.parse(await l((line) => line.startsWith(`{"mode":"${mode}"`))) as RaceResult),
  );
  expect([...ra!.errors, ...rb!.errors]).toEqual([]);
  if (mode === MODES.at(-1)) for (const o of await Promise.all(outcomes)) expect(o.stderr).toBe('');
  return { dir: dirs[mode], a: ra!.wins, b: rb!.wins };
}

function expectOneWinnerEach(a: number[], b: number[]): void {
  for (let i = 0; i < NAMES; i++) {
    expect({ i, winners: Number(a.includes(i)) + Number(b.includes(i)) }).toEqual({ i, winners: 1 });
  }
}

/** Where names `f<i>`/`w<i>.*` of `ids` are on the bricks: brick, name, mode, size, inode, link count. */
async function brickView(rel: string, ids: number[]): Promise<string[]> {
  const seen: string[] = [];
  for (const brick of gl.bricks) {
    for (const name of await readdir(join(brick, rel)).catch(() => [] as string[])) {
      const id = /^(?:f|w)(\d+)/.exec(name)?.[1];
      if (id === undefined || !ids.includes(Number(id))) continue;
      const st = await lstat(join(brick, rel, name)).catch(() => undefined);
      if (st !== undefined) {
        const content = st.size > 0 ? await readFile(join(brick, rel, name), 'utf8') : '';
        seen.push(
          `${brick.split('/').at(-1)}/${name} ${(st.mode & 0o7777).toString(8)} ${st.ino} n${st.nlink} '${content}'`,
        );
      }
    }
  }
  return seen;
}

/** Wait until `check` holds, up to `ms`. */
async function eventually(check: () => Promise<boolean>, ms: number, every = 200): Promise<boolean> {
  for (let waited = 0; waited < ms; waited += every) {
    if (await check()) return true;
    await sleep(every);
  }
  return check();
}

const exists = (path: string) =>
  lstat(path).then(
    () => true,
    () => false,
  );

describe(`two GlusterFS FUSE clients of one ${gl.type} volume`, () => {
  afterEach(async () => {
    // No test may leave a client cut off for the next one.
    await ctl('heal', 'gc1');
    await ctl('heal', 'gc2');
    await bothConnected();
  });

  it(`exclusive creates of ${NAMES} names raced from both clients: exactly one winner each, with its content`, async () => {
    const { dir, a, b } = await raceAcrossClients('excl');
    expectOneWinnerEach(a, b);
    for (let i = 0; i < NAMES; i++) {
      expect(await readFile(join(dir.b, `f${i}`), 'utf8')).toBe(a.includes(i) ? 'a' : 'b');
    }
    const bricks = await onBricks(dir.rel);
    for (let i = 0; i < NAMES; i++) expect({ i, copies: bricks.get(`f${i}`) }).toEqual({ i, copies });
  });

  it(`publishes (verified link + unlink) onto ${NAMES} names raced from both clients: one winner each, the loser keeps its file`, async () => {
    const { dir, a, b } = await raceAcrossClients('publish');
    const doubled = a.filter((i) => b.includes(i));
    if (doubled.length > 0)
      console.log(`gluster: publish won twice: ${JSON.stringify(await brickView(dir.rel, doubled))}`);
    expectOneWinnerEach(a, b);
    for (let i = 0; i < NAMES; i++) {
      const winner = a.includes(i) ? 'a' : 'b';
      const loser = winner === 'a' ? 'b' : 'a';
      expect(await readFile(join(dir.a, `f${i}`), 'utf8')).toBe(winner);
      expect(await readFile(join(dir.a, `w${i}.${loser}`), 'utf8')).toBe(loser);
      expect(await eventually(async () => !(await exists(join(dir.b, `w${i}.${winner}`))), 5_000)).toBe(true);
    }
  });

  it(`links of different files onto ${NAMES} names raced from both clients: one winner each`, async () => {
    const { dir, a, b } = await raceAcrossClients('link');
    expectOneWinnerEach(a, b);
    for (let i = 0; i < NAMES; i++) {
      expect(await readFile(join(dir.a, `f${i}`), 'utf8')).toBe(a.includes(i) ? 'a' : 'b');
    }
  });

  it(`the fence: a commit (p → k) on one client and a takeover (p → b) on the other, ${NAMES} times: exactly one wins each`, async () => {
    const { dir, a, b } = await raceAcrossClients('rename');
    expectOneWinnerEach(a, b);
    const bricks = await onBricks(dir.rel);
    for (let i = 0; i < NAMES; i++) {
      const kept = a.includes(i) ? `k${i}` : `b${i}`;
      const lost = a.includes(i) ? `b${i}` : `k${i}`;
      expect(await readFile(join(dir.b, kept), 'utf8')).toBe(`message ${i}`);
      expect({ i, kept: bricks.get(kept), lost: bricks.get(lost), p: bricks.get(`p${i}`) }).toEqual({
        i,
        kept: copies,
        lost: undefined,
        p: undefined,
      });
    }
  });

  it("a consumer's claim (rename d → c) on one client: the other's claim of the same message gets ENOENT, though its cache may still show d", async () => {
    const dir = await freshDir('claim');
    const one = new NfsBackend({ root: dir.a });
    const two = new NfsBackend({ root: dir.b });
    for (let i = 0; i < 20; i++) await one.createExclusive(`d${i}`, bytes(`message ${i}`));
    for (let i = 0; i < 20; i++) expect(await two.stat(`d${i}`)).toBeDefined();
    let stillCached = 0;
    for (let i = 0; i < 20; i++) {
      await one.rename(`d${i}`, `c${i}.consumer1`);
      if ((await two.stat(`d${i}`)) !== undefined) stillCached++;
      await expect(two.rename(`d${i}`, `c${i}.consumer2`)).rejects.toMatchObject({ code: 'ENOENT' });
      expect(await readFile(join(dir.b, `c${i}.consumer1`), 'utf8')).toBe(`message ${i}`);
    }
    console.log(`gluster: claim: client 2 still saw ${stillCached}/20 claimed d files right after the claim`);
    const bricks = await onBricks(dir.rel);
    expect([...bricks.keys()].sort()).toEqual(Array.from({ length: 20 }, (_, i) => `c${i}.consumer1`).sort());
  });

  it('a rename on one client, watched from the other and on the bricks: one name once it returns (both meanwhile recorded)', async () => {
    const dir = await freshDir('watch');
    const one = new NfsBackend({ root: dir.a });
    let bothListed = 0;
    let bothOnBricks = 0;
    let neither = 0;
    for (let i = 0; i < 30; i++) {
      await one.createExclusive(`d${i}`, bytes(`message ${i}`));
      let done = false;
      const watch = (async () => {
        while (!done) {
          const listed = await readdir(dir.b);
          const hasD = listed.includes(`d${i}`);
          const hasC = listed.includes(`c${i}.x`);
          if (hasD && hasC) bothListed++;
          const bricks = await onBricks(dir.rel);
          if (bricks.has(`d${i}`) && bricks.has(`c${i}.x`)) bothOnBricks++;
          if (!bricks.has(`d${i}`) && !bricks.has(`c${i}.x`)) neither++;
        }
      })();
      await sleep(5);
      await one.rename(`d${i}`, `c${i}.x`);
      done = true;
      await watch;
      const bricks = await onBricks(dir.rel);
      expect({ i, d: bricks.get(`d${i}`), c: bricks.get(`c${i}.x`) }).toEqual({ i, d: undefined, c: copies });
    }
    // A record of GlusterFS's rename, not an assertion: DHT makes the new name as a hard link, then drops the old.
    // (A brick scan is no snapshot: a name can move between two bricks' listings, so "neither" is only recorded.)
    console.log(
      `gluster: rename watched: both names listed on client 2 ${bothListed} times, ` +
        `both on the bricks ${bothOnBricks} times, neither ${neither} times (30 renames)`,
    );
  });

  it('a file unlinked while open stays readable there, is listed nowhere (no .nfs… or .fuse_hidden… name), and is gone once closed', async () => {
    const dir = await freshDir('unlinked-open');
    const one = new NfsBackend({ root: dir.a });
    const two = new NfsBackend({ root: dir.b });
    await one.createExclusive('d1', bytes('held open'));
    const handle = await open(join(dir.a, 'd1'), 'r');
    const other = await open(join(dir.b, 'd1'), 'r');
    try {
      expect(await one.remove('d1')).toBe(true);
      const names: string[] = [];
      for await (const entry of one.list()) names.push(entry.name);
      for await (const entry of two.list()) names.push(entry.name);
      expect(names).toEqual([]);
      const buffer = Buffer.alloc(9);
      expect((await handle.read(buffer, 0, 9, 0)).bytesRead).toBe(9);
      expect(buffer.toString()).toBe('held open');
      // The other client's open file too: the brick keeps it while a client holds it.
      const read = await other.read(Buffer.alloc(9), 0, 9, 0).then(
        (r) => `read ${r.bytesRead}`,
        (e: { code?: string }) => e.code ?? 'error',
      );
      console.log(`gluster: a file removed on client 1 while open on client 2: client 2's read gave ${read}`);
    } finally {
      await handle.close();
      await other.close();
    }
    // Client 2's attribute cache may know the name for about a second.
    expect(await eventually(async () => (await two.stat('d1')) === undefined, 10_000)).toBe(true);
    expect([...(await onBricks(dir.rel)).keys()]).toEqual([]);
  });

  it('a message read on one client while the other removes it: all of it, or a FanoutError naming the file', async () => {
    const dir = await freshDir('removed-while-read');
    const one = new NfsBackend({ root: dir.a, retry: { tries: 2 } });
    const two = new NfsBackend({ root: dir.b, retry: { tries: 2 } });
    await one.createExclusive('dgone', new Uint8Array(4 * 1024 * 1024).fill(7));
    const chunks = two.read('dgone')[Symbol.asyncIterator]();
    let total = (await chunks.next()).value?.length ?? 0;
    await one.remove('dgone');
    let failure: unknown;
    try {
      for (let c = await chunks.next(); !c.done; c = await chunks.next()) total += c.value.length;
    } catch (err) {
      failure = err;
    }
    if (failure === undefined) expect(total).toBe(4 * 1024 * 1024);
    else {
      expect(failure).toBeInstanceOf(FanoutError);
      expect((failure as FanoutError).file).toBe('dgone');
    }
    expect(await eventually(async () => (await two.stat('dgone')) === undefined, 10_000)).toBe(true);
  });

  it('a client cut off from the server: its calls fail (after ping-timeout) as EUNAVAILABLE naming the file, the other client carries on, and it works again once healed', async () => {
    const dir = await freshDir('cut-off');
    const one = new NfsBackend({ root: dir.a, retry: { tries: 2, maxDelayMs: 50 } });
    const two = new NfsBackend({ root: dir.b });
    await one.createExclusive('before', bytes('before'));
    await ctl('partition', 'gc1');
    const started = Date.now();
    const [cut, carried] = await Promise.allSettled([
      one.createExclusive('s-cut', bytes('written while cut off')),
      two.createExclusive('s-other', bytes('the other host')),
    ]);
    const seconds = (Date.now() - started) / 1000;
    console.log(
      `gluster: cut off: client 1's create failed after ${seconds.toFixed(1)} s with ` +
        (cut.status === 'rejected'
          ? `${(cut.reason as FanoutError).code}: ${(cut.reason as Error).message}`
          : 'no error'),
    );
    expect(carried.status).toBe('fulfilled');
    expect(cut.status).toBe('rejected');
    expect(cut.status === 'rejected' ? cut.reason : undefined).toMatchObject({ code: 'EUNAVAILABLE', file: 's-cut' });
    await ctl('heal', 'gc1');
    // The client reconnects by itself within a few seconds.
    expect(await eventually(async () => (await one.stat('s-other').catch(() => undefined)) !== undefined, 30_000)).toBe(
      true,
    );
    await one.createExclusive('after', bytes('after'));
    expect(await readFile(join(dir.b, 'after'), 'utf8')).toBe('after');
    // What the cut-off create left: never the name itself (its link never ran), at most a temp for recovery.
    expect(await two.stat('s-cut')).toBeUndefined();
    const left: string[] = [];
    for await (const entry of two.list()) left.push(entry.name);
    expect(left.filter((n) => !n.startsWith('t')).sort()).toEqual(['after', 'before', 's-other']);
  });

  it('a client cut off in the middle of renames: each message keeps one name, or both names of the one file, which fs-nfs then completes', async () => {
    const dir = await freshDir('cut-renames');
    const one = new NfsBackend({ root: dir.a, retry: { tries: 1 } });
    const two = new NfsBackend({ root: dir.b });
    const N = 200;
    for (let i = 0; i < N; i++) await writeFile(join(dir.a, `p${i}`), `message ${i}`);
    let cutAt = -1;
    const outcomes: string[] = [];
    const renames = (async () => {
      for (let i = 0; i < N; i++) {
        await one.rename(`p${i}`, `k${i}`).then(
          () => outcomes.push('ok'),
          (e: FanoutError) => outcomes.push(e.code),
        );
        if (cutAt >= 0 && outcomes.length > cutAt + 2) break;
      }
    })();
    await sleep(300);
    await ctl('partition', 'gc1');
    cutAt = outcomes.length;
    await renames;
    await ctl('heal', 'gc1');
    // On the bricks (the union of both replicas) a rename cut in the middle can show both names: one brick renamed,
    // the other not yet (AFR heals it later). What a client sees is one name, or both names of the one file when the
    // rename itself was cut between its steps; fs-nfs's rename, asked again, completes the latter.
    const bricks = await onBricks(dir.rel);
    const onBricksBoth: number[] = [];
    const seenBoth: number[] = [];
    for (let i = 0; i < N; i++) {
      const p = bricks.has(`p${i}`);
      const k = bricks.has(`k${i}`);
      expect({ i, onBricks: p || k }).toEqual({ i, onBricks: true });
      if (p && k) onBricksBoth.push(i);
      const seenP = (await two.stat(`p${i}`)) !== undefined;
      const seenK = (await two.stat(`k${i}`)) !== undefined;
      expect({ i, seen: seenP || seenK }).toEqual({ i, seen: true });
      if (seenP && seenK) seenBoth.push(i);
    }
    console.log(
      `gluster: cut off during ${outcomes.length} renames (${outcomes.filter((o) => o === 'ok').length} ok, ` +
        `${[...new Set(outcomes.filter((o) => o !== 'ok'))].join(', ')}): both names on the bricks for ` +
        `${onBricksBoth.length}, both names seen by the other client for ${seenBoth.length}`,
    );
    // A rename asked again completes a half-done one: the old name goes, the new one is the file.
    for (const i of seenBoth) {
      await two.rename(`p${i}`, `k${i}`);
      expect(await two.stat(`p${i}`)).toBeUndefined();
      expect(await readFile(join(dir.b, `k${i}`), 'utf8')).toBe(`message ${i}`);
    }
  });
});
