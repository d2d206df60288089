/**
 * Several processes on one source spool (issue 8): `fanout run --watch`
 * workers SIGKILLed at random and replaced, a `fanout recover` loop beside
 * them, messages enqueued while they run, and a `consume --watch` per
 * destination recording what it receives. Every message must reach every
 * destination's consumer exactly once, with its content intact.
 *
 * The random choices (contents, kill delays, which worker) come from a seeded
 * generator; the seed is printed and `FANOUT_WORKERS_SEED=<seed>` replays them
 * (process timing still varies from run to run).
 */
import { createHash, randomInt } from 'node:crypto';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type OwnerInfo } from '@fanout/core';
import { decodeMarker, encodeMarker, parseProtocolName } from '@fanout/core/internal';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { localOwner } from '../src/owner-probe.js';
import { type CliResult, fanout, lines, names, spawnFanout, tempDir } from './cli-harness.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(async () => cleanup());

/** mulberry32: small, seedable, good enough to pick delays and victims. */
function generator(seed: number): { int(lo: number, hi: number): number } {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)) };
}

function checksum(content: Buffer | string): string {
  return createHash('sha256').update(content).digest('hex').slice(0, 16);
}

const DESTINATIONS = ['A', 'B'] as const;
const INITIAL = 60;
const KILLS = 8;
const EXTRA_PER_KILL = 6;

/** A transform that passes content through unchanged but slowly, so that kills land inside transactions. */
const SLOW_TRANSFORM = `import { Transform } from 'node:stream';
export default () => new Transform({
  transform(chunk, _enc, cb) { setTimeout(() => cb(null, chunk), 2); },
  flush(cb) { setTimeout(cb, 30); },
});
`;

/** One `fanout run --watch` worker and what it said before it ended. */
interface Worker {
  readonly n: number;
  readonly child: ReturnType<typeof spawnFanout>['child'];
  readonly done: Promise<CliResult>;
  /** Messages it started and has not yet committed, failed or skipped. */
  readonly open: Set<string>;
  started: number;
  committed: number;
  recovered: number;
}

/**
 * How many markers in S owned by `pid` had taken at least one message (`p`, `k` or `b<ID>.<TX>` beside them), read
 * now. Recovery counts messages, and a record killed before it took any is retired with none to count; one
 * recovered while we looked is not counted here either.
 */
async function markersWithMessagesOf(pid: number): Promise<number> {
  const records: string[] = [];
  const takenBy = new Set<string>();
  for (const name of await names(join(dir, 'S'))) {
    const parsed = parseProtocolName(name);
    if (parsed.kind === 'record') records.push(parsed.tx);
    else if (parsed.kind === 'taken' || parsed.kind === 'committed' || parsed.kind === 'backout')
      takenBy.add(parsed.tx);
  }
  let n = 0;
  for (const tx of records.filter((t) => takenBy.has(t))) {
    try {
      if (decodeMarker(await readFile(join(dir, 'S', `m${tx}`), 'utf8'), { tx }).owner.pid === pid) n++;
    } catch {
      // Recovered (or half-read) while we looked: someone else has it.
    }
  }
  return n;
}

describe('several workers, recoverers and consumers on one spool', () => {
  it('delivers every message to every destination consumer exactly once through random SIGKILLs of workers', async () => {
    const seed = Number(process.env.FANOUT_WORKERS_SEED ?? randomInt(2 ** 31));
    const rng = generator(seed);
    const started = Date.now();
    console.log(`workers.e2e: seed ${seed} (replay with FANOUT_WORKERS_SEED=${seed})`);
    const where = `seed ${seed}`;

    expect((await fanout(['init', 'S', ...DESTINATIONS], { cwd: dir })).status, where).toBe(0);
    await writeFile(join(dir, 'slow.mjs'), SLOW_TRANSFORM);
    const expected = new Map<string, string>(); // id -> checksum
    /** What each process said about each message, to explain a failure. */
    const history = new Map<string, string[]>();
    const note = (id: string | undefined, what: string) =>
      id !== undefined && history.set(id, [...(history.get(id) ?? []), `${Date.now() - started}ms ${what}`]);
    let made = 0;
    const enqueue = async (count: number) => {
      const files: string[] = [];
      const sums: string[] = [];
      for (let k = 0; k < count; k++, made++) {
        // Distinct contents: the sequence number leads, random bytes follow.
        const content = Buffer.concat([
          Buffer.from(`message ${made} of seed ${seed}\n`),
          Buffer.from(Array.from({ length: rng.int(0, 8000) }, () => rng.int(0, 255))),
        ]);
        const file = `in${made}`;
        await writeFile(join(dir, file), content);
        files.push(file);
        sums.push(checksum(content));
      }
      const r = await fanout(['enqueue', 'S', ...files], { cwd: dir });
      expect(r.status, `${where}: enqueue: ${r.stderr}`).toBe(0);
      const ids = lines(r.stdout);
      expect(ids, where).toHaveLength(count);
      for (const [k, id] of ids.entries()) {
        expect(expected.has(id), `${where}: ${id} enqueued twice`).toBe(false);
        expected.set(id, sums[k]!);
      }
    };
    await enqueue(INITIAL);

    const runArgs = ['run', '--from', 'S', ...DESTINATIONS.flatMap((d) => ['--to', d]), '--transform', './slow.mjs'];
    const workers: Worker[] = [];
    const ended: Worker[] = [];
    let workerCount = 0;
    const startWorker = () => {
      const { child, done } = spawnFanout(
        [...runArgs, '--watch', '--interval', '50', '--recover-interval', '500', '--json'],
        { cwd: dir },
      );
      const w: Worker = { n: workerCount++, child, done, open: new Set(), started: 0, committed: 0, recovered: 0 };
      let buffered = '';
      child.stdout!.on('data', (chunk: string) => {
        buffered += chunk;
        const complete = buffered.split('\n');
        buffered = complete.pop()!;
        for (const line of complete) {
          const e = JSON.parse(line) as { type: string; id?: string; tx?: string; action?: string };
          note(
            e.id,
            `worker ${w.n} (pid ${child.pid}): ${e.type}${e.tx ? ` ${e.tx}` : ''}${e.action ? ` ${e.action}` : ''}`,
          );
          if (e.type === 'message-started') (w.open.add(e.id!), w.started++);
          else if (e.type === 'message-committed') (w.open.delete(e.id!), w.committed++);
          else if (e.type === 'message-failed' || e.type === 'message-skipped') w.open.delete(e.id!);
          else if (e.type === 'recovered') w.recovered++;
        }
      });
      workers.push(w);
    };
    for (let k = 0; k < 3; k++) startWorker();

    const logOf = (d: string) => join(dir, `log-${d}`);
    const record = (d: string) => `printf '%s %s\\n' "$FANOUT_ID" "$(sha256sum | cut -c1-16)" >> '${logOf(d)}'`;
    const consumers = DESTINATIONS.map((d) =>
      spawnFanout(['consume', d, '--watch', '--interval', '50', '--exec', record(d)], { cwd: dir }),
    );

    // A `fanout recover S` loop beside the live workers: it must leave their markers alone.
    let recovering = true;
    const recoverRuns: { rolledBack: number; rolledForward: number; status: number | null; stderr: string }[] = [];
    const recoverLoop = (async () => {
      while (recovering) {
        const r = await fanout(['recover', 'S', '--json'], { cwd: dir });
        for (const line of lines(r.stdout)) {
          const e = JSON.parse(line) as { type: string; id?: string; tx?: string; action?: string };
          if (e.type === 'recovered') note(e.id, `recover loop: ${e.tx} ${e.action}`);
        }
        const summary = JSON.parse(lines(r.stdout).at(-1) ?? '{}') as { rolledBack?: number; rolledForward?: number };
        recoverRuns.push({
          rolledBack: summary.rolledBack ?? 0,
          rolledForward: summary.rolledForward ?? 0,
          status: r.status,
          stderr: r.stderr,
        });
        await sleep(rng.int(20, 80));
      }
    })();

    let killedMidTransaction = 0;
    let markersLeft = 0;
    for (let k = 0; k < KILLS; k++) {
      // New messages, then a kill while the workers are likely busy with them (an enqueue takes a few hundred ms).
      const kill = sleep(rng.int(200, 400));
      await enqueue(EXTRA_PER_KILL);
      await sleep(rng.int(0, 60));
      await kill;
      // Prefer a worker that has a message in hand, so that most kills land inside a transaction.
      const busy = workers.filter((w) => w.open.size > 0);
      const victim = (busy.length > 0 ? busy : workers)[rng.int(0, (busy.length > 0 ? busy : workers).length - 1)]!;
      workers.splice(workers.indexOf(victim), 1);
      victim.child.kill('SIGKILL');
      for (const id of victim.open) note(id, `worker ${victim.n} SIGKILLed holding it`);
      // Awaiting 'close' reaps it: an unreaped zombie would still count as a live owner.
      const r = await victim.done;
      expect(r.signal, `${where}: worker ${victim.n}`).toBe('SIGKILL');
      if (victim.open.size > 0) killedMidTransaction++;
      markersLeft += await markersWithMessagesOf(victim.child.pid!);
      ended.push(victim);
      startWorker();
    }

    // A process still starting has no handler yet and would die of SIGTERM: feed messages until every
    // live worker has taken one (which also shows that each replacement joined in).
    for (let feeds = 0; workers.some((w) => w.started === 0); feeds++) {
      expect(feeds, `${where}: a replacement worker never took a message`).toBeLessThan(50);
      await enqueue(3);
      await sleep(50);
    }
    // Stop everything cleanly: workers and consumers finish what they hold.
    for (const w of workers) w.child.kill('SIGTERM');
    for (const c of consumers) c.child.kill('SIGTERM');
    recovering = false;
    for (const w of workers) {
      const r = await w.done;
      expect(r.status, `${where}: worker ${w.n} on SIGTERM: ${r.stderr}`).toBe(0);
      ended.push(w);
    }
    for (const c of consumers) {
      const r = await c.done;
      expect(r.status, `${where}: consumer on SIGTERM: ${r.stderr}`).toBe(0);
    }
    await recoverLoop;
    for (const r of recoverRuns) expect(r.status, `${where}: recover beside live workers: ${r.stderr}`).toBe(0);

    // Drain: recover, one last run, one last consume per destination.
    const rec = await fanout(['recover', 'S', '--json'], { cwd: dir });
    expect(rec.status, `${where}: final recover: ${rec.stderr}`).toBe(0);
    const finalRecovery = JSON.parse(lines(rec.stdout).at(-1)!) as { rolledBack: number; rolledForward: number };
    const last = await fanout([...runArgs, '--json'], { cwd: dir });
    expect(last.status, `${where}: final run: ${last.stderr}`).toBe(0);
    const lastSummary = JSON.parse(lines(last.stdout).at(-1)!) as {
      committed: number;
      rolledBack: number;
      rolledForward: number;
    };
    const lastRecovered = lastSummary.rolledBack + lastSummary.rolledForward;
    for (const d of DESTINATIONS) {
      const r = await fanout(['consume', d, '--exec', record(d)], { cwd: dir });
      expect(r.status, `${where}: final consume of ${d}: ${r.stderr}`).toBe(0);
    }

    // Every message exactly once in each destination's log, with its checksum; nothing else.
    for (const d of DESTINATIONS) {
      const seen = new Map<string, string[]>();
      for (const line of lines(await readFile(logOf(d), 'utf8'))) {
        const [id, sum] = line.split(' ') as [string, string];
        seen.set(id, [...(seen.get(id) ?? []), sum]);
      }
      for (const [id, sums] of seen) {
        expect(expected.has(id), `${where}: ${d} consumed ${id}, which was never enqueued`).toBe(true);
        expect(
          sums,
          `${where}: ${d} consumed ${id} ${sums.length} times (${sums.join(', ')}; ` +
            `enqueued ${expected.get(id)}):\n  ${(history.get(id) ?? []).join('\n  ')}`,
        ).toHaveLength(1);
        expect(sums[0], `${where}: ${d}: checksum of ${id}`).toBe(expected.get(id));
      }
      expect(
        [...expected.keys()].filter((id) => !seen.has(id)),
        `${where}: never consumed from ${d}`,
      ).toEqual([]);
    }
    expect(await names(join(dir, 'S')), `${where}: S at the end`).toEqual([]);
    for (const d of DESTINATIONS) expect(await names(join(dir, d)), `${where}: ${d} at the end`).toEqual([]);

    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    // Every marker a kill left holding messages was taken over by someone, or the end state above would not be clean.
    expect(
      sum(ended.map((w) => w.recovered)) +
        sum(recoverRuns.map((r) => r.rolledBack + r.rolledForward)) +
        finalRecovery.rolledBack +
        finalRecovery.rolledForward +
        lastRecovered,
      where,
    ).toBeGreaterThanOrEqual(markersLeft);
    console.log(
      `workers.e2e: seed ${seed}: ${expected.size} messages, ${workerCount} workers started, ${KILLS} SIGKILLs ` +
        `(${killedMidTransaction} with a message in hand, leaving ${markersLeft} markers with messages taken); ` +
        `workers committed ${sum(ended.map((w) => w.committed))} and ` +
        `recovered ${sum(ended.map((w) => w.recovered))} messages; ` +
        `${recoverRuns.length} recover runs beside them rolled ` +
        `back ${sum(recoverRuns.map((r) => r.rolledBack))}, ` +
        `forward ${sum(recoverRuns.map((r) => r.rolledForward))}; ` +
        `final recover ${finalRecovery.rolledBack} back / ${finalRecovery.rolledForward} forward, ` +
        `final run committed ${lastSummary.committed}; ${Date.now() - started} ms`,
    );
  }, 150_000); // real processes: it ran past 60 s on a loaded 2-core machine
});

describe('two recoverers racing on the same stale markers', () => {
  async function uuidOf(spool: string): Promise<string> {
    return (JSON.parse(await readFile(join(dir, spool, '.fanout-spool'), 'utf8')) as { uuid: string }).uuid;
  }

  async function deadOwner(): Promise<OwnerInfo> {
    const child = spawn(process.execPath, ['-e', '0']);
    await once(child, 'exit');
    return { ...localOwner(), pid: child.pid!, startTime: '' };
  }

  it('act on each marker exactly once between them', async () => {
    const ROUNDS = 4;
    const PER_ROUND = 40;
    const byWho = { first: 0, second: 0 };
    expect((await fanout(['init', 'S', 'A', 'B'], { cwd: dir })).status).toBe(0);
    const ref = async (s: string) => ({ uuid: await uuidOf(s), location: join(dir, s) });
    const source = await ref('S');
    const destinations = [await ref('A'), await ref('B')];
    for (let round = 0; round < ROUNDS; round++) {
      const where = `round ${round}`;
      // Half the markers name a message still in S (roll back), half one that was committed (roll forward).
      const owner = await deadOwner();
      const back: string[] = [];
      const forward: string[] = [];
      for (let k = 0; k < PER_ROUND; k++) {
        const id = `01RACE${round}X${k.toString().padStart(2, '0')}`;
        const tx = `TX${round}X${k}`.padStart(26, '0');
        const now = Date.now();
        await writeFile(
          join(dir, 'S', `m${tx}`),
          encodeMarker({
            ids: [id],
            tx,
            protocol: 'staged',
            source,
            destinations,
            owner,
            createdMs: now,
            leaseUntilMs: now + 600_000,
          }),
        );
        for (const d of ['A', 'B']) await writeFile(join(dir, d, `w${id}.${tx}`), `copy of ${id}`);
        if (k % 2 === 0) {
          await writeFile(join(dir, 'S', `p${id}.${tx}`), `copy of ${id}`);
          back.push(id);
        } else {
          await writeFile(join(dir, 'S', `k${id}.${tx}`), `copy of ${id}`);
          forward.push(id);
        }
      }

      const [one, two] = await Promise.all([
        fanout(['recover', 'S', '--json'], { cwd: dir }),
        fanout(['recover', 'S', '--json'], { cwd: dir }),
      ]);
      const actedOn = new Map<string, string[]>();
      for (const [who, r] of [
        ['first', one!],
        ['second', two!],
      ] as const) {
        expect(r.status, `${where}: ${who} recover: ${r.stderr}`).toBe(0);
        for (const line of lines(r.stdout)) {
          const e = JSON.parse(line) as { type: string; id?: string; action?: string };
          if (e.type !== 'recovered') continue;
          actedOn.set(e.id!, [...(actedOn.get(e.id!) ?? []), `${who} ${e.action}`]);
          byWho[who]++;
        }
      }
      for (const id of back)
        expect(
          actedOn.get(id)?.map((a) => a.split(' ')[1]),
          `${where}: ${id}: ${actedOn.get(id)?.join(', ')}`,
        ).toEqual(['rolled-back']);
      for (const id of forward)
        expect(
          actedOn.get(id)?.map((a) => a.split(' ')[1]),
          `${where}: ${id}: ${actedOn.get(id)?.join(', ')}`,
        ).toEqual(['rolled-forward']);

      // The end state of exactly one recovery per marker: no marker or claim left, copies rolled back or published.
      expect(await names(join(dir, 'S')), where).toEqual(back.map((id) => `s${id}`).sort());
      for (const d of ['A', 'B'])
        expect(await names(join(dir, d)), `${where}: ${d}`).toEqual(forward.map((id) => `d${id}`).sort());
      // Clear for the next round.
      for (const id of back) await rm(join(dir, 'S', `s${id}`));
      for (const id of forward) for (const d of ['A', 'B']) await rm(join(dir, d, `d${id}`));
    }
    console.log(
      `workers.e2e: racing recoverers: ${ROUNDS * PER_ROUND} stale markers, ` +
        `recovered ${byWho.first} by the first and ${byWho.second} by the second, none by both`,
    );
  });
});
