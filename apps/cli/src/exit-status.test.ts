import { FanoutError } from '@fanout/core';
import { describe, expect, it } from 'vitest';
import { ExitStatus, exitStatusFor, signalStatus, worstStatus } from './exit-status.js';

describe('exit statuses', () => {
  it('maps usage and configuration errors to 2', () => {
    for (const code of ['EUSAGE', 'EBADURL', 'ENOTSPOOL'] as const) expect(exitStatusFor(new FanoutError(code, 'x'))).toBe(2);
  });

  it('maps refused recovery (corrupt marker, foreign spool) to 3', () => {
    expect(exitStatusFor(new FanoutError('ECORRUPT', 'x'))).toBe(3);
    expect(exitStatusFor(new FanoutError('EFOREIGN', 'x'))).toBe(3);
  });

  it('maps a location that is not a directory to 2 (issue 16: init ./a-file exited 1)', () => {
    expect(exitStatusFor(new FanoutError('EBADENTRY', 'x'))).toBe(2);
  });

  it('maps a spool that cannot be reached or read to 4 (issue 16: exited 1, "some messages failed")', () => {
    for (const code of ['EUNAVAILABLE', 'EIO', 'EACCES'] as const) expect(exitStatusFor(new FanoutError(code, 'x'))).toBe(ExitStatus.unavailable);
  });

  it("maps a message's own failure (a transform) and unexpected errors to 1", () => {
    expect(exitStatusFor(new FanoutError('ETRANSFORM', 'x'))).toBe(1);
    expect(exitStatusFor(new Error('bug'))).toBe(1);
  });

  it('combines outcomes by severity: signal over usage over refused over failed over ok', () => {
    expect(worstStatus()).toBe(ExitStatus.ok);
    expect(worstStatus(0, 1, 0)).toBe(1);
    expect(worstStatus(1, 3)).toBe(3);
    expect(worstStatus(3, 2, 1)).toBe(2);
    expect(worstStatus(2, signalStatus('SIGINT'))).toBe(130);
    expect(worstStatus(1, ExitStatus.unavailable, 0)).toBe(ExitStatus.unavailable);
    expect(worstStatus(ExitStatus.unavailable, 3)).toBe(3);
    expect(worstStatus(2, ExitStatus.unavailable)).toBe(2);
    expect(signalStatus('SIGTERM')).toBe(143);
  });
});
