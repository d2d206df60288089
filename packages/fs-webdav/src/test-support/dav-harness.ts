/** A conformance harness over any WebDAV server URL: one fresh collection per backend. */
import type { ConformanceHarness } from '@fanout/core/testing';
import type { SpoolBackend } from '@fanout/core';
import { WebdavBackend, type WebdavSpoolOptions } from '../webdav-backend.js';

let counter = 0;

/**
 * Why some conformance checks do not apply to WebDAV, asserted rather than skipped: the protocol has no hard links
 * (the backend has no `link()`), and a collection can hold neither a symlink nor a FIFO for the harness to plant.
 */
export const DAV_NOT_APPLICABLE: readonly RegExp[] = [
  /^the backend has no hard links/,
  /^the harness cannot plant a symlink$/,
  /^the harness cannot plant a special file/,
];

/** Raw HTTP out of band (not through the backend), for planting and cleaning up. */
export async function rawDav(method: string, url: string, headers: Record<string, string> = {}): Promise<number> {
  const response = await fetch(url, { method, headers });
  await response.arrayBuffer();
  return response.status;
}

/** The HTTP URL of a backend's collection, from its credential-free location. */
export function httpUrlOf(backend: SpoolBackend): string {
  return `${backend.location.replace(/^webdav\+/, '')}/`;
}

export function davHarness(
  baseUrl: () => string,
  options: WebdavSpoolOptions & { bigFileBytes?: number } = {},
): ConformanceHarness {
  return {
    async create() {
      const url = `webdav+${baseUrl()}spool-${process.pid}-${++counter}`;
      const backend = new WebdavBackend(url, options);
      await backend.ensureContainer();
      return backend;
    },
    async destroy(backend) {
      await backend.close();
      await rawDav('DELETE', httpUrlOf(backend));
    },
    async plant(backend, name, kind) {
      if (kind !== 'directory') return false;
      const status = await rawDav('MKCOL', `${httpUrlOf(backend)}${encodeURIComponent(name)}/`);
      if (status !== 201) throw new Error(`MKCOL for a planted directory answered ${status}`);
      return true;
    },
    async removeContainer(backend) {
      const status = await rawDav('DELETE', httpUrlOf(backend));
      if (status < 200 || status > 299) throw new Error(`DELETE of the collection answered ${status}`);
    },
    bigFileBytes: options.bigFileBytes ?? 64 * 1024 * 1024,
  };
}
