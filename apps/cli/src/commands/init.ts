/** `fanout init <spool>...`: create spools and give them an identity (idempotent). */
import { initSpool } from '@fanout/core';
import type { CliContext } from '../cli-context.js';
import { ExitStatus, type ExitStatusCode } from '../exit-status.js';
import { forEachSpool } from '../for-each-spool.js';
import { defineCommand } from './command-module.js';

/** Initialise each spool; one line per spool on stdout: location, uuid, `created` or `exists`. */
async function init(ctx: CliContext, refs: readonly string[]): Promise<ExitStatusCode> {
  return forEachSpool(ctx, refs, async (spool) => {
    const { identity, created } = await initSpool(spool);
    ctx.io.stdout.write(`${spool.location}\t${identity.uuid}\t${created ? 'created' : 'exists'}\n`);
    return ExitStatus.ok;
  });
}

/** `fanout init`. */
export const initCommand = defineCommand({
  name: 'init',
  description: 'create spools and give them an identity (idempotent)',
  arguments: [{ spec: '<spool...>', description: 'spools to create' }],
  examples: ['fanout init ./spool/in ./spool/out-a ./spool/out-b'],
  handler: init,
});
