import { FanoutError } from '@fanout/core';
import { fromErrno } from '@fanout/fs-posix';
import { describe, expect, it } from 'vitest';
import { ExitStatus, exitStatusFor, queueExitStatusFor, signalStatus, worstStatus } from './exit-status.js';

describe('exit statuses', () => {
  it('maps usage and configuration errors to 2', () => {
    for (const code of ['EUSAGE', 'EBADURL', 'ENOTSPOOL'] as const)
      expect(exitStatusFor(new FanoutError(code, 'x'))).toBe(2);
  });

  it('maps refused recovery (corrupt marker, foreign spool) to 3', () => {
    expect(exitStatusFor(new FanoutError('ECORRUPT', 'x'))).toBe(3);
    expect(exitStatusFor(new FanoutError('EFOREIGN', 'x'))).toBe(3);
  });

  it('maps too many open files (EMFILE, which fs-posix gives for EMFILE and ENFILE) to 6, not to a storage failure', () => {
    expect(exitStatusFor(new FanoutError('EMFILE', "open failed: EMFILE: too many open files, open '/s/p1.2'"))).toBe(
      ExitStatus.resources,
    );
    expect(ExitStatus.resources).toBe(6);
  });

  it('gives 6 for a native EMFILE or ENFILE as fs-posix (and fs-nfs, which uses its mapping) reports it', () => {
    for (const code of ['EMFILE', 'ENFILE']) {
      const native = Object.assign(new Error(`${code}: too many open files, open '/s/p1.2'`), { code });
      const err = fromErrno(native, 'open', { spool: '/s', file: 'p1.2' });
      expect(err.code).toBe('EMFILE');
      expect(err.oneLine()).toMatch(/^\/s: p1\.2: open failed: .*too many open files.* \(EMFILE\)$/);
      expect(exitStatusFor(err)).toBe(6);
    }
  });

  it('maps a location that is not a directory to 2 (issue 16: init ./a-file exited 1)', () => {
    expect(exitStatusFor(new FanoutError('EBADENTRY', 'x'))).toBe(2);
  });

  it('maps a spool that cannot be reached or read to 4 (issue 16: exited 1, "some messages failed")', () => {
    for (const code of ['EUNAVAILABLE', 'EIO', 'EACCES'] as const)
      expect(exitStatusFor(new FanoutError(code, 'x'))).toBe(ExitStatus.unavailable);
  });

  it('maps too many open files to 6', () => {
    expect(exitStatusFor(new FanoutError('EMFILE', 'x'))).toBe(ExitStatus.resources);
  });

  it("maps a message's own failure (a transform) and unexpected errors to 1", () => {
    expect(exitStatusFor(new FanoutError('ETRANSFORM', 'x'))).toBe(1);
    expect(exitStatusFor(new FanoutError('ENOSPC', 'x'))).toBe(1);
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
    expect(signalStatus('SIGHUP')).toBe(129);
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
