/** `fanout hold <spool> <id>...|-`: hold messages (`postsuper -h`); no worker or consumer takes them until released. */
import { holdMessage } from '@fanout/core';
import type { CliContext } from '../cli-context.js';
import type { ExitStatusCode } from '../exit-status.js';
import { actOnMessages, each, type QueueActionFlags } from '../queue/act-on-messages.js';
import { defineCommand } from './command-module.js';

async function hold(ctx: CliContext, ref: string, ids: string[], flags: QueueActionFlags): Promise<ExitStatusCode> {
  return actOnMessages(
    ctx,
    ref,
    ids,
    flags,
    each((spool, id) => holdMessage(spool, id)),
  );
}

/** `fanout hold`. */
export const holdCommand = defineCommand({
  name: 'hold',
  description:
    'hold messages: s<id> becomes h<id>.s (d<id> in a destination: ' +
    'h<id>.d); no worker or consumer takes them until `fanout release`',
  arguments: [
    { spec: '<spool>', description: 'the spool the messages are in' },
    { spec: '<id...>', description: 'message ids; "-" reads one id per line from stdin' },
  ],
  options: [{ flags: '--json', description: 'one JSON object per message: {"id","outcome","name"} or {"id","error"}' }],
  help:
    'Safe beside running workers, recoverers and consumers: one atomic rename, ' +
    'synced before it is reported. A message a worker or consumer\n' +
    'holds right now is refused with exit status 5 (nothing changed; ' +
    'try again); an id with no message exits 7. Prints "<id>\\theld\\t<name>".',
  examples: [
    'fanout hold ./spool/in 01J9Z3K6Y8M2Q4R5S6T7V8W9X0',
    'fanout list ./spool/in --state failed --json | jq -r .id | fanout hold ./spool/in -',
  ],
  handler: hold,
});
