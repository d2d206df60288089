/**
 * How many file descriptors `fanout run` gives each route's fan-out
 * (`maxOpenFiles` of `@fanout/core`): what the soft open-file limit
 * (`ulimit -n`, systemd's `LimitNOFILE`) leaves once the descriptors open at
 * start and a reserve are taken off, shared between the routes. Linux only
 * (`/proc/self/limits`, `/proc/self/fd`); elsewhere no budget is set, and
 * fs-posix's waiting for descriptors is all there is.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { MIN_OPEN_FILES } from '@fanout/core/internal';

/**
 * Descriptors kept out of the routes' budgets: the progress bar's count of the
 * source, a transform's own files, WebDAV connections being set up, the
 * standard streams a child inherits: what the CLI may open beside the fan-outs.
 */
export const RESERVED_DESCRIPTORS = 16;

/** The soft limit on open files from `/proc/self/limits`; undefined if unlimited or unknown. */
export function softOpenFileLimit(limitsText: string): number | undefined {
  const m = /^Max open files\s+(\S+)/m.exec(limitsText);
  if (!m || m[1] === 'unlimited') return undefined;
  const n = Number(m[1]);
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

/**
 * Each route's `maxOpenFiles` for a soft limit `limit`, with `openNow`
 * descriptors already open: `(limit − openNow − RESERVED_DESCRIPTORS) / routes`,
 * at least {@link MIN_OPEN_FILES} (a limit too small even for that still runs:
 * fs-posix waits for descriptors).
 */
export function routeOpenFiles(limit: number, openNow: number, routes: number): number {
  const share = Math.floor((limit - openNow - RESERVED_DESCRIPTORS) / Math.max(1, routes));
  return Math.max(MIN_OPEN_FILES, share);
}

/** {@link routeOpenFiles} for this process, or undefined where its limit cannot be read. */
export function processRouteOpenFiles(routes: number): number | undefined {
  let limit: number | undefined;
  let openNow: number;
  try {
    limit = softOpenFileLimit(readFileSync('/proc/self/limits', 'utf8'));
    // A directory of one entry per descriptor: small, since the limit bounds it.
    openNow = readdirSync('/proc/self/fd').length;
  } catch {
    return undefined;
  }
  return limit === undefined ? undefined : routeOpenFiles(limit, openNow, routes);
}
