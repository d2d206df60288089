/**
 * C1 for a batch on a backend with hard links: one marker record, written and
 * fsynced once, linked as every `m<id>`; one read of each message for all its
 * destinations. Without hard links (rename publish): one record per message.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { decodeMarker, fanOut, overrideBackend, recover, type Op } from '@fanout/core';
import { PosixBackend } from '@fanout/fs-posix';
import { afterEach, describe, expect, it } from 'vitest';
import { checkInvariants, posixWorld, type PosixWorld } from './harness.js';

let world: PosixWorld | undefined;
afterEach(() => world?.dispose());

function opsOf(step: string, seen: Op[]) {
  return seen.filter((op) => op.step === step && op.type !== 'all').map((op) => op.type);
}

describe('a batch on a backend with hard links', () => {
  it('writes one record for the batch and links it as each m<id>, which all name one file', async () => {
    world = await posixWorld(2, 4);
    const seen: Op[] = [];
    const inodes = new Set<number>();
    const ids = [...world.messages.keys()];
    await fanOut({
      source: world.source,
      destinations: world.dests.map((spool) => ({ spool })),
      batchSize: 4,
      recoverFirst: false,
      hooks: {
        beforeOp: (op) => {
          seen.push(op);
          // While the copies are written, every marker is a name of the one record.
          if (op.step === 'C2' && op.type === 'create' && inodes.size === 0) {
            for (const id of ids) inodes.add(statSync(join(world!.root, 'S', `m${id}`)).ino);
          }
        },
      },
    });
    expect(opsOf('C1', seen)).toEqual(['create', 'link', 'link', 'link', 'link', 'remove', 'syncDir', 'stat', 'stat', 'stat', 'stat']);
    expect(inodes.size).toBe(1);
    expect(checkInvariants(world, 2)).toEqual({ inSource: 0, delivered: 4 });
  });

  it('is recovered message by message from a crash after the links', async () => {
    world = await posixWorld(2, 3);
    const ids = [...world.messages.keys()];
    let n = 0;
    await fanOut({
      source: world.source,
      destinations: world.dests.map((spool) => ({ spool })),
      batchSize: 3,
      recoverFirst: false,
      hooks: {
        beforeOp: (op) => {
          if (op.type !== 'all' && op.step === 'C2' && n++ === 1) throw new Error('crash');
        },
      },
    }).catch(() => undefined);
    const marker = world.read('S', `m${ids[2]}`).toString('utf8');
    expect([...(decodeMarker(marker, { id: ids[2]! }).batch ?? [])].sort()).toEqual([...ids].sort());
    const r = await recover({ spool: world.source, open: world.open, ownerProbe: async () => 'dead' });
    expect(r).toMatchObject({ rolledBack: 3, rolledForward: 0, refused: [] });
    expect(checkInvariants(world, 2)).toEqual({ inSource: 3, delivered: 0 });
  });
});

describe('a batch on a backend without hard links (rename publish)', () => {
  it('writes one record per message', async () => {
    world = await posixWorld(1, 3);
    const source = new PosixBackend({ root: join(world.root, 'S'), publishMode: 'rename' });
    const seen: Op[] = [];
    await fanOut({
      source,
      destinations: world.dests.map((spool) => ({ spool })),
      batchSize: 3,
      recoverFirst: false,
      hooks: { beforeOp: (op) => void seen.push(op) },
    });
    expect(opsOf('C1', seen).filter((t) => t === 'create' || t === 'publish' || t === 'link')).toEqual(['create', 'create', 'create', 'publish', 'publish', 'publish']);
    expect(checkInvariants(world, 1)).toEqual({ inSource: 0, delivered: 3 });
  });
});

describe('the copies of a message', () => {
  it('read the source once for all destinations', async () => {
    world = await posixWorld(3, 2, () => 5000);
    let reads = 0;
    const real = world.source;
    const source = overrideBackend(real, { read: (name) => (name.startsWith('s') && reads++, real.read(name)) });
    await fanOut({ source, destinations: world.dests.map((spool) => ({ spool })), recoverFirst: false });
    expect(reads).toBe(2);
    expect(checkInvariants(world, 3)).toEqual({ inSource: 0, delivered: 2 });
  });
});
