/**
 * `fanout recover <spool>...`: roll back or complete interrupted transactions
 * (the destinations are found from the markers), then remove dead writers'
 * temp files. Exit status 3 when something was refused (quarantined), 1 when
 * a step failed (a removal the storage refused: left for the next recovery).
 */
import { type FanoutEvent, recover } from '@fanout/core';
import type { CliContext } from '../cli-context.js';
import { ExitStatus, type ExitStatusCode, worstStatus } from '../exit-status.js';
import { forEachSpool, spoolsOrConfigured } from '../for-each-spool.js';
import { localOwnerProbe } from '../owner-probe.js';
import { defineCommand } from './command-module.js';

/** The flags of `recover`. */
export interface RecoverFlags {
  readonly json?: boolean;
}

/** Recover each spool named; with `--config` and none named, every configured spool. */
async function recoverSpools(ctx: CliContext, refs: readonly string[], flags: RecoverFlags): Promise<ExitStatusCode> {
  const json = flags.json === true;
  return forEachSpool(ctx, spoolsOrConfigured(ctx, refs, 'recover'), async (spool) => {
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
    let status: ExitStatusCode = ExitStatus.ok;
    if (r.refused.length > 0) status = worstStatus(status, ExitStatus.refused);
    if (r.failed.length > 0) status = worstStatus(status, ExitStatus.failed);
    return status;
  });
}

/** `fanout recover`. */
export const recoverCommand = defineCommand({
  name: 'recover',
  description: 'roll back or complete interrupted attempts (destinations are found from their records); remove dead temp files',
  arguments: [{ spec: '[spool...]', description: 'spools to recover (default with --config: all configured spools)' }],
  options: [{ flags: '--json', description: 'print one JSON object per event and a summary object per spool' }],
  examples: ['fanout recover ./spool/in'],
  handler: recoverSpools,
});
