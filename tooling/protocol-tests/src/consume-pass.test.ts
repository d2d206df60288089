/**
 * `consumePass`, the one pass over a destination spool shared by `consume()`
 * and `fanout consume --watch`, driven directly over the memory backend.
 */
import { describe, expect, it } from 'vitest';
import { type ClaimedMessage, consumePass, type FanoutEvent, initSpool, newId, type SpoolBackend } from '@fanout/core';
import { names } from '@fanout/core/internal';
import { createMemorySpools } from '@fanout/fs-memory';

const text = (s: string) => new TextEncoder().encode(s);

async function read(message: ClaimedMessage): Promise<string> {
  let out = '';
  for await (const chunk of message.read()) out += Buffer.from(chunk).toString();
  return out;
}

async function listing(spool: SpoolBackend): Promise<string[]> {
  const found: string[] = [];
  for await (const entry of spool.list()) if (!entry.name.startsWith('.')) found.push(entry.name);
  return found.sort();
}

/**
 * A destination spool holding delivered messages `d<id>` with contents `m0`, `m1`, …; returns the spool and the ids,
 * sorted.
 */
async function delivered(count: number): Promise<{ spool: SpoolBackend; ids: string[] }> {
  const spool = createMemorySpools().open('memory://dest');
  await initSpool(spool);
  const ids = Array.from({ length: count }, () => newId()).sort();
  for (const [i, id] of ids.entries()) await spool.createExclusive(names.delivered(id), text(`m${i}`));
  return { spool, ids };
}

describe('consumePass', () => {
  it('acknowledges what the handler takes, releases what it throws on, adds those ids to skip, and emits one event each', async () => {
    const { spool, ids } = await delivered(3);
    const events: FanoutEvent[] = [];
    const seen: string[] = [];
    const skip = new Set<string>();
    const result = await consumePass(
      spool,
      async (m) => {
        expect(m.file).toBe(names.claimed(m.id, 'me'));
        seen.push(await read(m));
        if (m.id === ids[1]) throw new Error('no thanks');
      },
      { who: 'me', skip, onEvent: (e) => events.push(e) },
    );
    expect(result).toEqual({ consumed: 2, failed: 1, held: 0 });
    expect(seen.sort()).toEqual(['m0', 'm1', 'm2']);
    expect([...skip]).toEqual([ids[1]]);
    expect(await listing(spool)).toEqual([names.delivered(ids[1]!)]);
    expect(
      events.map((e) => [e.type, 'id' in e ? e.id : undefined, 'spool' in e ? e.spool : undefined]).sort(),
    ).toEqual(
      [
        ['consumed', ids[0], spool.location],
        ['consume-failed', ids[1], spool.location],
        ['consumed', ids[2], spool.location],
      ].sort(),
    );
    const failure = events.find((e) => e.type === 'consume-failed');
    expect(failure?.type === 'consume-failed' && failure.error.code).toBe('EIO');
    expect(failure?.type === 'consume-failed' && failure.error.file).toBe(names.claimed(ids[1]!, 'me'));
  });

  it('does not offer the ids in skip, so a set kept across passes holds back a failed message until cleared', async () => {
    const { spool, ids } = await delivered(1);
    const skip = new Set<string>();
    let calls = 0;
    const failing = async () => {
      calls++;
      throw new Error('still failing');
    };
    expect(await consumePass(spool, failing, { skip })).toEqual({ consumed: 0, failed: 1, held: 0 });
    expect(await consumePass(spool, failing, { skip })).toEqual({ consumed: 0, failed: 0, held: 0 });
    expect(calls).toBe(1);
    skip.clear();
    expect(await consumePass(spool, async () => undefined, { skip })).toEqual({ consumed: 1, failed: 0, held: 0 });
    expect(await listing(spool)).toEqual([]);
    expect(ids).toHaveLength(1);
  });

  it('without skip, each pass starts afresh: a failed message is offered again by the next pass', async () => {
    const { spool } = await delivered(1);
    let calls = 0;
    const failing = async () => {
      calls++;
      throw new Error('still failing');
    };
    await consumePass(spool, failing);
    await consumePass(spool, failing);
    expect(calls).toBe(2);
  });

  it('passes over seed messages still under their lock and claims of other consumers, and releases no stale claims', async () => {
    const { spool, ids } = await delivered(2);
    await spool.createExclusive(names.lock(ids[0]!), text(''));
    const otherClaim = names.claimed(newId(), 'gone-1');
    await spool.createExclusive(otherClaim, text('theirs'));
    const seen: string[] = [];
    const result = await consumePass(spool, async (m) => void seen.push(m.id), { who: 'me' });
    expect(result).toEqual({ consumed: 1, failed: 0, held: 0 });
    expect(seen).toEqual([ids[1]]);
    expect(await listing(spool)).toEqual([names.delivered(ids[0]!), names.lock(ids[0]!), otherClaim].sort());
  });

  it('stops at the next entry once the signal is aborted, finishing the message in hand', async () => {
    const { spool, ids } = await delivered(3);
    const stop = new AbortController();
    const seen: string[] = [];
    const result = await consumePass(
      spool,
      async (m) => {
        seen.push(m.id);
        stop.abort();
      },
      { signal: stop.signal },
    );
    expect(result).toEqual({ consumed: 1, failed: 0, held: 0 });
    expect(seen).toHaveLength(1);
    expect((await listing(spool)).length).toBe(2);
    expect(await consumePass(spool, async () => undefined, { signal: stop.signal })).toEqual({
      consumed: 0,
      failed: 0,
      held: 0,
    });
    expect(ids).toHaveLength(3);
  });
});
