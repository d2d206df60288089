/**
 * The loop that `init`, `recover` and `status` share: for each spool named,
 * open it, act on it, report what went wrong in one line, close it. One spool
 * that fails does not stop the others; the status is the worst of all.
 */
import { FanoutError, type SpoolBackend } from '@fanout/core';
import type { CliContext } from './cli-context.js';
import { ExitStatus, type ExitStatusCode, exitStatusFor, worstStatus } from './exit-status.js';

/** Open each spool in turn, run `act` on it and close it; resolve to the worst status. */
export async function forEachSpool(
  ctx: CliContext,
  refs: readonly string[],
  act: (spool: SpoolBackend) => Promise<ExitStatusCode>,
): Promise<ExitStatusCode> {
  let status: ExitStatusCode = ExitStatus.ok;
  for (const ref of refs) {
    try {
      const spool = await ctx.open(ref);
      try {
        status = worstStatus(status, await act(spool));
      } finally {
        await spool.close();
      }
    } catch (err) {
      ctx.reportError(err);
      status = worstStatus(status, exitStatusFor(err));
    }
  }
  return status;
}

/**
 * The spools a command acts on: those named, else (with `--config`) every configured spool.
 * @throws `EUSAGE` when that leaves none.
 */
export function spoolsOrConfigured(ctx: CliContext, refs: readonly string[], command: string): readonly string[] {
  const targets = refs.length > 0 ? refs : [...(ctx.config?.spools.keys() ?? [])];
  if (targets.length === 0)
    throw new FanoutError('EUSAGE', `${command} needs at least one spool (or --config with spools)`);
  return targets;
}
