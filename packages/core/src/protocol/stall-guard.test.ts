import { describe, expect, it } from 'vitest';
import { FanoutError } from '../errors/fanout-error.js';
import { guardStall, StallWatch } from './stall-guard.js';

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

describe('StallWatch', () => {
  it('fails a call that stops asking for data (a destination that no longer answers) and keeps track of it', async () => {
    const watch = new StallWatch(40, { spool: '/D', file: 'wM1.TX' });
    let finish!: (n: number) => void;
    const hungCall = new Promise<number>((resolve) => (finish = resolve));
    const started = Date.now();
    const err = await watch.bound(hungCall).catch((e: unknown) => e);
    expect((err as FanoutError).code).toBe('ETIMEDOUT');
    // a quarter over the stall timeout: guardStall speaks first upstream
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
    expect(watch.hung).toBeDefined();
    let returned = false;
    void watch.hung!.then(() => (returned = true));
    finish(3);
    await watch.hung;
    expect(returned).toBe(true);
  });

  it('lets a call that keeps making progress run as long as it needs', async () => {
    const watch = new StallWatch(40, { spool: '/D', file: 'wM1.TX' });
    const slow = (async () => {
      for (let i = 0; i < 6; i++) {
        await new Promise((r) => setTimeout(r, 20));
        watch.touch();
      }
      return 6;
    })();
    expect(await watch.bound(slow)).toBe(6);
    expect(watch.hung).toBeUndefined();
  });

  it('never rejects unhandled when a call it gave up on fails late', async () => {
    const watch = new StallWatch(10, { spool: '/D', file: 'wM1.TX' });
    let fail!: (e: Error) => void;
    const call = new Promise<number>((_, reject) => (fail = reject));
    await watch.bound(call).catch(() => undefined);
    fail(new Error('EIO, late'));
    await expect(watch.hung).resolves.toBeUndefined();
  });
});
