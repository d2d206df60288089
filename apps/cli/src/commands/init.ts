/** `fanout init <spool>...`: create spools and give them an identity (idempotent). */
import { initSpool } from '@fanout/core';
import type { CliContext } from '../cli-context.js';
import { ExitStatus, type ExitStatusCode, exitStatusFor, worstStatus } from '../exit-status.js';

/** Initialise each spool; one line per spool on stdout: location, uuid, `created` or `exists`. */
export async function initCommand(ctx: CliContext, refs: readonly string[]): Promise<ExitStatusCode> {
  let status: ExitStatusCode = ExitStatus.ok;
  for (const ref of refs) {
    try {
      const spool = await ctx.open(ref);
      try {
        const { identity, created } = await initSpool(spool);
        ctx.io.stdout.write(`${spool.location}\t${identity.uuid}\t${created ? 'created' : 'exists'}\n`);
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
