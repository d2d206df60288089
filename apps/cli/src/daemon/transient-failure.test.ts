import { FanoutError } from '@fanout/core';
import { describe, expect, it } from 'vitest';
import { isTransientFailure } from './transient-failure.js';

describe('transient failures of a message (retried on a later pass under --watch)', () => {
  it('are an uncommitted message that failed for want of a file descriptor', () => {
    expect(
      isTransientFailure({
        error: new FanoutError('EMFILE', 'open failed: EMFILE: too many open files'),
        committed: false,
      }),
    ).toBe(true);
  });

  it('are not a committed message, nor any other failure of the message or its storage', () => {
    expect(isTransientFailure({ error: new FanoutError('EMFILE', 'x'), committed: true })).toBe(false);
    for (const code of ['EIO', 'ENOSPC', 'EBADENTRY', 'ETRANSFORM'] as const) {
      expect(isTransientFailure({ error: new FanoutError(code, 'x'), committed: false })).toBe(false);
    }
    expect(isTransientFailure({ error: Object.assign(new Error('raw'), { code: 'EMFILE' }), committed: false })).toBe(
      false,
    );
  });
});
