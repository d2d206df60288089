import { describe, expect, it } from 'vitest';
import type { SpoolBackend } from '../backend/spool-backend.js';
import { FanoutError } from '../errors/fanout-error.js';
import { describeOp, type Machine, type Op } from '../protocol/ops.js';
import { acknowledgeMachine, claimMachine, giveBackMachine } from './consume-machines.js';

const spool = { location: '/D0' } as SpoolBackend;

/**
 * Drive `machine` with scripted answers (an Error is thrown into it); returns the operations it yielded and its result.
 */
function drive<T>(machine: Machine<T>, answers: unknown[]): { ops: string[]; result: T } {
  const ops: string[] = [];
  let step = machine.next();
  while (!step.done) {
    ops.push(describeOp(step.value as Op));
    const answer = answers.shift();
    step = answer instanceof Error ? machine.throw(answer) : machine.next(answer);
  }
  return { ops, result: step.value };
}

const file = (nlink: number) => ({ kind: 'file', size: 3, mtimeMs: 1, fileId: 'ino-7', nlink });

describe('the consumer machines (sans-IO)', () => {
  it('claim: skips a locked seed copy, renames d -> c, and hands out a file with one name at once', () => {
    expect(drive(claimMachine(spool, 'M0', 'who'), [file(1)])).toEqual({ ops: ['CL stat /D0 lM0'], result: undefined });
    expect(drive(claimMachine(spool, 'M0', 'who'), [undefined, undefined, file(1)])).toEqual({
      ops: ['CL stat /D0 lM0', 'CL rename /D0 dM0 -> cM0.who', 'CL stat /D0 cM0.who'],
      result: 'cM0.who',
    });
  });

  it('claim: a lost race (ENOENT) is no claim', () => {
    expect(
      drive(claimMachine(spool, 'M0', 'who'), [undefined, new FanoutError('ENOENT', 'gone')]).result,
    ).toBeUndefined();
  });

  it('claim: a claimed file with crash twins removes them and syncs before it is handed out (the fix of the consumed-twice defect)', () => {
    const { ops, result } = drive(claimMachine(spool, 'M0', 'who'), [
      undefined,
      undefined,
      file(2),
      ['wM0.TX1'],
      true,
      undefined,
    ]);
    expect(ops).toEqual([
      'CL stat /D0 lM0',
      'CL rename /D0 dM0 -> cM0.who',
      'CL stat /D0 cM0.who',
      'CL twins /D0 cM0.who',
      'CL remove /D0 wM0.TX1',
      'CL sync-dir /D0',
    ]);
    expect(result).toBe('cM0.who');
  });

  it('acknowledge: removes the claim, then syncs', () => {
    expect(drive(acknowledgeMachine(spool, 'cM0.who'), []).ops).toEqual(['CA remove /D0 cM0.who', 'CA sync-dir /D0']);
  });

  it('give back: renames a claim with one name back, and only drops one that has a twin', () => {
    expect(drive(giveBackMachine(spool, 'M0', 'cM0.who', 'dM0'), [file(1)]).ops).toEqual([
      'CR stat /D0 cM0.who',
      'CR rename /D0 cM0.who -> dM0',
      'CR sync-dir /D0',
    ]);
    expect(drive(giveBackMachine(spool, 'M0', 'cM0.who', 'dM0'), [file(2), ['dM0']]).ops).toEqual([
      'CR stat /D0 cM0.who',
      'CR twins /D0 cM0.who',
      'CR remove /D0 cM0.who',
      'CR sync-dir /D0',
    ]);
  });
});
