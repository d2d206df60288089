/**
 * Where the ids of `hold`, `release` and `delete` come from: the arguments,
 * `-` (one id per line on stdin, streamed), or `--all-held` (every held
 * message of the spool, streamed from its listing). Ids are handed out in
 * small groups, so a long list on stdin is never held in memory whole.
 */
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { FanoutError, listMessages, type SpoolBackend } from '@fanout/core';

/** Ids per group handed to a command (a delete checks the attempt records once per group). */
export const ID_GROUP = 256;

/**
 * The ids named by `args` (`-` reads stdin) or, with `allHeld`, the held messages of `spool`; in groups of at most
 * {@link ID_GROUP}.
 */
export async function* messageIds(
  args: readonly string[],
  stdin: Readable,
  spool: SpoolBackend,
  allHeld: boolean,
): AsyncGenerator<string[]> {
  if (allHeld && args.length > 0) throw new FanoutError('EUSAGE', '--all-held takes no ids');
  if (!allHeld && args.length === 0)
    throw new FanoutError('EUSAGE', 'name at least one message id (or "-" to read them from stdin)');
  let group: string[] = [];
  const add = function* (id: string) {
    group.push(id);
    if (group.length >= ID_GROUP) {
      yield group;
      group = [];
    }
  };
  if (allHeld) {
    // The held are collected a group at a time, then acted on, so the command never renames under its own listing
    // cursor for long.
    for await (const m of listMessages(spool, { state: 'held' })) yield* add(m.id);
  } else {
    for (const arg of args) {
      if (arg !== '-') {
        yield* add(arg);
        continue;
      }
      for await (const line of createInterface({ input: stdin, crlfDelay: Infinity })) {
        const id = line.trim();
        if (id !== '') yield* add(id);
      }
    }
  }
  if (group.length > 0) yield group;
}
