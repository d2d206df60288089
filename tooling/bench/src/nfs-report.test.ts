import { describe, expect, it } from 'vitest';
import {
  callsPerMessage,
  nfsFigures,
  type NfsJobResult,
  nfsRunOf,
  parseNfsJobOutput,
  renderNfsSection,
  totalCalls,
} from './nfs-report.js';

const result: NfsJobResult = {
  kind: 'fanout-nfs-bench',
  vers: '4.2',
  mount: '/mnt/nfs-a',
  mountOptions: 'nfs4 rw,relatime,vers=4.2,hard',
  messages: 300,
  size: 4096,
  destinations: 3,
  seconds: { fanout: [30, 20, 25], naive: [40, 50, 60], ceiling: [10, 12, 11] },
  counted: {
    fanout: {
      seconds: 31,
      calls: { lstat: 3000, 'lstat failed': 1500, open: 1200, link: 900, fsync: 1500 },
      fsyncFile: 900,
      fsyncDirectory: 600,
    },
    naive: { seconds: 52, calls: { open: 2400, fsync: 2100, unlink: 300 }, fsyncFile: 900, fsyncDirectory: 1200 },
    ceiling: { seconds: 12, calls: { open: 1200, unlink: 300 }, fsyncFile: 0, fsyncDirectory: 0 },
  },
  jobSeconds: 400,
};

/**
 * A VM console as runInNfsVm collects it: the harness's lines, the job's progress, its JSON line (UML's console ends
 * lines with \r\n).
 */
function consoleOf(json: string): string {
  return [
    '[real-nfs 43.2s] nfsd up, mounted: rw,vers=4.2',
    'nfs-bench: round 1/3 fanout: 30.00 s',
    `${json}\r`,
    '[real-nfs 80.1s] command exited 0',
    '',
  ].join('\n');
}

describe('parseNfsJobOutput', () => {
  it('finds the result line among the console output', () => {
    expect(parseNfsJobOutput(consoleOf(JSON.stringify(result)))).toEqual(result);
  });
  it('takes nothing that is not a complete result: no line, a cut line, a variant missing or with fewer rounds', () => {
    expect(parseNfsJobOutput('[real-nfs 1s] VM set-up FAILED: mount /mnt/nfs-a\n')).toBeUndefined();
    expect(parseNfsJobOutput(consoleOf(JSON.stringify(result).slice(0, 80)))).toBeUndefined();
    expect(
      parseNfsJobOutput(consoleOf(JSON.stringify({ ...result, seconds: { fanout: [1], naive: [1] } }))),
    ).toBeUndefined();
    expect(
      parseNfsJobOutput(consoleOf(JSON.stringify({ ...result, seconds: { ...result.seconds, ceiling: [1, 2] } }))),
    ).toBeUndefined();
    expect(
      parseNfsJobOutput(
        consoleOf(
          JSON.stringify({ ...result, counted: { fanout: result.counted.fanout, naive: result.counted.naive } }),
        ),
      ),
    ).toBeUndefined();
  });
});

describe('nfsFigures', () => {
  it('gives each variant its median, min–max, messages/s and ratios to the naive durable copy (overall and round by round)', () => {
    const [fanout, naive, ceiling] = nfsFigures(result);
    expect(fanout).toEqual({
      variant: 'fanout',
      median: 25,
      min: 20,
      max: 30,
      perSecond: 12,
      timesNaive: 0.5,
      timesNaiveByRound: [0.75, 0.4, 25 / 60],
    });
    expect(naive).toMatchObject({ variant: 'naive', median: 50, timesNaive: 1, timesNaiveByRound: [1, 1, 1] });
    expect(ceiling).toMatchObject({ variant: 'ceiling', median: 11, min: 10, max: 12, timesNaive: 0.22 });
  });
});

describe('the counted calls', () => {
  it('total the calls without counting failures twice, and list them per message, most first, with their failures', () => {
    expect(totalCalls(result.counted.fanout)).toBe(6600);
    expect(callsPerMessage(result.counted.fanout, 300)).toBe('lstat 10 (5.0 failed), fsync 5.0, open 4.0, link 3.0');
  });
});

describe('nfsRunOf', () => {
  const outcome = {
    vers: '4.2',
    status: 0,
    timedOut: false,
    output: consoleOf(JSON.stringify(result)),
    seconds: 500,
    limitSeconds: 1500,
  };
  it('reads a run that exited 0 with a result as measured', () => {
    expect(nfsRunOf(outcome)).toEqual({ vers: '4.2', result, vmSeconds: 500 });
  });
  it('says why a run was not measured, with the last lines of its output', () => {
    expect(nfsRunOf({ ...outcome, status: 125, output: '[real-nfs 9s] VM set-up FAILED: nfsd\n' })).toEqual({
      vers: '4.2',
      failed: 'the VM did not come up; last output: [real-nfs 9s] VM set-up FAILED: nfsd',
    });
    expect(nfsRunOf({ ...outcome, status: 124, timedOut: true, output: '' })).toEqual({
      vers: '4.2',
      failed: 'the VM was killed at its limit of 1500 s',
    });
    expect(
      nfsRunOf({ ...outcome, status: 1, output: 'a\nb\nnfs-bench: Error: D1: 299 delivered of 300\n' }),
    ).toMatchObject({
      failed: 'the job exited with status 1; last output: a / b / nfs-bench: Error: D1: 299 delivered of 300',
    });
    expect(nfsRunOf({ ...outcome, output: 'done\n' })).toMatchObject({
      failed: 'the job printed no result; last output: done',
    });
  });
});

describe('renderNfsSection', () => {
  const context = {
    job: { messages: 300, size: 4096, rounds: 3, destinations: 3 },
    loadStart: [1, 2, 3],
    loadEnd: [2.5, 2, 3],
  };
  it('tables the runs and the figures, and names each version that was not measured', () => {
    const text = renderNfsSection(
      [
        { vers: '4.2', result, vmSeconds: 500 },
        { vers: '3', failed: 'the VM did not come up' },
      ],
      context,
    );
    expect(text).toMatch(/^## Real NFS\n/);
    expect(text).toContain('| v4.2 | `nfs4 rw,relatime,vers=4.2,hard`');
    expect(text).toContain(
      '| v4.2 | fanOut staged, its defaults (fs-nfs) |     25.0 | 20.0–30.0' +
        ' |       12.0 |   0.500 | 0.75, 0.40, 0.42       |             22.0 | 5.00 (3.00 f + 2.00 d) |',
    );
    expect(text).toContain(
      '| v4.2 | naive durable copy                   |     50.0 | 40.0–60.0' +
        ' |       6.00 |    1.00 | 1.0, 1.0, 1.0          |             16.0 | 7.00 (3.00 f + 4.00 d) |',
    );
    expect(text).toContain(
      '| v4.2 | no fsync (ceiling, unsafe)           |     11.0 | 10.0–12.0' +
        ' |       27.3 |   0.220 | 0.25, 0.24, 0.18       |             5.00 | 0                      |',
    );
    expect(text).toContain('- v4.2, naive durable copy: open 8.0, fsync 7.0, unlink 1.0');
    expect(text).toContain('Host load average 1.00, 2.00, 3.00 at the start, 2.50, 2.00, 3.00 at the end.');
    expect(text).toContain('- **v3: not measured**: the VM did not come up');
  });
  it('says why nothing was measured instead of leaving the section out', () => {
    expect(renderNfsSection([], context, 'the real-NFS harness cannot run here: linux.uml is not installed')).toBe(
      '## Real NFS\n\nNot measured: the real-NFS harness cannot run here: linux.uml is not installed.',
    );
  });
});
