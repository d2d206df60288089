import { FanoutError } from '@fanout/core';

/** A `webdav+http(s)://` spool location taken apart. */
export interface WebdavLocation {
  /** The location without credentials, as written into markers and messages. */
  readonly location: string;
  /** The collection's HTTP(S) URL, without credentials, ending in `/`. */
  readonly collectionUrl: URL;
  /** User name found in the URL's user part, if any (the CLI only passes one from a config file). */
  readonly username: string | undefined;
  /** Password found in the URL's user part, if any. */
  readonly password: string | undefined;
}

const SCHEME = /^webdav\+(https?):\/\//i;

/**
 * Parse `webdav+http://host:port/path` or `webdav+https://…`. Any
 * `user:password@` is split off so it can never reach `location`.
 * @throws `EBADURL` for anything else.
 */
export function parseWebdavLocation(raw: string): WebdavLocation {
  const m = SCHEME.exec(raw);
  let url: URL | undefined;
  // WHATWG parsing skips extra slashes after http:, so `webdav+http:///path` would become host "path".
  const authority = m ? /^[^/?#]*/.exec(raw.slice(m[0].length))![0].replace(/^.*@/, '') : '';
  if (m && authority !== '') {
    try {
      url = new URL(`${m[1]!.toLowerCase()}://${raw.slice(m[0].length)}`);
    } catch {
      url = undefined;
    }
  }
  if (!m || !url || url.hostname === '') {
    // Never echo the raw string: it may carry a password.
    throw new FanoutError('EBADURL', 'not a webdav+http(s)://host[:port]/path URL', { spool: redactUserInfo(raw) });
  }
  const username = url.username === '' ? undefined : decodeURIComponent(url.username);
  const password = url.password === '' ? undefined : decodeURIComponent(url.password);
  url.username = '';
  url.password = '';
  url.hash = '';
  url.search = '';
  if (!url.pathname.endsWith('/')) url.pathname = `${url.pathname}/`;
  const location = `webdav+${url.toString()}`.replace(/\/$/, url.pathname === '/' ? '/' : '');
  return { location, collectionUrl: url, username, password };
}

/** `raw` with anything between `//` and `@` replaced, for error messages about unparsable URLs. */
export function redactUserInfo(raw: string): string {
  return raw.replace(/\/\/[^/@]*@/, '//');
}
