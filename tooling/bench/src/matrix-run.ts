/**
 * The matrix as `pnpm bench` runs it: where its places are, its section of
 * docs/BENCHMARKS.md, and its JSON results and SVG chart beside that page.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderSvg } from './chart.js';
import { mountOfPath } from './machine.js';
import { measureMatrix, type MatrixHelpers, type MatrixReport } from './matrix.js';
import type { PlaceName } from './matrix-cases.js';
import { chartSpec, enqueueTable, matrixGoals, matrixPoints, matrixTable, tracedTable } from './matrix-report.js';
import type { BenchOptions } from './options.js';

/** Files the matrix writes next to docs/BENCHMARKS.md. */
export const MATRIX_JSON = 'bench-results.json';
export const MATRIX_SVG = 'bench-chart.svg';

/** Run the matrix on tmpfs (when `o.tmpfsDir` is one) and on the bench's disk directory; its report and Markdown. */
export async function runMatrix(
  o: BenchOptions,
  benchDir: string,
  helpers: MatrixHelpers,
): Promise<{ report: MatrixReport; markdown: string }> {
  const places: { name: PlaceName; dir: string }[] = [];
  const tmpfs = mountOfPath(o.tmpfsDir);
  if (tmpfs?.type === 'tmpfs') places.push({ name: 'tmpfs', dir: join(o.tmpfsDir, `fanout-bench-${process.pid}`) });
  else helpers.log(`bench: ${o.tmpfsDir} is not tmpfs (${tmpfs?.type ?? 'unknown'}): the matrix runs on disk only`);
  const disk = mountOfPath(benchDir);
  if (disk && disk.type !== 'tmpfs' && disk.type !== 'ramfs')
    places.push({ name: 'disk', dir: join(benchDir, 'matrix') });
  const cliPath = join(import.meta.dirname ?? '', '../../../apps/cli/bin/fanout.cjs');
  try {
    const report = await measureMatrix(
      {
        rounds: o.rounds,
        places,
        cliPath,
        strace: o.strace,
        stdinBytes: o.stdinBytes,
        messages: o.messages,
        manyMessages: o.manyMessages,
        largeMessages: o.largeMessages,
        hugeMessages: o.hugeMessages,
        manyOnDisk: o.manyOnDisk,
      },
      helpers,
    );
    return { report, markdown: matrixMarkdown(report) };
  } finally {
    for (const p of places) rmSync(p.dir, { recursive: true, force: true });
  }
}

function matrixMarkdown(report: MatrixReport): string {
  const where = Object.entries(report.places)
    .map(([k, v]) => `${k}: \`${v}\``)
    .join(', ');
  return [
    '## Issue 17: CPU per message, tmpfs and disk',
    '',
    `Every case's variants ran in alternating order (reversed every other round), ${report.rounds} ` +
      `rounds, each on fresh spools after a \`sync\` (${where}). \`fanout run\` is the command with its defaults, ` +
      `timed from outside with its start-up (about 0.1 s of it is node's own); \`fanOut in-process\` is the same ` +
      `fan-out (batch 32, concurrency 4, 16 threads, the fs the command picks) timed inside a fresh node process, ` +
      `as the copies are. The naive durable copy and the no-fsync copy, which the ratios refer to, are Node ` +
      `scripts making node:fs's synchronous calls, one message at a time; the no-fsync copy through the promise ` +
      `API is the same script awaiting each call, for comparison. ` +
      `CPU is user + system of that process (of the command, for \`fanout run\`). ` +
      `Spread is the fastest and slowest round. futex / other system calls are per message, from \`strace -f -c\` ` +
      `of an untimed \`fanout run\`, start-up included. Results as JSON: [${MATRIX_JSON}](${MATRIX_JSON}).`,
    '',
    `![fanout against its baselines, per case](${MATRIX_SVG})`,
    '',
    matrixTable(report),
    '',
    '### System calls per message (strace, untimed)',
    '',
    tracedTable(report),
    '',
    '### `fanout enqueue`',
    '',
    enqueueTable(report.enqueue),
    '',
    '### Goals of issue 17',
    '',
    ...matrixGoals(report),
  ].join('\n');
}

/** Write the matrix's JSON and its chart into `dir` (docs/). */
export async function writeMatrixFiles(report: MatrixReport, dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, MATRIX_JSON), `${JSON.stringify({ ...report, points: matrixPoints(report) }, null, 2)}\n`);
  writeFileSync(join(dir, MATRIX_SVG), `${await renderSvg(chartSpec(matrixPoints(report)))}\n`);
}
