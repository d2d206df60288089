/**
 * The loop that `hold`, `release` and `delete` share: open the spool, act on
 * each id, print one line (or one JSON object) per message, and exit with
 * the worst status: 5 when a message was in flight, 7 when there was no such
 * message, 2 for a malformed id; the other messages are still acted on.
 */
import { FanoutError, type QueueCommandResult, type SpoolBackend } from '@fanout/core';
import type { CliContext } from '../cli-context.js';
import { ExitStatus, type ExitStatusCode, queueExitStatusFor, worstStatus } from '../exit-status.js';
import { messageIds } from './message-ids.js';

/** The flags the three commands share. */
export interface QueueActionFlags {
  readonly json?: boolean;
  readonly allHeld?: boolean;
}

/** Act on every id named (`act` gets a group; each result or error stands for the id at its place). */
export async function actOnMessages(
  ctx: CliContext,
  ref: string,
  ids: readonly string[],
  flags: QueueActionFlags,
  act: (spool: SpoolBackend, group: readonly string[]) => Promise<(QueueCommandResult | FanoutError)[]>,
): Promise<ExitStatusCode> {
  let status: ExitStatusCode = ExitStatus.ok;
  const spool = await ctx.open(ref);
  try {
    for await (const group of messageIds(ids, ctx.io.stdin, spool, flags.allHeld === true)) {
      const results = await act(spool, group);
      results.forEach((r, k) => {
        const id = group[k]!;
        if (r instanceof FanoutError) {
          status = worstStatus(status, queueExitStatusFor(r));
          if (flags.json === true) ctx.json({ id, error: r });
          else ctx.reportError(r);
          return;
        }
        if (flags.json === true) ctx.json(r);
        else ctx.io.stdout.write(`${id}\t${r.outcome}${r.name !== undefined ? `\t${r.name}` : ''}\n`);
      });
    }
  } finally {
    await spool.close();
  }
  return status;
}

/** One message at a time: a thrown FanoutError is that message's result. */
export function each(
  fn: (spool: SpoolBackend, id: string) => Promise<QueueCommandResult>,
): (spool: SpoolBackend, group: readonly string[]) => Promise<(QueueCommandResult | FanoutError)[]> {
  return async (spool, group) => {
    const out: (QueueCommandResult | FanoutError)[] = [];
    for (const id of group) {
      try {
        out.push(await fn(spool, id));
      } catch (err) {
        if (!(err instanceof FanoutError)) throw err;
        out.push(err);
      }
    }
    return out;
  };
}
