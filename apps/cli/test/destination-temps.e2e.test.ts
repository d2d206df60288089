/**
 * R6 in the destinations (issue 15, seen on real NFS v4.2): a worker SIGKILLed while it wrote temps into a destination
 * left them behind after its record had been recovered (the create reached the server late, or the recoverer's
 * listing came from the client's cache). Only the destination's consumer swept that spool, and on another host it
 * cannot prove this host's writer dead, so the temps stayed for 36 hours. `fanout run`'s recovery pass now sweeps
 * the temps of provably dead writers in its destinations too, and never those of a live one.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type OwnerInfo, tempName } from '@fanout/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { localOwner } from '../src/owner-probe.js';
import { fanout, jsonEvent, lines, names, tempDir } from './cli-harness.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(async () => cleanup());

/** This host's identity with the pid of a process that has exited. */
async function deadOwner(): Promise<OwnerInfo> {
  const child = spawn(process.execPath, ['-e', '0']);
  await once(child, 'exit');
  return { ...localOwner(), pid: child.pid!, startTime: '1' };
}

describe('fanout run and the temps a dead writer left in a destination', () => {
  it("removes a dead writer's temps in every destination and keeps a live writer's", async () => {
    expect((await fanout(['init', 'S', 'A', 'B'], { cwd: dir })).status).toBe(0);
    const dead = await deadOwner();
    const live = localOwner(); // this test process: alive
    const deadInA = tempName(dead);
    const deadInB = [tempName(dead), tempName(dead)];
    const liveInB = tempName(live);
    await writeFile(join(dir, 'A', deadInA), 'half a copy');
    for (const t of [...deadInB, liveInB]) await writeFile(join(dir, 'B', t), 'half a copy');
    await writeFile(join(dir, 'B', 'todo.txt'), 'an operator file');

    const r = await fanout(['run', '--from', 'S', '--to', 'A', '--to', 'B', '--json'], { cwd: dir });
    expect(r.status, r.stderr).toBe(0);
    expect(await names(join(dir, 'A'))).toEqual([]);
    expect(await names(join(dir, 'B'))).toEqual([liveInB, 'todo.txt'].sort());
    const removed = lines(r.stdout)
      .map(jsonEvent)
      .filter((e) => e.type === 'temp-removed')
      .map((e) => e.file);
    expect(removed.sort()).toEqual([deadInA, ...deadInB].sort());
  });
});
