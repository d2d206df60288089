/**
 * `fanout list <spool> [--state …] [--json]`: one line per message — id,
 * size, age, state, attempts, last error (`mailq`, `postqueue -j`),
 * streamed from the spool's listing as it is read.
 */
import { listMessages, type MessageInfo, type MessageState } from '@fanout/core';
import type { CliContext } from '../cli-context.js';
import { ExitStatus, type ExitStatusCode } from '../exit-status.js';
import { formatBytes, formatDuration } from '../output/human-units.js';
import { defineCommand } from './command-module.js';

/** The flags of `list`. */
export interface ListFlags {
  readonly state?: MessageState;
  readonly json?: boolean;
}

/** One message as a line of the human listing (tab-separated, so `cut` and `awk` can take it apart). */
export function formatMessageLine(m: MessageInfo): string {
  const error = m.lastError ? `${m.lastError.code}: ${m.lastError.message.replace(/\s+/g, ' ')}` : '-';
  return `${m.id}\t${formatBytes(m.size)}\t${formatDuration(m.ageMs)}\t${m.state}\t${m.attempts}\t${error}\n`;
}

/** What `list --json` prints per message: at least id, state, size, ageMs, attempts. */
export function messageJson(m: MessageInfo): Record<string, unknown> {
  return {
    id: m.id,
    state: m.state,
    name: m.name,
    size: m.size,
    ageMs: m.ageMs,
    mtimeMs: m.mtimeMs,
    attempts: m.attempts,
    ...(m.lastError ? { lastError: m.lastError } : {}),
    ...(m.tx !== undefined ? { tx: m.tx } : {}),
  };
}

async function list(ctx: CliContext, ref: string, flags: ListFlags): Promise<ExitStatusCode> {
  const spool = await ctx.open(ref);
  try {
    if (flags.json !== true) ctx.io.stdout.write('ID\tSIZE\tAGE\tSTATE\tATTEMPTS\tLAST ERROR\n');
    for await (const m of listMessages(spool, flags.state !== undefined ? { state: flags.state } : {})) {
      if (flags.json === true) ctx.json(messageJson(m));
      else ctx.io.stdout.write(formatMessageLine(m));
    }
  } finally {
    await spool.close();
  }
  return ExitStatus.ok;
}

/** `fanout list`. */
export const listCommand = defineCommand({
  name: 'list',
  description:
    'one line per message: id, size, age, state (waiting, failed, held, in-flight), failed attempts, last error',
  arguments: [{ spec: '<spool>', description: 'a source or destination spool' }],
  options: [
    {
      flags: '--state <state>',
      description: 'only messages in this state',
      choices: ['waiting', 'held', 'in-flight', 'failed'],
    },
    {
      flags: '--json',
      description:
        'one JSON object per message: {"id","state","name","size","ageMs","mtimeMs","attempts","lastError"?,"tx"?}',
    },
  ],
  help:
    'States: waiting (s<id>; d<id> in a destination), failed (waiting, ' +
    'with failed attempts counted), held (h<id>.s, h<id>.d),\n' +
    'in-flight (taken by an attempt, claimed by a consumer, ' +
    'or being deleted). The listing is streamed: nothing is sorted.',
  examples: ['fanout list ./spool/in', 'fanout list ./spool/in --state held --json | jq -r .id'],
  handler: list,
});
