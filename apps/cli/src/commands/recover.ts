/**
 * `fanout recover <spool>...`: roll back or complete interrupted transactions
 * (the destinations are found from the markers), then remove dead writers'
 * temp files. Exit status 3 when something was refused (quarantined), 1 when
 * a step failed (a removal the storage refused: left for the next recovery).
 */
import { discardRecord, FanoutError, type FanoutEvent, recover } from '@fanout/core';
import type { CliContext } from '../cli-context.js';
import { ExitStatus, type ExitStatusCode, queueExitStatusFor, worstStatus } from '../exit-status.js';
import { forEachSpool, spoolsOrConfigured } from '../for-each-spool.js';
import { localOwnerProbe } from '../owner-probe.js';
import { defineCommand } from './command-module.js';
import { positiveInt } from './option-values.js';

/** The flags of `recover`. */
export interface RecoverFlags {
  readonly json?: boolean;
  readonly discardRecord?: boolean;
  readonly maxAttempts?: number;
}

/**
 * `recover --discard-record <spool> <record>...`: the way out of a
 * quarantined record (see `discardRecord`): its messages go back to waiting
 * (or held, if their count reached the limit), a committed one is refused
 * (exit 3, nothing changed), and the record is removed.
 */
async function discardRecords(ctx: CliContext, refs: readonly string[], flags: RecoverFlags): Promise<ExitStatusCode> {
  const [ref, ...records] = refs;
  if (ref === undefined || records.length === 0)
    throw new FanoutError(
      'EUSAGE',
      'recover --discard-record needs the spool and the record names: fanout recover --discard-record <spool> m<TX>...',
    );
  let status: ExitStatusCode = ExitStatus.ok;
  const spool = await ctx.open(ref);
  try {
    for (const record of records) {
      try {
        const r = await discardRecord(
          spool,
          record,
          flags.maxAttempts !== undefined ? { maxAttempts: flags.maxAttempts } : {},
        );
        if (flags.json === true) ctx.json({ type: 'discarded', spool: spool.location, ...r });
        else
          ctx.io.stdout.write(
            `${spool.location}: ${record}: discarded; ${r.givenBack.length} message(s) ` +
              `waiting again${r.givenBack.length > 0 ? ` (${r.givenBack.join(' ')})` : ''}` +
              `, ${r.claimsRemoved} claim(s) removed\n`,
          );
      } catch (err) {
        status = worstStatus(status, queueExitStatusFor(err));
        if (flags.json === true) ctx.json({ type: 'discard-failed', spool: spool.location, record, error: err });
        else ctx.reportError(err);
      }
    }
  } finally {
    await spool.close();
  }
  return status;
}

/** Recover each spool named; with `--config` and none named, every configured spool. */
async function recoverSpools(ctx: CliContext, refs: readonly string[], flags: RecoverFlags): Promise<ExitStatusCode> {
  if (flags.discardRecord === true) return discardRecords(ctx, refs, flags);
  const json = flags.json === true;
  return forEachSpool(ctx, spoolsOrConfigured(ctx, refs, 'recover'), async (spool) => {
    const onEvent = (event: FanoutEvent) => {
      if (json) ctx.json(event);
      else if (event.type === 'quarantined' || event.type === 'recovery-failed') ctx.note(event.error.oneLine());
      else if (event.type === 'unknown-entry')
        ctx.note(`${event.spool}: ${event.name}: not a message (${event.kind}); left alone`);
      else if (event.type === 'marker-in-flight')
        ctx.note(`${event.spool}: m${event.id}: in flight, owned by ${event.owner}; left alone`);
      else if (event.type === 'marker-awaiting-owner')
        ctx.note(
          `${event.spool}: m${event.id}: recovered; the record stays until its owner ${event.owner} is proven dead ` +
            `or finishes (it may still write copies)`,
        );
      else if (event.type === 'recovered' && ctx.verbose) ctx.note(`${spool.location}: ${event.id}: ${event.action}`);
    };
    const r = await recover({
      spool,
      open: ctx.opener,
      ownerProbe: localOwnerProbe,
      onEvent,
      ...(flags.maxAttempts !== undefined ? { maxAttempts: flags.maxAttempts } : {}),
    });
    if (json) {
      ctx.json({
        type: 'summary',
        spool: spool.location,
        rolledBack: r.rolledBack,
        rolledForward: r.rolledForward,
        inFlight: r.inFlight,
        awaitingOwner: r.awaitingOwner,
        refused: r.refused.length,
        failed: r.failed.length,
        tempsRemoved: r.tempsRemoved,
        unknown: r.unknown,
      });
    } else {
      const refused =
        r.refused.length > 0
          ? `, ${r.refused.length} REFUSED (left in place; inspect them with \`fanout status\`, ` +
            `clear one with \`fanout recover --discard-record ${spool.location} <record>\`)`
          : '';
      const failed = r.failed.length > 0 ? `, ${r.failed.length} FAILED (left in place for the next recovery)` : '';
      ctx.io.stdout.write(
        `${spool.location}: ${r.rolledBack} rolled back, ${r.rolledForward} rolled forward, ` +
          `${r.inFlight} in flight, ${r.awaitingOwner > 0 ? `${r.awaitingOwner} awaiting their owner, ` : ''}` +
          `${r.tempsRemoved} temp files removed, ` +
          `${r.unknown} unknown entries${refused}${failed}\n`,
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
  description:
    'roll back or complete interrupted attempts (destinations are found from their records); remove dead temp files',
  arguments: [
    {
      spec: '[spool...]',
      description:
        'spools to recover (default with --config: all configured spools); ' +
        'with --discard-record: the spool, then record names',
    },
  ],
  options: [
    { flags: '--json', description: 'print one JSON object per event and a summary object per spool' },
    {
      flags: '--discard-record',
      description:
        'clear quarantined attempt records (m<TX>, x<TX>) that recovery refuses: ' +
        'their messages go back to waiting, the record is removed; an attempt that ' +
        'committed messages is refused (exit 3), a record that does not exist exits 7',
    },
    {
      flags: '--max-attempts <n>',
      description: 'a message given back whose failed attempts reached this is held instead (default 5)',
      parse: positiveInt,
    },
  ],
  help:
    'A quarantined record (corrupt, torn, or naming a spool that is ' +
    'not what it says) is left in place, and its messages with it.\n' +
    '--discard-record takes each message it holds by the fence (p<id>.<TX> ' +
    '-> b<id>.<TX>; an owner still running loses its commit) and gives it\n' +
    'back as s<id>; staged copies w<id>.<TX> it may have left in destinations ' +
    'stay invisible to consumers. `fanout status` lists such records.',
  examples: ['fanout recover ./spool/in', 'fanout recover --discard-record ./spool/in m01J9Z3K6Y8M2Q4R5S6T7V8W9X0'],
  handler: recoverSpools,
});
