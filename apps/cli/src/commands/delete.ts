/** `fanout delete <spool> <id>...|-|--all-held`: delete waiting or held messages, durably (`postsuper -d`). */
import { deleteMessages } from '@fanout/core';
import type { CliContext } from '../cli-context.js';
import type { ExitStatusCode } from '../exit-status.js';
import { actOnMessages, type QueueActionFlags } from '../queue/act-on-messages.js';
import { defineCommand } from './command-module.js';

async function remove(ctx: CliContext, ref: string, ids: string[], flags: QueueActionFlags): Promise<ExitStatusCode> {
  return actOnMessages(ctx, ref, ids, flags, (spool, group) => deleteMessages(spool, group));
}

/** `fanout delete`. */
export const deleteCommand = defineCommand({
  name: 'delete',
  description:
    'delete waiting or held messages for good: renamed to z<id>, their attempt count removed, then removed and synced',
  arguments: [
    { spec: '<spool>', description: 'the spool the messages are in' },
    { spec: '[id...]', description: 'message ids; "-" reads one id per line from stdin' },
  ],
  options: [
    { flags: '--all-held', description: 'every held message of the spool' },
    { flags: '--json', description: 'one JSON object per message: {"id","outcome"} or {"id","error"}' },
  ],
  help:
    'Never delete a message by hand (rm): this command takes it by ' +
    'an atomic rename, so a worker that took it first wins (exit 5,\n' +
    'nothing changed), and refuses (exit 5) a message that an attempt ' +
    'record still lists: run `fanout recover` first. No such message: exit 7.',
  examples: ['fanout delete ./spool/in 01J9Z3K6Y8M2Q4R5S6T7V8W9X0', 'fanout delete ./spool/in --all-held --json'],
  handler: remove,
});
