/**
 * `fanout release <spool> <id>...|-|--all-held`: release held messages (`postsuper -H`), resetting their attempt
 * counts.
 */
import { releaseMessage } from '@fanout/core';
import type { CliContext } from '../cli-context.js';
import type { ExitStatusCode } from '../exit-status.js';
import { actOnMessages, each, type QueueActionFlags } from '../queue/act-on-messages.js';
import { defineCommand } from './command-module.js';

async function release(ctx: CliContext, ref: string, ids: string[], flags: QueueActionFlags): Promise<ExitStatusCode> {
  return actOnMessages(
    ctx,
    ref,
    ids,
    flags,
    each((spool, id) => releaseMessage(spool, id)),
  );
}

/** `fanout release`. */
export const releaseCommand = defineCommand({
  name: 'release',
  description:
    'release held messages: their attempt count is reset and h<id>.s waits again as s<id> (h<id>.d as d<id>)',
  arguments: [
    { spec: '<spool>', description: 'the spool the messages are in' },
    { spec: '[id...]', description: 'message ids; "-" reads one id per line from stdin' },
  ],
  options: [
    { flags: '--all-held', description: 'every held message of the spool' },
    { flags: '--json', description: 'one JSON object per message: {"id","outcome","name"} or {"id","error"}' },
  ],
  help:
    'The count goes first, then the rename, then a sync. ' +
    'A message that is not held exits 2; no such message exits 7.',
  examples: ['fanout release ./spool/in 01J9Z3K6Y8M2Q4R5S6T7V8W9X0', 'fanout release ./spool/in --all-held'],
  handler: release,
});
