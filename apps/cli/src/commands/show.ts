/** `fanout show <spool> <id> [--content] [--json]`: everything known about one message (`postcat -q`). */
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { FanoutError, showMessage } from '@fanout/core';
import type { CliContext } from '../cli-context.js';
import { ExitStatus, type ExitStatusCode, queueExitStatusFor } from '../exit-status.js';
import { formatBytes, formatDuration } from '../output/human-units.js';
import { defineCommand } from './command-module.js';
import { messageJson } from './list.js';

/** The flags of `show`. */
export interface ShowFlags {
  readonly content?: boolean;
  readonly json?: boolean;
}

async function show(ctx: CliContext, ref: string, id: string, flags: ShowFlags): Promise<ExitStatusCode> {
  if (flags.content === true && flags.json === true)
    throw new FanoutError(
      'EUSAGE',
      '--content and --json cannot be combined (--content writes the message itself to stdout)',
    );
  const spool = await ctx.open(ref);
  try {
    const m = await showMessage(spool, id);
    if (flags.content === true) {
      await pipeline(Readable.from(spool.read(m.name)), ctx.io.stdout, { end: false });
      return ExitStatus.ok;
    }
    if (flags.json === true) {
      ctx.json({ ...messageJson(m), spool: spool.location });
      return ExitStatus.ok;
    }
    const lines = [
      `id: ${m.id}`,
      `spool: ${spool.location}`,
      `file: ${m.name}`,
      `state: ${m.state}`,
      `size: ${m.size} bytes (${formatBytes(m.size)})`,
      `enqueued: ${new Date(m.mtimeMs).toISOString()} (${formatDuration(m.ageMs)} ago)`,
      `attempts: ${m.attempts}`,
      ...(m.lastError
        ? [
            `last error: ${m.lastError.code}: ${m.lastError.message}`,
            `last failed: ${new Date(m.lastError.atMs).toISOString()}`,
          ]
        : []),
      ...(m.tx !== undefined ? [`attempt: ${m.tx}`] : []),
    ];
    ctx.io.stdout.write(`${lines.join('\n')}\n`);
    return ExitStatus.ok;
  } catch (err) {
    ctx.reportError(err);
    return queueExitStatusFor(err);
  } finally {
    await spool.close();
  }
}

/** `fanout show`. */
export const showCommand = defineCommand({
  name: 'show',
  description: 'everything known about one message: its file, state, size, age, failed attempts and last error',
  arguments: [
    { spec: '<spool>', description: 'the spool the message is in' },
    { spec: '<id>', description: 'the message id' },
  ],
  options: [
    { flags: '--content', description: 'write the message itself to stdout instead (streamed)' },
    { flags: '--json', description: 'one JSON object, the fields of `list --json` and "spool"' },
  ],
  help: 'No such message: exit status 7.',
  examples: [
    'fanout show ./spool/in 01J9Z3K6Y8M2Q4R5S6T7V8W9X0',
    'fanout show ./spool/in 01J9Z3K6Y8M2Q4R5S6T7V8W9X0 --content > message.eml',
  ],
  handler: show,
});
