import { FanoutError } from '@fanout/core';
import { describe, expect, it } from 'vitest';
import { ExitStatus, exitStatusFor, queueExitStatusFor, signalStatus, worstStatus } from './exit-status.js';

describe('exit statuses', () => {
  it('maps usage and configuration errors to 2', () => {
    for (const code of ['EUSAGE', 'EBADURL', 'ENOTSPOOL'] as const) expect(exitStatusFor(new FanoutError(code, 'x'))).toBe(2);
  });

  it('maps refused recovery (corrupt marker, foreign spool) to 3', () => {
    expect(exitStatusFor(new FanoutError('ECORRUPT', 'x'))).toBe(3);
    expect(exitStatusFor(new FanoutError('EFOREIGN', 'x'))).toBe(3);
  });

  it('maps storage failures and unexpected errors to 1', () => {
    expect(exitStatusFor(new FanoutError('EIO', 'x'))).toBe(1);
    expect(exitStatusFor(new Error('bug'))).toBe(1);
  });

  it('combines outcomes by severity: signal over usage over refused over failed over ok', () => {
    expect(worstStatus()).toBe(ExitStatus.ok);
    expect(worstStatus(0, 1, 0)).toBe(1);
    expect(worstStatus(1, 3)).toBe(3);
    expect(worstStatus(3, 2, 1)).toBe(2);
    expect(worstStatus(2, signalStatus('SIGINT'))).toBe(130);
    expect(signalStatus('SIGTERM')).toBe(143);
  });

  it('maps a message in flight to 5 and, in queue commands, a missing message to 7', () => {
    expect(exitStatusFor(new FanoutError('EINFLIGHT', 'x'))).toBe(ExitStatus.inFlight);
    expect(queueExitStatusFor(new FanoutError('ENOENT', 'x'))).toBe(ExitStatus.notFound);
    expect(queueExitStatusFor(new FanoutError('EINFLIGHT', 'x'))).toBe(5);
    expect(exitStatusFor(new FanoutError('ENOENT', 'x'))).toBe(1);
    expect(worstStatus(ExitStatus.notFound, ExitStatus.inFlight, ExitStatus.failed)).toBe(5);
    expect(worstStatus(ExitStatus.inFlight, ExitStatus.usage)).toBe(2);
  });
});
