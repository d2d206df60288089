import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, readFile, rename, symlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { type OwnerInfo } from '@fanout/core';
import { encodeMarker } from '@fanout/core/internal';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { localOwner } from '../src/owner-probe.js';
import { fanout, jsonEvent, lines, names, spawnFanout, tempDir } from './cli-harness.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(async () => cleanup());

async function uuidOf(spool: string): Promise<string> {
  return (JSON.parse(await readFile(join(dir, spool, '.fanout-spool'), 'utf8')) as { uuid: string }).uuid;
}

/** The owner record of a process that has exited: recovery may take its markers over. */
async function deadOwner(): Promise<OwnerInfo> {
  const child = spawn(process.execPath, ['-e', '0']);
  const pid = child.pid!;
  await once(child, 'exit');
  // This host, boot and pid namespace (as the CLI records its runs), a pid that is gone.
  return { ...localOwner(), pid, startTime: '' };
}

/**
 * Plant the record `m<tx>` of attempt `tx` over message `id` from S to A and
 * B, as a run owned by `owner` would have left it: the message taken
 * (`s<id>` → `p<id>.<tx>`), or, with `committed`, committed as `k<id>.<tx>`.
 */
async function plantMarker(
  id: string,
  tx: string,
  owner: OwnerInfo,
  state: 'taken' | 'committed' = 'taken',
): Promise<void> {
  const ref = async (s: string) => ({ uuid: await uuidOf(s), location: join(dir, s) });
  const now = Date.now();
  if (state === 'taken') await rename(join(dir, 'S', `s${id}`), join(dir, 'S', `p${id}.${tx}`));
  else await writeFile(join(dir, 'S', `k${id}.${tx}`), 'committed');
  const marker = encodeMarker({
    ids: [id],
    tx,
    protocol: 'staged',
    source: await ref('S'),
    destinations: [await ref('A'), await ref('B')],
    owner,
    createdMs: now - 90_000,
    leaseUntilMs: now + 600_000,
  });
  await writeFile(join(dir, 'S', `m${tx}`), marker);
}

describe('fanout recover', () => {
  beforeEach(async () => {
    expect((await fanout(['init', 'S', 'A', 'B'], { cwd: dir })).status).toBe(0);
  });

  it('rolls back an interrupted attempt whose message is still in the source (exit 0)', async () => {
    const [id] = lines((await fanout(['enqueue', 'S'], { cwd: dir, input: 'payload' })).stdout);
    await plantMarker(id!, '00000000000000000000000TX1', await deadOwner());
    await writeFile(join(dir, 'A', `w${id}.00000000000000000000000TX1`), 'payl');

    const status = await fanout(['status', 'S'], { cwd: dir });
    expect(status.stdout).toMatch(
      new RegExp(
        `record m00000000000000000000000TX1 {2}stale \\(owner gone; recover will finish it\\) ` +
          `{2}owner ${hostname()} pid \\d+ {2}age 1 min 3\\d s {2}tx 00000000000000000000000TX1 {2}staged`,
      ),
    );

    const r = await fanout(['recover', 'S'], { cwd: dir });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`${join(dir, 'S')}: 1 rolled back, 0 rolled forward, 0 in flight`);
    expect(await names(join(dir, 'S'))).toEqual([`s${id}`]);
    expect(await names(join(dir, 'A'))).toEqual([]);
    expect(await readFile(join(dir, 'S', `s${id}`), 'utf8')).toBe('payload');
  });

  it('rolls forward an attempt that committed, publishing its staged copies', async () => {
    await plantMarker('01COMMITTED', '00000000000000000000000TX2', await deadOwner(), 'committed');
    await writeFile(join(dir, 'A', 'w01COMMITTED.00000000000000000000000TX2'), 'done');
    await writeFile(join(dir, 'B', 'w01COMMITTED.00000000000000000000000TX2'), 'done');
    const r = await fanout(['recover', 'S', '--json'], { cwd: dir });
    expect(r.status).toBe(0);
    const events = lines(r.stdout).map(jsonEvent);
    expect(events).toContainEqual({
      type: 'recovered',
      id: '01COMMITTED',
      tx: '00000000000000000000000TX2',
      action: 'rolled-forward',
    });
    expect(events.at(-1)).toMatchObject({ type: 'summary', rolledForward: 1, refused: 0 });
    expect(await names(join(dir, 'S'))).toEqual([]);
    expect(await names(join(dir, 'A'))).toEqual(['d01COMMITTED']);
    expect(await names(join(dir, 'B'))).toEqual(['d01COMMITTED']);
  });

  it('leaves the marker of a live owner alone and shows it in flight', async () => {
    const [id] = lines((await fanout(['enqueue', 'S'], { cwd: dir, input: 'x' })).stdout);
    await plantMarker(id!, '00000000000000000000000TX3', localOwner());
    const status = await fanout(['status', '--json', 'S'], { cwd: dir });
    expect(JSON.parse(status.stdout)).toMatchObject({
      markers: [
        {
          file: 'm00000000000000000000000TX3',
          ids: [id],
          state: 'in-flight',
          tx: '00000000000000000000000TX3',
          owner: { pid: process.pid },
        },
      ],
    });
    const r = await fanout(['recover', 'S'], { cwd: dir });
    expect(r.status).toBe(0);
    expect(r.stderr).toContain(
      `m00000000000000000000000TX3: in flight, owned by ${hostname()} pid ${process.pid}; left alone`,
    );
    expect(await names(join(dir, 'S'))).toEqual(['m00000000000000000000000TX3', `p${id}.00000000000000000000000TX3`]);
  });

  it('exits 3 for a corrupt marker, leaving it and its message untouched', async () => {
    const [id] = lines((await fanout(['enqueue', 'S'], { cwd: dir, input: 'keep me' })).stdout);
    await rename(join(dir, 'S', `s${id}`), join(dir, 'S', `p${id}.00000000000000000000000TX9`));
    await writeFile(join(dir, 'S', 'm00000000000000000000000TX9'), 'fanout-marker 2\nids: torn');
    const r = await fanout(['recover', 'S'], { cwd: dir });
    expect(r.status).toBe(3);
    expect(r.stderr).toMatch(
      new RegExp(`^fanout: ${join(dir, 'S')}: m00000000000000000000000TX9: corrupt marker: .*\\(ECORRUPT\\)$`, 'm'),
    );
    expect(await names(join(dir, 'S'))).toEqual(['m00000000000000000000000TX9', `p${id}.00000000000000000000000TX9`]);
    expect(await readFile(join(dir, 'S', `p${id}.00000000000000000000000TX9`), 'utf8')).toBe('keep me');
    expect(await readFile(join(dir, 'S', 'm00000000000000000000000TX9'), 'utf8')).toBe('fanout-marker 2\nids: torn');
    // run recovers first, so it refuses too, and leaves the message where it is.
    const run = await fanout(['run', '--from', 'S', '--to', 'A'], { cwd: dir });
    expect(run.status).toBe(3);
    expect(await names(join(dir, 'S'))).toEqual(['m00000000000000000000000TX9', `p${id}.00000000000000000000000TX9`]);
  });

  it('exits 3 for a marker naming a destination whose identity differs (foreign spool), deleting nothing', async () => {
    const [id] = lines((await fanout(['enqueue', 'S'], { cwd: dir, input: 'x' })).stdout);
    await plantMarker(id!, '00000000000000000000000TX4', await deadOwner());
    await writeFile(join(dir, 'A', `w${id}.00000000000000000000000TX4`), 'x');
    // Re-create A as another spool at the same place.
    await writeFile(
      join(dir, 'A', '.fanout-spool'),
      `${JSON.stringify({ fanout: 'spool', uuid: '00000000-0000-4000-8000-000000000000', format: 1 })}\n`,
    );
    const r = await fanout(['recover', 'S'], { cwd: dir });
    expect(r.status).toBe(3);
    expect(r.stderr).toContain('(EFOREIGN)');
    expect(await names(join(dir, 'A'))).toEqual([`w${id}.00000000000000000000000TX4`]);
    expect(await names(join(dir, 'S'))).toEqual(['m00000000000000000000000TX4', `p${id}.00000000000000000000000TX4`]);
  });

  it('exits 2 for a location that is not a spool', async () => {
    const r = await fanout(['recover', 'nowhere'], { cwd: dir });
    expect(r.status).toBe(2);
  });
});

describe('entries that are not messages', () => {
  it('reports a symlink, a FIFO and a directory named like messages, and never opens or follows them', async () => {
    expect((await fanout(['init', 'S', 'A'], { cwd: dir })).status).toBe(0);
    const [id] = lines((await fanout(['enqueue', 'S'], { cwd: dir, input: 'real' })).stdout);
    await writeFile(join(dir, 'target'), 'secret');
    await symlink(join(dir, 'target'), join(dir, 'S', 's01LINK'));
    // Opening a FIFO without a writer would hang the run: finishing at all shows it was never opened.
    execFileSync('mkfifo', [join(dir, 'S', 's01FIFO')]);
    await mkdir(join(dir, 'S', 's01DIR'));
    await writeFile(join(dir, 'S', 'notes.txt'), 'hello');

    const status = await fanout(['status', '--json', 'S'], { cwd: dir });
    expect((JSON.parse(status.stdout) as { unknown: unknown[] }).unknown).toEqual(
      expect.arrayContaining([
        { name: 's01LINK', kind: 'symlink' },
        { name: 's01FIFO', kind: 'other' },
        { name: 's01DIR', kind: 'directory' },
        { name: 'notes.txt', kind: 'file' },
      ]),
    );

    expect(JSON.parse(status.stdout)).toMatchObject({ counts: { source: 1, unknown: 4 } });

    // Issue 16: each of these failed every run (EBADENTRY, exit 1).
    const r = await fanout(['run', '--from', 'S', '--to', 'A'], { cwd: dir });
    expect(r.status).toBe(0);
    for (const [n, kind] of [
      ['s01LINK', 'symlink'],
      ['s01FIFO', 'other'],
      ['s01DIR', 'directory'],
      ['notes.txt', 'file'],
    ]) {
      expect(lines(r.stderr).filter((l) => l.includes(`: ${n}:`))).toEqual([
        `fanout: ${join(dir, 'S')}: ${n}: not a message (${kind}); left alone`,
      ]);
    }
    expect(await names(join(dir, 'S'))).toEqual(['notes.txt', 's01DIR', 's01FIFO', 's01LINK']);
    expect(await names(join(dir, 'A'))).toEqual([`d${id}`]);
    expect(await readFile(join(dir, 'target'), 'utf8')).toBe('secret');
  });

  it('reports each of them once per run under --watch, not once per pass, and exits 0', async () => {
    expect((await fanout(['init', 'S', 'A'], { cwd: dir })).status).toBe(0);
    await mkdir(join(dir, 'S', 's01DIR'));
    await symlink(join(dir, 'nowhere'), join(dir, 'S', 's01LINK'));
    const { child, done } = spawnFanout(
      ['run', '--from', 'S', '--to', 'A', '--watch', '--interval', '50', '--recover-interval', '200'],
      { cwd: dir },
    );
    // Some 20 passes and 5 recoveries.
    await new Promise((resolve) => setTimeout(resolve, 1200));
    const [id] = lines((await fanout(['enqueue', 'S'], { cwd: dir, input: 'late' })).stdout);
    await new Promise((resolve) => setTimeout(resolve, 500));
    child.kill('SIGTERM');
    const r = await done;
    expect(r.status).toBe(0);
    expect(lines(r.stderr).filter((l) => l.includes('s01DIR'))).toEqual([
      `fanout: ${join(dir, 'S')}: s01DIR: not a message (directory); left alone`,
    ]);
    expect(lines(r.stderr).filter((l) => l.includes('s01LINK'))).toEqual([
      `fanout: ${join(dir, 'S')}: s01LINK: not a message (symlink); left alone`,
    ]);
    expect(await names(join(dir, 'A'))).toEqual([`d${id}`]);
    expect(await names(join(dir, 'S'))).toEqual(['s01DIR', 's01LINK']);
  });
});
