import { describe, expect, it } from 'vitest';
import { encodeAttemptRecord } from '../attempts/attempt-record.js';
import { FanoutError } from '../errors/fanout-error.js';
import { deleteMessage, deleteMessages, holdMessage, releaseMessage } from './queue-commands.js';
import { listMessages, showMessage } from './queue-listing.js';
import { stubSpool } from './stub-spool.test-helper.js';

/** An attempt id of the exact shape the protocol writes (a ULID). */
const TX = '01J9Z3K6Y8M2Q4R5S6T7V8W9X0';
const count = (id: string, n: number) =>
  encodeAttemptRecord({ id, count: n, lastError: { code: 'ETRANSFORM', message: 'bad' }, atMs: 7 });

describe('queue commands', () => {
  it('hold renames s<id> to h<id>.s and syncs; holding again says already-held', async () => {
    const spool = stubSpool({ sM: 'x' });
    expect(await holdMessage(spool, 'M')).toEqual({ id: 'M', outcome: 'held', name: 'hM.s' });
    expect(spool.names()).toEqual(['hM.s']);
    expect(spool.syncs).toBe(1);
    expect((await holdMessage(spool, 'M')).outcome).toBe('already-held');
  });

  it('hold in a destination renames d<id> to h<id>.d, but never a seed copy under its lock', async () => {
    const spool = stubSpool({ dM: 'x', dL: 'y', lL: 'fanout-lock TX\n' });
    expect((await holdMessage(spool, 'M')).name).toBe('hM.d');
    await expect(holdMessage(spool, 'L')).rejects.toMatchObject({ code: 'EINFLIGHT' });
    expect(spool.names()).toEqual(['dL', 'hM.d', 'lL']);
  });

  it('a message taken by an attempt or claimed by a consumer is EINFLIGHT; none at all ENOENT', async () => {
    const spool = stubSpool({ [`pM.${TX}`]: 'x', 'cN.who': 'y' });
    await expect(holdMessage(spool, 'M')).rejects.toMatchObject({ code: 'EINFLIGHT', file: 'sM' });
    await expect(deleteMessage(spool, 'N')).rejects.toMatchObject({ code: 'EINFLIGHT' });
    await expect(holdMessage(spool, 'Q')).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(holdMessage(spool, 'a.b')).rejects.toMatchObject({ code: 'EUSAGE' });
    expect(spool.names()).toEqual(['cN.who', `pM.${TX}`]);
  });

  it('release removes the count, then renames back; a waiting message is not held (EUSAGE)', async () => {
    const spool = stubSpool({ 'hM.s': 'x', 'aM.0': count('M', 5), sW: 'w' });
    expect(await releaseMessage(spool, 'M')).toEqual({ id: 'M', outcome: 'released', name: 'sM' });
    expect(spool.names()).toEqual(['sM', 'sW']);
    await expect(releaseMessage(spool, 'W')).rejects.toMatchObject({ code: 'EUSAGE' });
  });

  it('delete removes the message and its count, durably; refuses one an attempt record lists, giving it its name back', async () => {
    const spool = stubSpool({ sM: 'x', 'aM.1': count('M', 1), sR: 'r', [`m${TX}`]: 'torn record' });
    const [r, refused] = await deleteMessages(spool, ['M', 'R']);
    // A record that cannot be read may list any message: both are refused while it is there.
    expect(r).toBeInstanceOf(FanoutError);
    expect(refused).toMatchObject({ code: 'EINFLIGHT' });
    expect(spool.names()).toEqual(['aM.1', `m${TX}`, 'sM', 'sR']);
    await spool.remove(`m${TX}`); // recovered
    expect(await deleteMessage(spool, 'M')).toEqual({ id: 'M', outcome: 'deleted' });
    expect(spool.names()).toEqual(['sR']);
    expect(spool.syncs).toBeGreaterThan(0);
  });

  it('delete finishes an interrupted delete (z<id>)', async () => {
    const spool = stubSpool({ zM: 'x', 'aM.0': count('M', 2) });
    expect((await deleteMessage(spool, 'M')).outcome).toBe('deleted');
    expect(spool.names()).toEqual([]);
  });

  it('list streams every message with its state and count; show finds one by id', async () => {
    const spool = stubSpool({
      sA: 'a',
      sB: 'bb',
      'aB.0': count('B', 2),
      'hC.s': 'c',
      [`pD.${TX}`]: 'd',
      [`m${TX}`]: 'x',
      README: 'r',
    });
    const all = [];
    for await (const m of listMessages(spool, { now: () => 5000 }))
      all.push([m.id, m.state, m.attempts, m.size, m.ageMs]);
    expect(all.sort()).toEqual([
      ['A', 'waiting', 0, 1, 4000],
      ['B', 'failed', 2, 2, 4000],
      ['C', 'held', 0, 1, 4000],
      ['D', 'in-flight', 0, 1, 4000],
    ]);
    const held = [];
    for await (const m of listMessages(spool, { state: 'held' })) held.push(m.id);
    expect(held).toEqual(['C']);
    expect(await showMessage(spool, 'B')).toMatchObject({
      state: 'failed',
      attempts: 2,
      lastError: { code: 'ETRANSFORM', message: 'bad', atMs: 7 },
    });
    expect(await showMessage(spool, 'D')).toMatchObject({ state: 'in-flight', tx: TX, name: `pD.${TX}` });
    await expect(showMessage(spool, 'Z')).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
