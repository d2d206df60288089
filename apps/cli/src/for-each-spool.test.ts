import { PassThrough } from 'node:stream';
import { FanoutError, type SpoolBackend } from '@fanout/core';
import { describe, expect, it } from 'vitest';
import { CliContext } from './cli-context.js';
import { ExitStatus } from './exit-status.js';
import { forEachSpool, spoolsOrConfigured } from './for-each-spool.js';

/** A context whose spools are stand-ins: `bad` cannot be opened, every other one records its close. */
function fakeContext(closed: string[]): { ctx: CliContext; stderr: () => string } {
  const stderr = new PassThrough();
  let text = '';
  stderr.on('data', (c: Buffer) => (text += c.toString()));
  const ctx = new CliContext(
    { stdin: new PassThrough(), stdout: new PassThrough(), stderr, env: {} },
    false,
    undefined,
  );
  ctx.open = async (ref: string) => {
    if (ref === 'bad') throw new FanoutError('ENOTSPOOL', 'not a spool', { spool: ref });
    return { location: ref, close: async () => void closed.push(ref) } as unknown as SpoolBackend;
  };
  return { ctx, stderr: () => text };
}

describe('forEachSpool', () => {
  it('acts on every spool even after one fails, closes each one it opened, and returns the worst status', async () => {
    const closed: string[] = [];
    const { ctx, stderr } = fakeContext(closed);
    const acted: string[] = [];
    const status = await forEachSpool(ctx, ['a', 'bad', 'b', 'c'], async (spool) => {
      acted.push(spool.location);
      if (spool.location === 'b') throw new FanoutError('EIO', 'read failed', { spool: 'b' });
      return spool.location === 'c' ? ExitStatus.refused : ExitStatus.ok;
    });
    expect(acted).toEqual(['a', 'b', 'c']);
    expect(closed).toEqual(['a', 'b', 'c']);
    expect(stderr()).toBe('fanout: bad: not a spool (ENOTSPOOL)\nfanout: b: read failed (EIO)\n');
    expect(status).toBe(ExitStatus.usage);
  });

  it('defaults to every configured spool, and refuses none at all as a usage error', () => {
    const { ctx } = fakeContext([]);
    expect(spoolsOrConfigured(ctx, ['x'], 'status')).toEqual(['x']);
    expect(() => spoolsOrConfigured(ctx, [], 'status')).toThrow(/status needs at least one spool/);
  });
});
