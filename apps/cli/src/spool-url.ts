/**
 * From what an operator types to a backend (docs/DESIGN.md §5): a plain path or
 * `file:///…` → fs-posix; `nfs:///…` → fs-nfs; `webdav+http(s)://…` →
 * fs-webdav; `memory://name` → fs-memory. Backends other than posix are
 * imported on first use, so one that is missing or not built yet gives a
 * one-line `EBADURL` instead of a stack trace.
 */
import { FanoutError, type SpoolBackend } from '@fanout/core';
import { openPosixSpool } from '@fanout/fs-posix';

/** Credentials for backends that need them (WebDAV). Never printed, never taken from argv. */
export interface Credentials {
  readonly username?: string | undefined;
  readonly password?: string | undefined;
}

/** Options of {@link openSpool}. */
export interface OpenSpoolOptions {
  readonly credentials?: Credentials | undefined;
}

/** The backend families a location can name. */
export type SpoolScheme = 'posix' | 'nfs' | 'webdav' | 'memory';

const URL_SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):/;

/**
 * Which backend a location names.
 * @throws `EBADURL` for any scheme fanout does not know.
 */
export function spoolScheme(location: string): SpoolScheme {
  if (location === '') throw new FanoutError('EBADURL', 'empty spool location', { spool: location });
  const m = URL_SCHEME.exec(location);
  if (!m) return 'posix';
  switch (m[1]!.toLowerCase()) {
    case 'file':
      return 'posix';
    case 'nfs':
      return 'nfs';
    case 'webdav+http':
    case 'webdav+https':
      return 'webdav';
    case 'memory':
      return 'memory';
    default:
      throw new FanoutError('EBADURL', `unknown spool URL scheme "${m[1]}:" (use a path, file:///, nfs:///, webdav+http(s)://, memory://)`, { spool: location });
  }
}

/** Whether a URL carries a user name or password (`user:pass@host`). */
export function hasUserInfo(location: string): boolean {
  if (!URL_SCHEME.test(location)) return false;
  try {
    const url = new URL(location);
    return url.username !== '' || url.password !== '';
  } catch {
    return false;
  }
}

/** The location with any user info removed, safe to print. */
export function redactLocation(location: string): string {
  if (!hasUserInfo(location)) return location;
  const url = new URL(location);
  url.username = '';
  url.password = '';
  return url.toString();
}

/**
 * Refuse a location typed on the command line that carries credentials: argv
 * is visible to every user of the machine (`ps`), so they belong in the
 * environment or the config file.
 * @throws `EUSAGE` when the location has `user:pass@`.
 */
export function assertNoCredentialsOnArgv(location: string): void {
  if (hasUserInfo(location)) {
    throw new FanoutError(
      'EUSAGE',
      'credentials in a URL on the command line are refused (others can read argv); set FANOUT_WEBDAV_USER and FANOUT_WEBDAV_PASSWORD or use a config file',
      { spool: redactLocation(location) },
    );
  }
}

/** WebDAV credentials from the environment, if set. */
export function credentialsFromEnv(env: NodeJS.ProcessEnv = process.env): Credentials | undefined {
  const username = env.FANOUT_WEBDAV_USER;
  const password = env.FANOUT_WEBDAV_PASSWORD;
  if (username === undefined && password === undefined) return undefined;
  return { username, password };
}

type Opener = (location: string, options?: Record<string, unknown>) => Promise<SpoolBackend>;

/** Import a backend package and find its opener, or explain in one line why it is not there. */
async function loadOpener(pkg: string, exportName: string, location: string): Promise<Opener> {
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pkg)) as Record<string, unknown>;
  } catch (cause) {
    throw new FanoutError('EBADURL', `backend not available: ${pkg} could not be loaded (${cause instanceof Error ? cause.message.split('\n')[0] : String(cause)})`, { spool: location, cause });
  }
  const opener = mod[exportName];
  if (typeof opener !== 'function') {
    throw new FanoutError('EBADURL', `backend not available: ${pkg} has no ${exportName} (not built yet?)`, { spool: location });
  }
  return opener as Opener;
}

/**
 * Open the spool a location names. Does no I/O on the spool itself (call
 * `initSpool` or `readSpoolIdentity` next).
 * @throws `EBADURL` for an unknown scheme, a malformed URL or a backend that
 *   is not available; `EUSAGE` for credentials inside a URL.
 */
export async function openSpool(location: string, options: OpenSpoolOptions = {}): Promise<SpoolBackend> {
  const scheme = spoolScheme(location);
  if (scheme !== 'webdav' && hasUserInfo(location)) {
    throw new FanoutError('EBADURL', 'this kind of spool URL takes no user name or password', { spool: redactLocation(location) });
  }
  switch (scheme) {
    case 'posix':
      return openPosixSpool(location);
    case 'nfs':
      return (await loadOpener('@fanout/fs-nfs', 'openNfsSpool', location))(location);
    case 'memory':
      return (await loadOpener('@fanout/fs-memory', 'openMemorySpool', location))(location);
    case 'webdav': {
      // Credentials must come separately: a URL with them would end up in markers and messages.
      assertNoCredentialsOnArgv(location);
      const open = await loadOpener('@fanout/fs-webdav', 'openWebdavSpool', location);
      const c = options.credentials;
      return open(location, c?.username !== undefined || c?.password !== undefined ? { username: c?.username, password: c?.password } : {});
    }
  }
}
