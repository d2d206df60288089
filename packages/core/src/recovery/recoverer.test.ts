import { describe, expect, it } from 'vitest';
import type { SpoolBackend } from '../backend/spool-backend.js';
import { FanoutError, type FanoutErrorCode } from '../errors/fanout-error.js';
import { encodeClaim, readClaim } from './recoverer.js';

/** A spool whose only file answers reads with `answer`: bytes, or an error of the given code. */
function spoolReading(answer: Uint8Array | FanoutErrorCode): SpoolBackend {
  return {
    location: 'test://spool',
    // eslint-disable-next-line @typescript-eslint/require-await
    async *read(name: string): AsyncIterable<Uint8Array> {
      if (typeof answer === 'string')
        throw new FanoutError(answer, 'read failed', { spool: 'test://spool', file: name });
      yield answer;
    },
  } as unknown as SpoolBackend;
}

const owner = { host: 'mail-1', bootId: 'boot-A', pidNamespace: '4026531836', pid: 100, startTime: '5000' };

describe('readClaim (R1)', () => {
  it('reads a claim this code wrote, and calls a missing one gone', async () => {
    const claim = { owner, claimedMs: 7, leaseMs: 60_000 };
    await expect(readClaim(spoolReading(encodeClaim(claim)), 'r01J9Z.tx1_1')).resolves.toEqual(claim);
    await expect(readClaim(spoolReading('ENOENT'), 'r01J9Z.tx1_1')).resolves.toBeUndefined();
  });

  it.each(['EBADENTRY', 'ECORRUPT', 'EACCES'] as const)(
    'calls a file that cannot be our claim (%s) foreign',
    async (code) => {
      await expect(readClaim(spoolReading(code), 'r01J9Z.tx1_1')).resolves.toBe('foreign');
    },
  );

  it('calls a file with other content foreign', async () => {
    await expect(readClaim(spoolReading(new TextEncoder().encode('results,1,2\n')), 'r01J9Z.tx1_1')).resolves.toBe(
      'foreign',
    );
  });

  // Once, any failure made the file 'foreign': recovery skipped to the next generation, and with a failure
  // that persists (a dead disk, a crashed machine) it searched for a free generation for ever.
  it.each(['EIO', 'EUNAVAILABLE', 'ETIMEDOUT'] as const)(
    'passes a failure that says nothing about the file (%s) on',
    async (code) => {
      await expect(readClaim(spoolReading(code), 'r01J9Z.tx1_1')).rejects.toMatchObject({ code });
    },
  );
});
