/**
 * `fanout recover` of an attempt whose owner is on another host (nobody here can tell whether it lives) and whose
 * lease ran out: the message is rolled back, but the record stays, so that a copy the owner makes afterwards (a
 * create sent before a partition, landing after it) is removed by the next recovery instead of being left in the
 * destination for good (seen on real NFS v3 with two hosts).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { newId } from '@fanout/core';
import { encodeMarker } from '@fanout/core/internal';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fanout, lines, names, tempDir } from './cli-harness.js';

let dir = '';
let cleanup: () => Promise<void> = async () => undefined;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
});
afterEach(() => cleanup());

const TX = '000000000000000000TXAWA1TS';

describe('fanout recover and an owner on another host', () => {
  it('rolls its attempt back, keeps its record, and removes through it the copy the owner makes afterwards', async () => {
    expect((await fanout(['init', 'S', 'A'], { cwd: dir })).status).toBe(0);
    const uuid = async (s: string) =>
      (JSON.parse(await readFile(join(dir, s, '.fanout-spool'), 'utf8')) as { uuid: string }).uuid;
    const id = newId();
    const now = Date.now();
    await writeFile(join(dir, 'S', `p${id}.${TX}`), 'the message');
    await writeFile(
      join(dir, 'S', `m${TX}`),
      encodeMarker({
        ids: [id],
        tx: TX,
        protocol: 'staged',
        source: { uuid: await uuid('S'), location: join(dir, 'S') },
        destinations: [{ uuid: await uuid('A'), location: join(dir, 'A') }],
        owner: { host: 'another-host.example', bootId: '', pidNamespace: '', pid: 4242, startTime: '' },
        createdMs: now - 120_000,
        leaseUntilMs: now - 60_000,
      }),
    );
    await writeFile(join(dir, 'A', `w${id}.${TX}`), 'the message');

    const status = await fanout(['status', 'S'], { cwd: dir });
    expect(status.stdout).toMatch(
      new RegExp(
        `record m${TX} {2}stale \\(lease ran out; recover settles its messages, the record stays while its owner ` +
          `may be alive\\) {2}owner another-host.example pid 4242`,
      ),
    );

    const first = await fanout(['recover', 'S'], { cwd: dir });
    expect(first.status, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/1 rolled back, 0 rolled forward, 0 in flight, 1 awaiting their owner/);
    expect(first.stderr).toMatch(new RegExp(`m${TX}: recovered; the record stays until its owner another-host`));
    expect(await names(join(dir, 'S'))).toEqual([`m${TX}`, `s${id}`].sort());
    expect(await names(join(dir, 'A'))).toEqual([]);

    // The owner carries on: its staged copy lands after the takeover, then it dies before it can remove it.
    await writeFile(join(dir, 'A', `w${id}.${TX}`), 'the message');
    const second = await fanout(['recover', 'S', '--json'], { cwd: dir });
    expect(second.status, second.stderr).toBe(0);
    expect(JSON.parse(lines(second.stdout).at(-1)!)).toMatchObject({ type: 'summary', awaitingOwner: 1 });
    expect(await names(join(dir, 'A'))).toEqual([]);
    expect(await names(join(dir, 'S'))).toEqual([`m${TX}`, `s${id}`].sort());

    // The message itself goes on as usual, exactly once.
    const run = await fanout(['run', '--from', 'S', '--to', 'A'], { cwd: dir });
    expect(run.status, run.stderr).toBe(0);
    expect(await names(join(dir, 'A'))).toEqual([`d${id}`]);
  }, 60_000);
});
