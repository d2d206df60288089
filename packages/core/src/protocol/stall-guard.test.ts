import { describe, expect, it } from 'vitest';
import { FanoutError } from '../errors/fanout-error.js';
import { guardStall } from './stall-guard.js';

const where = { spool: '/S', file: 'sM1' };

async function drain(chunks: AsyncIterable<Uint8Array>): Promise<number> {
  let n = 0;
  for await (const c of chunks) n += c.byteLength;
  return n;
}

describe('guardStall', () => {
  it('passes a source that keeps making progress through unchanged', async () => {
    async function* slow() {
      for (let i = 0; i < 5; i++) {
        await new Promise((r) => setTimeout(r, 20));
        yield new Uint8Array(10);
      }
    }
    expect(await drain(guardStall(slow(), 200, where))).toBe(50);
  });

  it('fails with ETIMEDOUT naming the message when the next chunk never comes', async () => {
    async function* stuck() {
      yield new Uint8Array(1);
      await new Promise(() => undefined); // a transform that never calls back
    }
    const err = await drain(guardStall(stuck(), 50, where)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FanoutError);
    expect((err as FanoutError).code).toBe('ETIMEDOUT');
    expect((err as FanoutError).oneLine()).toContain('sM1');
  });

  it('with a timeout of 0 it never times out', async () => {
    async function* one() {
      yield new Uint8Array(3);
    }
    expect(await drain(guardStall(one(), 0, where))).toBe(3);
  });
});
