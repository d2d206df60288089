import type { ContentSource, SpoolBackend } from '../backend/spool-backend.js';
import { FanoutError } from '../errors/fanout-error.js';
import { newId } from '../ids/ids.js';
import { isValidId, names } from '../names/protocol-names.js';
import { runMachine } from '../protocol/executor.js';
import { publishTemp } from '../spool/publish-temp.js';
import { tempName } from '../spool/temp-name.js';

/** Options of {@link enqueue}. */
export interface EnqueueOptions {
  /** Use this id instead of a fresh one (must match `[0-9A-Za-z_-]{1,128}`). */
  readonly id?: string;
  /**
   * Make the message durable before resolving (default true). Pass false to
   * enqueue several messages and call `spool.syncDir()` once at the end.
   */
  readonly sync?: boolean;
}

/**
 * Add a message to a spool atomically: the content goes to a temp `t…`, is
 * synced, and is then published as `s<id>` without clobbering, so no reader
 * ever sees a partial message. Returns the id. The caller is expected to have
 * checked the spool's identity (`readSpoolIdentity`).
 *
 * @throws `EEXIST` when a given id is already in the spool; `EUSAGE` for a
 *   malformed id; any backend error (the temp is removed first).
 *
 * @example
 * ```ts
 * import { enqueue } from '@fanout/core';
 * import { createReadStream } from 'node:fs';
 *
 * const id = await enqueue(outbox, new TextEncoder().encode('hello\n'));
 * const big = await enqueue(outbox, createReadStream('/tmp/message.eml')); // streamed
 * console.log(id, big);
 * ```
 */
export async function enqueue(
  spool: SpoolBackend,
  content: ContentSource,
  options: EnqueueOptions = {},
): Promise<string> {
  const id = options.id ?? newId();
  if (!isValidId(id))
    throw new FanoutError('EUSAGE', `invalid message id ${JSON.stringify(id)}`, { spool: spool.location });
  const published = await runMachine(publishTemp('E', spool, tempName(), () => content, names.source(id)));
  if (!published.published) throw published.error;
  // enqueue: the s-name is durable before we tell anyone the id; else a crash could lose an acknowledged message.
  if (options.sync !== false) await spool.syncDir();
  return id;
}
