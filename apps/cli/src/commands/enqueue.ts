/**
 * `fanout enqueue <spool> [<file>...|-]`: add messages atomically, streaming
 * each file, and print their ids in input order — only once they are durable.
 */
import { statSync } from 'node:fs';
import { type ContentSource, enqueue, FanoutError, readSpoolIdentity } from '@fanout/core';
import type { CliContext } from '../cli-context.js';
import { ExitStatus, type ExitStatusCode, exitStatusFor } from '../exit-status.js';
import { defineCommand } from './command-module.js';
import { readInputFile } from './input-file.js';

/**
 * Check the inputs before anything is enqueued, so a typo adds nothing. One `stat` each, made on the calling thread:
 * nothing else runs meanwhile, and a thread-pool round trip per file would cost more than the call.
 */
function checkInputs(files: readonly string[]): void {
  if (files.filter((f) => f === '-').length > 1) throw new FanoutError('EUSAGE', 'stdin ("-") given more than once');
  for (const file of files) {
    if (file === '-') continue;
    let st;
    try {
      st = statSync(file);
    } catch (cause) {
      throw new FanoutError(
        'EUSAGE',
        `cannot read input file: ${(cause as NodeJS.ErrnoException).code ?? String(cause)}`,
        { file, cause },
      );
    }
    if (st.isDirectory()) throw new FanoutError('EUSAGE', 'input is a directory, not a file', { file });
  }
}

/** Ids printed per write: one write(2) per id cost as much as enqueueing a small file on tmpfs. */
const IDS_PER_WRITE = 1024;

/** Print `ids`, one per line, in order. */
function printIds(ctx: CliContext, ids: readonly string[]): void {
  for (let k = 0; k < ids.length; k += IDS_PER_WRITE)
    ctx.io.stdout.write(`${ids.slice(k, k + IDS_PER_WRITE).join('\n')}\n`);
}

/** Enqueue the files (or stdin) into the spool; exit status 0, or that of the first error. */
async function enqueueFiles(ctx: CliContext, ref: string, files: readonly string[]): Promise<ExitStatusCode> {
  const inputs = files.length === 0 ? ['-'] : files;
  const ids: string[] = [];
  let failure: unknown;
  try {
    checkInputs(inputs);
    const spool = await ctx.open(ref);
    try {
      await readSpoolIdentity(spool);
      try {
        for (const input of inputs) {
          // Streamed: a file is never held in memory whole.
          const content: ContentSource = input === '-' ? ctx.io.stdin : readInputFile(input);
          ids.push(await enqueue(spool, content, { sync: false }));
        }
      } catch (err) {
        failure = err;
      }
      // One directory sync for all messages: an id is printed only once its s-name survives a crash.
      if (ids.length > 0) await spool.syncDir();
    } finally {
      await spool.close();
    }
  } catch (err) {
    failure ??= err;
    ids.length = 0; // the sync failed or never ran: durability unknown, so no id is promised
  }
  printIds(ctx, ids);
  if (failure === undefined) return ExitStatus.ok;
  ctx.reportError(failure);
  return exitStatusFor(failure);
}

/** `fanout enqueue`. */
export const enqueueCommand = defineCommand({
  name: 'enqueue',
  description: 'add messages atomically; prints one ID per line, in input order, once they are durable',
  arguments: [
    { spec: '<spool>', description: 'the spool to add to' },
    { spec: '[file...]', description: 'files to enqueue, each one message; "-" or none: stdin' },
  ],
  examples: ['fanout enqueue ./spool/in report.pdf invoice.xml', 'echo hello | fanout enqueue ./spool/in'],
  handler: enqueueFiles,
});
