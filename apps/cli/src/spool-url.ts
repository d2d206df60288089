/**
 * From what an operator types to a backend (docs/DESIGN.md §5), through the
 * core's registry (`openSpool` with the four backend descriptors): a plain
 * path or `file:///…` → fs-posix; `nfs:///…` → fs-nfs; `webdav+http(s)://…` →
 * fs-webdav; `memory://name` → fs-memory. Each backend is imported on first
 * use, so one that is missing or not built yet gives a one-line `EBADURL`
 * instead of a stack trace.
 */
import {
  backendFor,
  type BackendDescriptor,
  FanoutError,
  openSpool as openRegisteredSpool,
  type SpoolBackend,
} from '@fanout/core';
import { memoryDescriptor } from '@fanout/fs-memory/descriptor';
import { nfsDescriptor } from '@fanout/fs-nfs/descriptor';
import { posixDescriptor } from '@fanout/fs-posix/descriptor';
import { webdavDescriptor } from '@fanout/fs-webdav/descriptor';

/** The backends the command line opens, in the order its errors list them. */
export const CLI_BACKENDS: readonly BackendDescriptor[] = [
  posixDescriptor,
  nfsDescriptor,
  webdavDescriptor,
  memoryDescriptor,
];

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

const SCHEME_OF: ReadonlyMap<string, SpoolScheme> = new Map([
  [posixDescriptor.name, 'posix'],
  [nfsDescriptor.name, 'nfs'],
  [webdavDescriptor.name, 'webdav'],
  [memoryDescriptor.name, 'memory'],
]);

/**
 * Which backend a location names.
 * @throws `EBADURL` for any scheme fanout does not know.
 */
export function spoolScheme(location: string): SpoolScheme {
  return SCHEME_OF.get(backendFor(location, CLI_BACKENDS).name)!;
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
      'credentials in a URL on the command line are refused (others can read argv); ' +
        'set FANOUT_WEBDAV_USER and FANOUT_WEBDAV_PASSWORD or use a config file',
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

/**
 * Open the spool a location names. Does no I/O on the spool itself (call
 * `initSpool` or `readSpoolIdentity` next).
 * @throws `EBADURL` for an unknown scheme, a malformed URL or a backend that
 *   is not available; `EUSAGE` for credentials inside a WebDAV URL.
 */
export async function openSpool(location: string, options: OpenSpoolOptions = {}): Promise<SpoolBackend> {
  const scheme = spoolScheme(location);
  if (scheme !== 'webdav' && hasUserInfo(location)) {
    throw new FanoutError('EBADURL', 'this kind of spool URL takes no user name or password', {
      spool: redactLocation(location),
    });
  }
  // Credentials must come separately: a URL with them would end up in markers and messages.
  if (scheme === 'webdav') assertNoCredentialsOnArgv(location);
  return openRegisteredSpool(location, {
    backends: CLI_BACKENDS,
    credentials: scheme === 'webdav' ? options.credentials : undefined,
  });
}
