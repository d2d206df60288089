import { describe, expect, it } from 'vitest';
import { renderSvg } from './chart.js';
import { matrixCases, parseStraceSummary } from './matrix-cases.js';
import type { MatrixReport, MatrixResult } from './matrix.js';
import { chartSpec, matrixGoals, matrixPoints, matrixTable } from './matrix-report.js';

const STRACE = `% time     seconds  usecs/call     calls    errors syscall
------ ----------- ----------- --------- --------- ------------------
 92.60  101.388611        1737     58365      9012 futex
  0.38    0.418835           9     45799     21326 statx
  0.23    0.251385          19     12966           close
  0.00    0.000021           7         3           epoll_create1
------ ----------- ----------- --------- --------- ------------------
100.00  109.497330        1483     73838     30356 total
`;

describe('the matrix', () => {
  it('reads futex and the other calls out of strace -c, without its total line', () => {
    const c = parseStraceSummary(STRACE);
    expect(c.futex).toBe(58365);
    expect(c.other).toBe(45799 + 12966 + 3);
    expect(c.byName.get('statx')).toBe(45799);
  });

  it('runs 1, 3 and 10 destinations, 1 KiB to 16 MiB, and the many-message case on disk only when asked', () => {
    const shape = { messages: 3000, manyMessages: 30000, largeMessages: 300, hugeMessages: 10, manyOnDisk: false };
    const tmpfs = matrixCases('tmpfs', shape);
    expect(tmpfs.map((c) => c.destinations)).toEqual([1, 3, 10, 3, 3, 3, 3]);
    expect(tmpfs.map((c) => c.size)).toEqual([4096, 4096, 4096, 1024, 262144, 16777216, 4096]);
    expect(tmpfs.at(-1)!.count).toBe(30000);
    expect(matrixCases('disk', shape)).toHaveLength(6);
    expect(matrixCases('disk', { ...shape, manyOnDisk: true })).toHaveLength(7);
  });

  const result = (variant: MatrixResult['variant'], seconds: number[]): MatrixResult => ({
    place: 'tmpfs',
    destinations: 3,
    size: 4096,
    count: 3000,
    variant,
    seconds,
    cpuSeconds: seconds,
    maxRssBytes: [1e8],
  });
  const report: MatrixReport = {
    places: { tmpfs: '/dev/shm/x', disk: '/tmp/x' },
    rounds: 3,
    results: [
      result('fanout run', [2, 3, 4]),
      result('fanOut in-process', [1, 1.2, 1.1]),
      result('naive durable copy', [1, 1, 1]),
      result('no-fsync copy', [0.8, 1, 0.9]),
      result('protocol floor', [0.5, 0.45, 0.4]),
    ],
    traced: [
      {
        place: 'tmpfs',
        destinations: 3,
        size: 4096,
        count: 3000,
        futexPerMessage: 1.5,
        otherPerMessage: 37,
        top: [['statx', 15]],
      },
    ],
    enqueue: [],
  };

  it('gives each variant its ratio to the no-fsync copy of the same case, and says which goals it meets', () => {
    const points = matrixPoints(report);
    expect(points.find((p) => p.variant === 'fanOut in-process')!.timesNoFsync).toBeCloseTo(1.1 / 0.9);
    expect(points.find((p) => p.variant === 'fanout run')!.cpuMicrosPerMessage).toBeCloseTo(1000);
    const goals = matrixGoals(report).join('\n');
    expect(goals).toContain('fanOut in-process takes **1.22 ×** the no-fsync copy: goal ≤ 1.5 **met**');
    expect(goals).toContain('fanout run takes **3.33 ×** the no-fsync copy: goal ≤ 1.5 **missed**');
    expect(goals).toContain('**1.50 futex** (goal ≤ 20 **met**) and **37.0 other**');
    expect(goals).toContain('takes **0.500 ×** the no-fsync copy; fanOut in-process takes **2.44 ×** the floor.');
    expect(matrixTable(report)).toContain('1.50 / 37.0');
  });

  it('draws the chart as SVG', async () => {
    const svg = await renderSvg(chartSpec(matrixPoints(report)));
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('no-fsync copy');
  });
});
