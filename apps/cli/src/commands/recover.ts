/**
 * `fanout recover <spool>...`: roll back or complete interrupted transactions
 * (the destinations are found from the markers), then remove dead writers'
 * temp files. Exit status 3 when something was refused (quarantined), 1 when
 * a step failed (a removal the storage refused: left for the next recovery).
 */
import { type FanoutEvent, recover } from '@fanout/core';
import type { CliContext } from '../cli-context.js';
import { ExitStatus, type ExitStatusCode, exitStatusFor, worstStatus } from '../exit-status.js';
import { localOwnerProbe } from '../owner-probe.js';

/** Recover each spool named; with `--config` and none named, every configured spool. */
export async function recoverCommand(ctx: CliContext, refs: readonly string[], flags: { json?: boolean }): Promise<ExitStatusCode> {
  const targets = refs.length > 0 ? refs : [...(ctx.config?.spools.keys() ?? [])];
  if (targets.length === 0) {
    ctx.note('recover needs at least one spool (or --config with spools) (EUSAGE)');
    return ExitStatus.usage;
  }
  const json = flags.json === true;
  let status: ExitStatusCode = ExitStatus.ok;
  for (const ref of targets) {
    try {
      const spool = await ctx.open(ref);
      try {
        const onEvent = (event: FanoutEvent) => {
          if (json) ctx.json(event);
          else if (event.type === 'quarantined' || event.type === 'recovery-failed') ctx.note(event.error.oneLine());
          else if (event.type === 'unknown-entry') ctx.note(`${event.spool}: ${event.name}: not a message (${event.kind}); left alone`);
          else if (event.type === 'marker-in-flight') ctx.note(`${event.spool}: m${event.id}: in flight, owned by ${event.owner}; left alone`);
          else if (event.type === 'recovered' && ctx.verbose) ctx.note(`${spool.location}: ${event.id}: ${event.action}`);
        };
        const r = await recover({ spool, open: ctx.opener, ownerProbe: localOwnerProbe, onEvent });
        if (json) {
          ctx.json({ type: 'summary', spool: spool.location, rolledBack: r.rolledBack, rolledForward: r.rolledForward, inFlight: r.inFlight, refused: r.refused.length, failed: r.failed.length, tempsRemoved: r.tempsRemoved, unknown: r.unknown });
        } else {
          ctx.io.stdout.write(
            `${spool.location}: ${r.rolledBack} rolled back, ${r.rolledForward} rolled forward, ${r.inFlight} in flight, ${r.tempsRemoved} temp files removed, ` +
              `${r.unknown} unknown entries${r.refused.length > 0 ? `, ${r.refused.length} REFUSED (left in place; inspect them)` : ''}` +
              `${r.failed.length > 0 ? `, ${r.failed.length} FAILED (left in place for the next recovery)` : ''}\n`,
          );
        }
        if (r.refused.length > 0) status = worstStatus(status, ExitStatus.refused);
        if (r.failed.length > 0) status = worstStatus(status, ExitStatus.failed);
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
