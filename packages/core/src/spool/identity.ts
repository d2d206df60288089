import { randomUUID } from 'node:crypto';
import type { SpoolBackend } from '../backend/spool-backend.js';
import { FanoutError, isFanoutError } from '../errors/fanout-error.js';
import { SPOOL_IDENTITY_FILE } from '../names/protocol-names.js';
import { runMachine } from '../protocol/executor.js';
import { publishTemp } from './publish-temp.js';
import { readSmall } from './read-small.js';
import { tempName } from './temp-name.js';

/** The on-disk format version of spools this code writes and reads. */
export const SPOOL_FORMAT = 1;

/** The content of `.fanout-spool`: who a spool is. */
export interface SpoolIdentity {
  /** Random UUID given by `init`; markers name spools by it. */
  readonly uuid: string;
  /** Format version. */
  readonly format: number;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Read and validate a spool's identity.
 * @throws `ENOTSPOOL` when `.fanout-spool` is missing, unreadable, or not a
 *   valid identity; `ENOTSPOOL` too when the container itself is missing.
 *
 * @example
 * ```ts
 * import { isFanoutError, readSpoolIdentity } from '@fanout/core';
 *
 * try {
 *   console.log((await readSpoolIdentity(spool)).uuid);
 * } catch (err) {
 *   if (isFanoutError(err, 'ENOTSPOOL')) console.error('not a spool: run initSpool first');
 *   else throw err;
 * }
 * ```
 */
export async function readSpoolIdentity(backend: SpoolBackend): Promise<SpoolIdentity> {
  let text: string;
  try {
    text = await readSmall(backend, SPOOL_IDENTITY_FILE, 4096);
  } catch (err) {
    if (isFanoutError(err, 'ENOENT', 'EBADENTRY')) {
      throw new FanoutError('ENOTSPOOL', 'not a fanout spool (no .fanout-spool; run `fanout init`)', {
        spool: backend.location,
        file: SPOOL_IDENTITY_FILE,
        cause: err,
      });
    }
    throw err;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    throw new FanoutError('ENOTSPOOL', 'corrupt spool identity (not JSON)', {
      spool: backend.location,
      file: SPOOL_IDENTITY_FILE,
      cause,
    });
  }
  const p = parsed as Partial<SpoolIdentity> & { fanout?: unknown };
  if (
    typeof p !== 'object' ||
    p === null ||
    typeof p.uuid !== 'string' ||
    !UUID.test(p.uuid) ||
    typeof p.format !== 'number'
  ) {
    throw new FanoutError('ENOTSPOOL', 'corrupt spool identity (missing uuid or format)', {
      spool: backend.location,
      file: SPOOL_IDENTITY_FILE,
    });
  }
  if (p.format !== SPOOL_FORMAT) {
    throw new FanoutError('ENOTSPOOL', `unsupported spool format ${p.format} (this fanout reads ${SPOOL_FORMAT})`, {
      spool: backend.location,
      file: SPOOL_IDENTITY_FILE,
    });
  }
  return { uuid: p.uuid, format: p.format };
}

/**
 * Create the spool if needed and give it an identity; idempotent: an existing
 * spool keeps its identity. Two concurrent inits agree on one identity (the
 * identity file is published without clobbering).
 *
 * @example
 * ```ts
 * import { initSpool, openSpool } from '@fanout/core';
 * import { posixDescriptor } from '@fanout/fs-posix/descriptor';
 *
 * const spool = await openSpool('/var/spool/fanout/outgoing', { backends: [posixDescriptor] });
 * const { identity, created } = await initSpool(spool); // idempotent
 * console.log(identity.uuid, created);
 * ```
 */
export async function initSpool(backend: SpoolBackend): Promise<{ identity: SpoolIdentity; created: boolean }> {
  await backend.ensureContainer();
  try {
    return { identity: await readSpoolIdentity(backend), created: false };
  } catch (err) {
    if (!isFanoutError(err, 'ENOTSPOOL')) throw err;
    const existing = await backend.stat(SPOOL_IDENTITY_FILE);
    if (existing !== undefined) throw err; // present but corrupt: never overwrite an identity
  }
  const identity: SpoolIdentity = { uuid: randomUUID(), format: SPOOL_FORMAT };
  const body = new TextEncoder().encode(`${JSON.stringify({ fanout: 'spool', ...identity })}\n`);
  const published = await runMachine(publishTemp('E', backend, tempName(), () => body, SPOOL_IDENTITY_FILE));
  if (!published.published) {
    if (!isFanoutError(published.error, 'EEXIST')) throw published.error;
    return { identity: await readSpoolIdentity(backend), created: false };
  }
  // The identity's name must be durable before anyone writes markers naming this UUID.
  await backend.syncDir();
  return { identity, created: true };
}
