/**
 * Poison messages and the queue commands, through the built binary (issue
 * 16, items 2 and 3): a message whose transform always fails is held after
 * `--max-attempts` while the good ones are delivered (with and without
 * `--watch`); a failing `consume --exec` holds it in the destination;
 * `list`, `show`, `hold`, `release`, `delete` and their JSON; the commands
 * racing a running worker; and the way out of a quarantined record. On the
 * code before them every test fails: the commands and flags did not exist,
 * and a poison message was retried forever.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { encodeMarker } from '@fanout/core/internal';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { localOwner } from '../src/owner-probe.js';
import { delivered, fanout, jsonEvent, lines, names, spawnFanout, tempDir } from './cli-harness.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(async () => cleanup());

/**
 * A transform module: ids listed in $POISON fail (ETRANSFORM), each call is logged to calls.log; $SLOW_MS delays every
 * message.
 */
const TRANSFORM = `
import { appendFileSync } from 'node:fs';
import { Transform } from 'node:stream';
export default ({ id }) => {
  appendFileSync(new URL('./calls.log', import.meta.url), id + '\\n');
  const slow = Number(process.env.SLOW_MS ?? 0);
  if ((process.env.POISON ?? '').split(',').includes(id))
    return new Transform({ transform(c, e, done) { done(new Error('cannot parse ' + id)); } });
  if (process.env.AS_STRING === id) return 'replaced content';
  if (slow > 0) return new Transform({ transform(c, e, done) { setTimeout(() => done(null, c), slow); } });
  return undefined;
};
`;

async function setUp(messages: number): Promise<string[]> {
  await fanout(['init', 'S', 'A', 'B'], { cwd: dir });
  await writeFile(join(dir, 'transform.mjs'), TRANSFORM);
  const ids: string[] = [];
  for (let i = 0; i < messages; i++)
    ids.push(lines((await fanout(['enqueue', 'S'], { cwd: dir, input: `message ${i}\n` })).stdout)[0]!);
  return ids;
}

async function calls(id: string): Promise<number> {
  const file = join(dir, 'calls.log');
  return existsSync(file) ? lines(await readFile(file, 'utf8')).filter((l) => l === id).length : 0;
}

async function waitFor(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

const run = (extra: string[] = [], env: NodeJS.ProcessEnv = {}) =>
  fanout(['run', '--from', 'S', '--to', 'A', '--to', 'B', '--transform', './transform.mjs', ...extra], {
    cwd: dir,
    env,
  });

describe('poison messages', () => {
  it('holds a message whose transform always throws after --max-attempts runs, while the good ones are delivered', async () => {
    const [bad, ...good] = await setUp(3);
    const env = { POISON: bad! };
    const first = await run(['--max-attempts', '2'], env);
    expect(first.status).toBe(1);
    expect(first.stderr).toContain(
      `s${bad}: transform for ${join(dir, 'A')} failed: cannot parse ${bad} (ETRANSFORM) [failed attempt 1 of 2]`,
    );
    expect([...(await delivered(join(dir, 'A'))).keys()].sort()).toEqual([...good].sort());
    expect(await names(join(dir, 'S'))).toContain(`s${bad}`);
    const second = await run(['--max-attempts', '2'], env);
    expect(second.stderr).toContain(`held after 2 failed attempts (h${bad}.s)`);
    expect(await names(join(dir, 'S'))).toContain(`h${bad}.s`);
    // Held: no run takes it again.
    const third = await run(['--max-attempts', '2'], env);
    expect(third.status).toBe(0);
    expect(await calls(bad!)).toBe(2 * 2); // two runs, two destinations
    const held = lines((await fanout(['list', 'S', '--state', 'held', '--json'], { cwd: dir })).stdout).map(
      (l) => jsonEvent(l) as Record<string, unknown>,
    );
    expect(held).toHaveLength(1);
    expect(held[0]).toMatchObject({ id: bad, state: 'held', attempts: 2, lastError: { code: 'ETRANSFORM' } });
    expect([...(await delivered(join(dir, 'B'))).keys()].sort()).toEqual([...good].sort());
  });

  it('holds it under run --watch too, without retrying it forever', async () => {
    const [bad, good] = await setUp(2);
    const { child, done } = spawnFanout(
      [
        'run',
        '--from',
        'S',
        '--to',
        'A',
        '--to',
        'B',
        '--transform',
        './transform.mjs',
        '--watch',
        '--interval',
        '50',
        '--max-attempts',
        '3',
        '--json',
      ],
      {
        cwd: dir,
        env: { POISON: bad! },
      },
    );
    await waitFor('the poison message to be held', () => existsSync(join(dir, 'S', `h${bad}.s`)));
    await sleep(400); // several more passes
    child.kill('SIGTERM');
    const r = await done;
    expect(r.status).toBe(1); // some messages failed (one is held)
    const events = lines(r.stdout).map((l) => jsonEvent(l) as { type: string; id?: string; attempts?: number });
    expect(events.filter((e) => e.type === 'message-failed' && e.id === bad).map((e) => e.attempts)).toEqual([1, 2, 3]);
    expect(events.filter((e) => e.type === 'message-held' && e.id === bad)).toHaveLength(1);
    expect(await calls(bad!)).toBe(3 * 2);
    expect([...(await delivered(join(dir, 'A'))).keys()]).toEqual([good]);
  });

  it('treats a transform that gives a string instead of a stream as the message failing (ETRANSFORM), never as its content', async () => {
    const [odd, good] = await setUp(2);
    const r = await run(['--max-attempts', '1'], { AS_STRING: odd! });
    expect(r.stderr).toContain(`s${odd}: transform for ${join(dir, 'A')} returned a string, not a stream`);
    expect(r.stderr).toContain('(ETRANSFORM)');
    expect(await names(join(dir, 'S'))).toContain(`h${odd}.s`);
    expect([...(await delivered(join(dir, 'A'))).keys()]).toEqual([good]);
  });

  it('holds a delivered message in the destination after consume --exec failed --max-attempts times', async () => {
    const [id] = await setUp(1);
    await run();
    const failing = ['consume', 'A', '--exec', 'echo "$FANOUT_ID" >> execs.log; exit 3', '--max-attempts', '2'];
    const one = await fanout(failing, { cwd: dir });
    expect(one.status).toBe(1);
    expect(one.stderr).toContain('command exited with status 3');
    expect(one.stderr).toContain('[failed attempt 1 of 2]');
    expect(await names(join(dir, 'A'))).toContain(`d${id}`);
    const two = await fanout(failing, { cwd: dir });
    expect(two.stderr).toContain(
      `command exited with status 3; message held after 2 failed ` +
        `attempts (h${id}.d; \`fanout release ${join(dir, 'A')} ${id}\``,
    );
    expect(await names(join(dir, 'A'))).toContain(`h${id}.d`);
    // Held: the next consumer is not handed it.
    await fanout(failing, { cwd: dir });
    expect(lines(await readFile(join(dir, 'execs.log'), 'utf8'))).toHaveLength(2);
    const show = jsonEvent((await fanout(['show', 'A', id!, '--json'], { cwd: dir })).stdout) as Record<
      string,
      unknown
    >;
    expect(show).toMatchObject({ id, state: 'held', attempts: 2, name: `h${id}.d` });
    // Released (count reset), it is consumed by a command that works.
    expect((await fanout(['release', 'A', id!], { cwd: dir })).status).toBe(0);
    const ok = await fanout(['consume', 'A', '--exec', 'cat > out.txt', '--max-attempts', '2'], { cwd: dir });
    expect(ok.status).toBe(0);
    expect(await readFile(join(dir, 'out.txt'), 'utf8')).toBe('message 0\n');
    expect(await names(join(dir, 'A'))).toEqual([]);
  });
});

describe('list and show', () => {
  it('list prints one line per message (id, size, age, state, attempts, last error), --json one object each, --state filters', async () => {
    const [a, b, c] = await setUp(3);
    await run(['--max-attempts', '5'], { POISON: `${a},${b}` });
    expect((await fanout(['hold', 'S', b!], { cwd: dir })).status).toBe(0);
    const [late] = lines((await fanout(['enqueue', 'S'], { cwd: dir, input: 'late\n' })).stdout);
    const human = lines((await fanout(['list', 'S'], { cwd: dir })).stdout);
    expect(human[0]).toBe('ID\tSIZE\tAGE\tSTATE\tATTEMPTS\tLAST ERROR');
    const row = human.find((l) => l.startsWith(a!))!.split('\t');
    expect(row).toEqual([
      a,
      '10 B',
      expect.stringMatching(/ (ms|s)$/),
      'failed',
      '1',
      `ETRANSFORM: transform for ${join(dir, 'A')} failed: cannot parse ${a}`,
    ]);
    expect(
      human
        .find((l) => l.startsWith(b!))!
        .split('\t')
        .slice(3, 5),
    ).toEqual(['held', '1']);
    expect(
      human
        .find((l) => l.startsWith(late!))!
        .split('\t')
        .slice(3),
    ).toEqual(['waiting', '0', '-']);
    const json = lines((await fanout(['list', 'S', '--json'], { cwd: dir })).stdout).map(
      (l) => jsonEvent(l) as Record<string, unknown>,
    );
    for (const m of json) for (const key of ['id', 'state', 'size', 'ageMs', 'attempts']) expect(m).toHaveProperty(key);
    expect(json.map((m) => m.state).sort()).toEqual(['failed', 'held', 'waiting']);
    expect(
      lines((await fanout(['list', 'S', '--state', 'failed', '--json'], { cwd: dir })).stdout).map(
        (l) => (jsonEvent(l) as { id: string }).id,
      ),
    ).toEqual([a]);
    expect((await fanout(['list', 'A', '--json'], { cwd: dir })).stdout).toContain(`"id":"${c}"`);
  });

  it('show prints everything about one message, --json as an object, --content the message itself; no such message exits 7', async () => {
    const [id] = await setUp(1);
    await run(['--max-attempts', '1'], { POISON: id! });
    const human = (await fanout(['show', 'S', id!], { cwd: dir })).stdout;
    expect(human).toContain(`id: ${id}\n`);
    expect(human).toContain(`file: h${id}.s\n`);
    expect(human).toContain('state: held\n');
    expect(human).toContain('size: 10 bytes');
    expect(human).toContain('attempts: 1\n');
    expect(human).toContain(`last error: ETRANSFORM: transform for ${join(dir, 'A')} failed: cannot parse ${id}\n`);
    expect(jsonEvent((await fanout(['show', 'S', id!, '--json'], { cwd: dir })).stdout)).toMatchObject({
      id,
      state: 'held',
      size: 10,
      attempts: 1,
    });
    expect((await fanout(['show', 'S', id!, '--content'], { cwd: dir })).stdout).toBe('message 0\n');
    const missing = await fanout(['show', 'S', '01J9Z3K6Y8M2Q4R5S6T7V8W9X0'], { cwd: dir });
    expect(missing.status).toBe(7);
    expect(missing.stderr).toContain('s01J9Z3K6Y8M2Q4R5S6T7V8W9X0: no such message (ENOENT)');
  });
});

describe('hold, release and delete', () => {
  it('hold, release (count reset) and delete one message; - reads ids from stdin; --all-held; a missing one exits 7', async () => {
    const ids = await setUp(3);
    await run(['--max-attempts', '1'], { POISON: ids.join(',') });
    expect((await names(join(dir, 'S'))).filter((n) => n.startsWith('h'))).toHaveLength(3);
    const released = await fanout(['release', 'S', '-', '--json'], { cwd: dir, input: `${ids[0]}\n` });
    expect(jsonEvent(released.stdout)).toEqual({ id: ids[0], outcome: 'released', name: `s${ids[0]}` });
    expect(jsonEvent((await fanout(['show', 'S', ids[0]!, '--json'], { cwd: dir })).stdout)).toMatchObject({
      state: 'waiting',
      attempts: 0,
    });
    expect((await fanout(['hold', 'S', ids[0]!], { cwd: dir })).stdout).toBe(`${ids[0]}\theld\th${ids[0]}.s\n`);
    const del = await fanout(['delete', 'S', '--all-held'], { cwd: dir });
    expect(del.status).toBe(0);
    expect(lines(del.stdout).sort()).toEqual(ids.map((id) => `${id}\tdeleted`).sort());
    expect(await names(join(dir, 'S'))).toEqual([]);
    const again = await fanout(['delete', 'S', ids[0]!], { cwd: dir });
    expect(again.status).toBe(7);
    const notHeld = await fanout(['release', 'S', '--all-held'], { cwd: dir });
    expect(notHeld.status).toBe(0);
  });

  it('refuses (exit 5) to hold or delete a message a worker holds, and to delete one an attempt record still lists', async () => {
    const [id] = await setUp(1);
    const { child, done } = spawnFanout(
      ['run', '--from', 'S', '--to', 'A', '--to', 'B', '--transform', './transform.mjs', '--watch', '--interval', '50'],
      { cwd: dir, env: { SLOW_MS: '12000' } },
    );
    // The transform holds the attempt open long enough for two CLI starts on a loaded machine (3 s was not).
    await waitFor('the worker to take the message', async () =>
      (await names(join(dir, 'S'))).some((n) => n.startsWith(`p${id}.`)),
    );
    const hold = await fanout(['hold', 'S', id!], { cwd: dir });
    expect(hold.status).toBe(5);
    expect(hold.stderr).toMatch(
      /is in flight \(an attempt holds it as p.+\); nothing changed, try again later \(EINFLIGHT\)/,
    );
    const del = await fanout(['delete', 'S', id!, '--json'], { cwd: dir });
    expect(del.status).toBe(5);
    expect((jsonEvent(del.stdout) as { error: { code: string } }).error.code).toBe('EINFLIGHT');
    await waitFor('the delivery', () => existsSync(join(dir, 'A', `d${id}`)) && existsSync(join(dir, 'B', `d${id}`)));
    child.kill('SIGTERM');
    expect((await done).status).toBe(0);

    // `rm s<id>` beside a crashed run's record was taken for a commit once; delete refuses while a record lists the
    // message.
    const [late] = lines((await fanout(['enqueue', 'S'], { cwd: dir, input: 'late\n' })).stdout);
    await writeFile(join(dir, 'S', 'm01J9Z3K6Y8M2Q4R5S6T7V8W9X0'), 'torn record');
    const refused = await fanout(['delete', 'S', late!], { cwd: dir });
    expect(refused.status).toBe(5);
    expect(refused.stderr).toContain('attempt record m01J9Z3K6Y8M2Q4R5S6T7V8W9X0 lists it');
    expect(await names(join(dir, 'S'))).toContain(`s${late}`);
  });

  it('hold/release/delete racing a running worker: nothing lost but what delete removed, nothing delivered twice', async () => {
    const ids = await setUp(12);
    // Three held before the worker starts: released and deleted while it runs, whatever its pace.
    const [keep, drop, late] = ids.slice(-3) as [string, string, string];
    for (const id of [keep, drop, late]) expect((await fanout(['hold', 'S', id], { cwd: dir })).status).toBe(0);
    const { child, done } = spawnFanout(
      [
        'run',
        '--from',
        'S',
        '--to',
        'A',
        '--to',
        'B',
        '--transform',
        './transform.mjs',
        '--watch',
        '--interval',
        '20',
        '--batch',
        '1',
        '--concurrency',
        '1',
        '--json',
      ],
      {
        cwd: dir,
        env: { SLOW_MS: '150' },
      },
    );
    const deleted = new Set<string>();
    const statuses = new Set<number | null>();
    const release = await fanout(['release', 'S', keep], { cwd: dir });
    expect(release.status).toBe(0);
    const deleteHeld = await fanout(['delete', 'S', drop], { cwd: dir });
    expect(deleteHeld.status).toBe(0);
    deleted.add(drop);
    for (const [k, id] of ids.slice(0, -3).entries()) {
      const action = ['hold', 'delete', 'hold'][k % 3]!;
      const r = await fanout([action, 'S', id], { cwd: dir });
      statuses.add(r.status);
      expect([0, 5, 7]).toContain(r.status);
      if (action === 'delete' && r.status === 0) deleted.add(id);
      if (action === 'hold' && r.status === 0 && k % 2 === 0)
        expect((await fanout(['release', 'S', id], { cwd: dir })).status).toBe(0);
    }
    await fanout(['release', 'S', '--all-held'], { cwd: dir });
    const expected = ids.filter((id) => !deleted.has(id)).sort();
    await waitFor(
      'every message not deleted to be delivered',
      async () =>
        [...(await delivered(join(dir, 'B'))).keys()].length === expected.length &&
        (await names(join(dir, 'S'))).length === 0,
    );
    child.kill('SIGTERM');
    const r = await done;
    expect(r.status).toBe(0);
    for (const spool of ['A', 'B']) expect([...(await delivered(join(dir, spool))).keys()].sort()).toEqual(expected);
    const committed = lines(r.stdout)
      .map((l) => jsonEvent(l) as { type: string; id?: string })
      .filter((e) => e.type === 'message-committed')
      .map((e) => e.id!);
    expect(committed.sort()).toEqual(expected);
    expect([...statuses].every((st) => st === 0 || st === 5 || st === 7)).toBe(true);
    expect(deleted.has(drop) && !expected.includes(drop) && expected.includes(late) && expected.includes(keep)).toBe(
      true,
    );
  });
});

describe('the way out of a quarantined record', () => {
  it('status shows the command; recover --discard-record gives the messages back and removes the record; a committed attempt is refused', async () => {
    const [a, b] = await setUp(2);
    const tx = '01J9Z3K6Y8M2Q4R5S6T7V8W9X1';
    await rename(join(dir, 'S', `s${a}`), join(dir, 'S', `p${a}.${tx}`));
    await writeFile(join(dir, 'S', `m${tx}`), 'fanout-marker 2\ntx: garbled');
    const status = await fanout(['status', 'S'], { cwd: dir });
    expect(status.stdout).toContain(`fanout recover --discard-record ${join(dir, 'S')} m${tx}`);
    const recover = await fanout(['recover', 'S'], { cwd: dir });
    expect(recover.status).toBe(3);
    expect(recover.stdout).toContain('clear one with `fanout recover --discard-record');
    const discard = await fanout(['recover', '--discard-record', 'S', `m${tx}`], { cwd: dir });
    expect(discard.status).toBe(0);
    expect(discard.stdout).toContain(`m${tx}: discarded; 1 message(s) waiting again (s${a})`);
    expect(await names(join(dir, 'S'))).toEqual([`s${a}`, `s${b}`].sort());
    expect((await run()).status).toBe(0);
    expect([...(await delivered(join(dir, 'A'))).keys()].sort()).toEqual([a, b].sort());
    expect((await fanout(['recover', '--discard-record', 'S', `m${tx}`], { cwd: dir })).status).toBe(7);

    // A committed attempt: its copies may be unpublished; nothing is changed.
    const [c] = lines((await fanout(['enqueue', 'S'], { cwd: dir, input: 'c\n' })).stdout);
    const tx2 = '01J9Z3K6Y8M2Q4R5S6T7V8W9X2';
    await rename(join(dir, 'S', `s${c}`), join(dir, 'S', `k${c}.${tx2}`));
    const now = Date.now();
    const uuid = (JSON.parse(await readFile(join(dir, 'S', '.fanout-spool'), 'utf8')) as { uuid: string }).uuid;
    // A record that parses but names a spool that is not what it says: quarantined (EFOREIGN).
    const record = encodeMarker({
      tx: tx2,
      ids: [c!],
      protocol: 'staged',
      source: { uuid, location: join(dir, 'S') },
      destinations: [{ uuid: '00000000-0000-4000-8000-000000000000', location: join(dir, 'A') }],
      owner: localOwner(),
      createdMs: now - 3_600_000,
      leaseUntilMs: now - 1000,
    });
    await writeFile(join(dir, 'S', `m${tx2}`), record);
    const refused = await fanout(['recover', '--discard-record', 'S', `m${tx2}`], { cwd: dir });
    expect(refused.status).toBe(3);
    expect(refused.stderr).toContain(`attempt ${tx2} committed k${c}.${tx2}`);
    expect(await names(join(dir, 'S'))).toEqual([`k${c}.${tx2}`, `m${tx2}`]);
  });
});
