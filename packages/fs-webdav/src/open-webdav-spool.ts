import type { SpoolBackend } from '@fanout/core';
import { WebdavBackend, type WebdavSpoolOptions } from './webdav-backend.js';

/**
 * Open the spool at `webdav+http://host:port/path` or `webdav+https://…`.
 * Nothing is sent until the first operation. Credentials belong in `options`
 * (the CLI takes them from `FANOUT_WEBDAV_USER` / `FANOUT_WEBDAV_PASSWORD` or a
 * config file), never in a URL typed on a command line.
 * @throws `EBADURL` for anything but a webdav+http(s) URL.
 */
export async function openWebdavSpool(url: string, options: WebdavSpoolOptions = {}): Promise<SpoolBackend> {
  return new WebdavBackend(url, options);
}
