/**
 * C1: one record `m<tx>` per attempt, written and fsynced once whatever the
 * batch size; each message taken by one atomic rename `s<id>` → `p<id>.<tx>`;
 * one read of each message for all its destinations.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fanOut, overrideBackend, recover } from '@fanout/core';
import { decodeMarker, type Op } from '@fanout/core/internal';
import { afterEach, describe, expect, it } from 'vitest';
import { checkInvariants, posixWorld, type PosixWorld } from './harness.js';

let world: PosixWorld | undefined;
afterEach(() => world?.dispose());

function opsOf(step: string, seen: Op[]) {
  return seen.filter((op) => op.step === step && op.type !== 'all').map((op) => op.type);
}

describe('an attempt over a batch', () => {
  it('writes one record, takes each message by a rename, then checks the record and the taken names', async () => {
    world = await posixWorld(2, 4);
    const seen: Op[] = [];
    let tx: string | undefined;
    const ids = [...world.messages.keys()];
    const taken = new Set<string>();
    await fanOut({
      source: world.source,
      destinations: world.dests.map((spool) => ({ spool })),
      batchSize: 4,
      recoverFirst: false,
      newTx: () => (tx = '0000000000000000000000TXA0'),
      hooks: {
        beforeOp: (op) => {
          seen.push(op);
          // While the copies are written, every message is held under the attempt's name, and nowhere else.
          if (op.step === 'C2' && op.type === 'create' && taken.size === 0) {
            for (const id of ids)
              if (existsSync(join(world!.root, 'S', `p${id}.${tx}`)) && !existsSync(join(world!.root, 'S', `s${id}`)))
                taken.add(id);
          }
        },
      },
    });
    // The check: the record, each taken name, and each message's two attempt-count slots (reads only).
    expect(opsOf('C1', seen)).toEqual([
      'create',
      'rename',
      'rename',
      'rename',
      'rename',
      'rename',
      'syncDir',
      'stat',
      'stat',
      'stat',
      'stat',
      'stat',
      ...Array<string>(8).fill('stat'),
    ]);
    expect(taken.size).toBe(4);
    expect(checkInvariants(world, 2)).toEqual({ inSource: 0, delivered: 4 });
  });

  it('is rolled back message by message from a crash while copying', async () => {
    world = await posixWorld(2, 3);
    const ids = [...world.messages.keys()];
    let n = 0;
    await fanOut({
      source: world.source,
      destinations: world.dests.map((spool) => ({ spool })),
      batchSize: 3,
      recoverFirst: false,
      newTx: () => '0000000000000000000000TXB0',
      hooks: {
        beforeOp: (op) => {
          if (op.type !== 'all' && op.step === 'C2' && n++ === 1) throw new Error('crash');
        },
      },
    }).catch(() => undefined);
    const record = world.read('S', 'm0000000000000000000000TXB0').toString('utf8');
    expect([...decodeMarker(record, { tx: '0000000000000000000000TXB0' }).ids].sort()).toEqual([...ids].sort());
    const r = await recover({ spool: world.source, open: world.open, ownerProbe: async () => 'dead' });
    expect(r).toMatchObject({ rolledBack: 3, rolledForward: 0, refused: [], failed: [] });
    expect(checkInvariants(world, 2)).toEqual({ inSource: 3, delivered: 0 });
  });
});

describe('the copies of a message', () => {
  it('read the taken message once for all destinations', async () => {
    world = await posixWorld(3, 2, () => 5000);
    let reads = 0;
    const real = world.source;
    const source = overrideBackend(real, { read: (name) => (name.startsWith('p') && reads++, real.read(name)) });
    await fanOut({ source, destinations: world.dests.map((spool) => ({ spool })), recoverFirst: false });
    expect(reads).toBe(2);
    expect(checkInvariants(world, 3)).toEqual({ inSource: 0, delivered: 2 });
  });
});
