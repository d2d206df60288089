/**
 * `--watch` of `run` and `consume`: new work is picked up as it arrives,
 * stale markers and claims left by dead processes are taken care of while
 * running (not only at start), and SIGTERM ends the process cleanly.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { readFile, writeFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type OwnerInfo } from '@fanout/core';
import { decodeMarker, encodeMarker, encodeOwnerTag } from '@fanout/core/internal';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { localOwner } from '../src/owner-probe.js';
import { delivered, fanout, lines, names, spawnFanout, tempDir, jsonEvent } from './cli-harness.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(async () => cleanup());

/** Poll until `check` holds; fail (naming `what`) if it never does. */
async function waitFor(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** The pid of a process that has exited (and been reaped). */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '0']);
  await once(child, 'exit');
  return child.pid!;
}

async function uuidOf(spool: string): Promise<string> {
  return (JSON.parse(await readFile(join(dir, spool, '.fanout-spool'), 'utf8')) as { uuid: string }).uuid;
}

/**
 * Plant the record `m<tx>` of attempt `tx` from S to A and B, owned by `owner`, with message `id` taken or committed.
 */
async function plantMarker(id: string, tx: string, owner: OwnerInfo): Promise<void> {
  const ref = async (s: string) => ({ uuid: await uuidOf(s), location: join(dir, s) });
  const now = Date.now();
  // Taken if it is still waiting, else committed (k<id>.<tx>: it left S, its copies wait to be published).
  if (existsSync(join(dir, 'S', `s${id}`))) await rename(join(dir, 'S', `s${id}`), join(dir, 'S', `p${id}.${tx}`));
  else await writeFile(join(dir, 'S', `k${id}.${tx}`), 'committed');
  const marker = encodeMarker({
    ids: [id],
    tx,
    protocol: 'staged',
    source: await ref('S'),
    destinations: [await ref('A'), await ref('B')],
    owner,
    createdMs: now,
    leaseUntilMs: now + 600_000,
  });
  await writeFile(join(dir, 'S', `m${tx}`), marker);
}

async function readIfAny(file: string): Promise<string> {
  return existsSync(file) ? readFile(file, 'utf8') : '';
}

describe('fanout run --watch', () => {
  it('recovers a stale marker that appears while it runs, at its next periodic recovery', async () => {
    await fanout(['init', 'S', 'A', 'B'], { cwd: dir });
    const { child, done } = spawnFanout(
      [
        'run',
        '--from',
        'S',
        '--to',
        'A',
        '--to',
        'B',
        '--watch',
        '--interval',
        '50',
        '--recover-interval',
        '300',
        '--json',
      ],
      { cwd: dir },
    );
    let out = '';
    child.stdout!.on('data', (s: string) => (out += s));
    // A committed message shows that the worker's start-up recovery is behind it.
    await fanout(['enqueue', 'S'], { cwd: dir, input: 'first' });
    await waitFor('the first commit', () => out.includes('"message-committed"'));

    // A worker that died after its commit: the message left S, its staged copies wait to be published.
    await plantMarker('01DIEDAFTERCOMMIT', '00000000000000000000TXDEAD', {
      ...localOwner(),
      pid: await deadPid(),
      startTime: '',
    });
    await writeFile(join(dir, 'A', 'w01DIEDAFTERCOMMIT.00000000000000000000TXDEAD'), 'orphan');
    await writeFile(join(dir, 'B', 'w01DIEDAFTERCOMMIT.00000000000000000000TXDEAD'), 'orphan');
    await waitFor('the planted marker to be recovered', () => out.includes('"recovered"'));
    child.kill('SIGTERM');
    const r = await done;

    expect(r.status).toBe(0);
    const events = lines(out).map(jsonEvent);
    expect(events).toContainEqual({
      type: 'recovered',
      id: '01DIEDAFTERCOMMIT',
      tx: '00000000000000000000TXDEAD',
      action: 'rolled-forward',
    });
    expect(events.at(-1)).toMatchObject({ type: 'summary', committed: 1, rolledForward: 1, interrupted: true });
    expect(await names(join(dir, 'S'))).toEqual([]);
    for (const d of ['A', 'B']) expect((await delivered(join(dir, d))).get('01DIEDAFTERCOMMIT')).toBe('orphan');
  });

  it('refuses --recover-interval without --watch, and a lease under a second (exit 2)', async () => {
    await fanout(['init', 'S', 'A'], { cwd: dir });
    const noWatch = await fanout(['run', '--from', 'S', '--to', 'A', '--recover-interval', '1000'], { cwd: dir });
    expect(noWatch.status).toBe(2);
    expect(noWatch.stderr).toContain('--recover-interval needs --watch');
    const shortLease = await fanout(['run', '--from', 'S', '--to', 'A', '--lease', '999'], { cwd: dir });
    expect(shortLease.status).toBe(2);
    expect(shortLease.stderr).toContain('--lease must be at least 1000 ms');
    const notNumber = await fanout(['run', '--from', 'S', '--to', 'A', '--lease', '10s'], { cwd: dir });
    expect(notNumber.status).toBe(2);
  });

  it('writes the lease it is given into its markers', async () => {
    await fanout(['init', 'S', 'A'], { cwd: dir });
    await fanout(['enqueue', 'S'], { cwd: dir, input: 'x' });
    // A transform that never ends keeps the transaction open, so the marker can be read.
    await writeFile(
      join(dir, 'stall.mjs'),
      "import { PassThrough } from 'node:stream';\nexport default () => new PassThrough({ flush() {} });\n",
    );
    const before = Date.now();
    const { child, done } = spawnFanout(
      ['run', '--from', 'S', '--to', 'A', '--lease', '5000', '--transform', './stall.mjs'],
      { cwd: dir },
    );
    let marker = '';
    let markerId: string | undefined;
    await waitFor('a marker in S', async () => {
      const m = (await names(join(dir, 'S'))).find((n) => n.startsWith('m'));
      markerId = m?.slice(1);
      marker = m === undefined ? '' : await readIfAny(join(dir, 'S', m));
      return marker.includes('\nsha256: ');
    });
    child.kill('SIGKILL');
    await done;
    const record = decodeMarker(marker, { tx: markerId });
    expect(record.leaseUntilMs - record.createdMs).toBe(5000);
    // Marker times are recorded to the millisecond.
    expect(record.createdMs).toBeGreaterThanOrEqual(before);
  });
});

describe('fanout consume --watch', () => {
  /** Init S and A; returns a function that enqueues one message and fans it out to A. */
  async function setUp(): Promise<(content: string) => Promise<string>> {
    await fanout(['init', 'S', 'A'], { cwd: dir });
    return async (content) => {
      const [id] = lines((await fanout(['enqueue', 'S'], { cwd: dir, input: content })).stdout);
      expect((await fanout(['run', '--from', 'S', '--to', 'A'], { cwd: dir })).status).toBe(0);
      return id!;
    };
  }

  it('consumes messages delivered while it runs, and exits 0 on SIGTERM', async () => {
    const deliver = await setUp();
    const early = await deliver('early');
    const { child, done } = spawnFanout(
      ['consume', 'A', '--watch', '--interval', '50', '--exec', 'printf "%s=%s\\n" "$FANOUT_ID" "$(cat)" >> got'],
      { cwd: dir },
    );
    await waitFor('the early message', async () => (await readIfAny(join(dir, 'got'))).includes(early));
    const late = await deliver('late');
    await waitFor('the late message', async () => (await readIfAny(join(dir, 'got'))).includes(late));
    child.kill('SIGTERM');
    const r = await done;

    expect(r.status).toBe(0);
    expect(r.stderr).toContain(`${join(dir, 'A')}: 2 consumed, 0 failed and released, 0 stale claims released`);
    expect(lines(await readFile(join(dir, 'got'), 'utf8'))).toEqual([`${early}=early`, `${late}=late`]);
    expect(await names(join(dir, 'A'))).toEqual([]);
  });

  it('releases, while running, the claim of a consumer that died, and consumes that message', async () => {
    const deliver = await setUp();
    const first = await deliver('first');
    const { child, done } = spawnFanout(
      [
        'consume',
        'A',
        '--watch',
        '--interval',
        '50',
        '--release-interval',
        '200',
        '--exec',
        'printf "%s=%s\\n" "$FANOUT_ID" "$(cat)" >> got',
        '--json',
      ],
      { cwd: dir },
    );
    let out = '';
    child.stdout!.on('data', (s: string) => (out += s));
    await waitFor('the first message', () => out.includes(`"consumed","id":"${first}"`));

    // Planted after the start-up release: only the periodic one can give it back.
    // The claim of a consumer of this host, boot and pid namespace whose pid is gone.
    const stale = `c01CLAIMEDBYTHEDEAD.${encodeOwnerTag({ ...localOwner(), pid: await deadPid(), startTime: '' })}`;
    await writeFile(join(dir, 'A', stale), 'abandoned');
    await waitFor('the abandoned message', () => out.includes('"consumed","id":"01CLAIMEDBYTHEDEAD"'));
    child.kill('SIGTERM');
    const r = await done;

    expect(r.status).toBe(0);
    expect(lines(out).map(jsonEvent).at(-1)).toEqual({
      type: 'summary',
      spool: join(dir, 'A'),
      consumed: 2,
      failed: 0,
      released: 0,
      held: 0,
      staleClaimsReleased: 1,
    });
    expect(lines(await readFile(join(dir, 'got'), 'utf8'))).toEqual([`${first}=first`, '01CLAIMEDBYTHEDEAD=abandoned']);
    expect(await names(join(dir, 'A'))).toEqual([]);
  });

  it('finishes the message in hand on SIGTERM and takes no other', async () => {
    const deliver = await setUp();
    const ids = [await deliver('one'), await deliver('two')];
    const { child, done } = spawnFanout(
      [
        'consume',
        'A',
        '--watch',
        '--interval',
        '50',
        '--exec',
        'cat > /dev/null; echo "$FANOUT_ID" > started; sleep 0.5; echo "$FANOUT_ID" >> finished',
      ],
      { cwd: dir },
    );
    await waitFor('the command to start', () => existsSync(join(dir, 'started')));
    child.kill('SIGTERM');
    const r = await done;

    expect(r.status).toBe(0);
    const taken = lines(await readFile(join(dir, 'finished'), 'utf8'));
    expect(taken).toHaveLength(1);
    expect(ids).toContain(taken[0]);
    // The one it finished is acknowledged (gone); the other is still delivered, unclaimed.
    const other = ids.find((id) => id !== taken[0])!;
    expect(await names(join(dir, 'A'))).toEqual([`d${other}`]);
  });

  it('releases a message whose command failed and offers it again after the release interval', async () => {
    const deliver = await setUp();
    const id = await deliver('flaky');
    const { child, done } = spawnFanout(
      [
        'consume',
        'A',
        '--watch',
        '--interval',
        '50',
        '--release-interval',
        '200',
        '--json',
        '--exec',
        'if [ -e ok ]; then cat > got; else cat > /dev/null; echo tried >> tries; exit 9; fi',
      ],
      { cwd: dir },
    );
    let out = '';
    child.stdout!.on('data', (s: string) => (out += s));
    await waitFor('a failure', () => out.includes('"consume-failed"'));
    // Released, with its failed attempt counted beside it (a<id>.0).
    expect(await names(join(dir, 'A'))).toEqual([`a${id}.0`, `d${id}`]);
    await writeFile(join(dir, 'ok'), '');
    await waitFor('the retry', () => out.includes('"consumed"'));
    child.kill('SIGTERM');
    const r = await done;

    // As for `run --watch`, a failure during the watch makes the exit status 1, even if a retry succeeded.
    expect(r.status).toBe(1);
    expect(await readFile(join(dir, 'got'), 'utf8')).toBe('flaky');
    expect(await names(join(dir, 'A'))).toEqual([]);
    const summary = lines(out)
      .map((l) => JSON.parse(l) as { type: string; failed?: number })
      .at(-1)!;
    expect(summary.type).toBe('summary');
    expect(summary).toMatchObject({ consumed: 1 });
    expect(summary.failed).toBe(lines(await readFile(join(dir, 'tries'), 'utf8')).length);
  });

  it('refuses --interval and --release-interval without --watch (exit 2)', async () => {
    await setUp();
    for (const flag of ['--interval', '--release-interval']) {
      const r = await fanout(['consume', 'A', flag, '100'], { cwd: dir });
      expect(r.status).toBe(2);
      expect(r.stderr).toContain(`${flag} needs --watch`);
    }
  });
});
