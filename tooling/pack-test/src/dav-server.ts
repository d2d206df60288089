/** A WebDAV server on loopback (npm `webdav-server`) for the fs-webdav README example. */
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { v2 as webdav } from 'webdav-server';

/** A running server and how to stop it. */
export interface DavServer {
  /** `http://127.0.0.1:<port>/` */
  readonly baseUrl: string;
  dispose(): Promise<void>;
}

/** Start an anonymous server over a fresh temp directory. */
export async function startDavServer(): Promise<DavServer> {
  const root = mkdtempSync(join(tmpdir(), 'fanout-pack-test-dav-'));
  const server = new webdav.WebDAVServer({ hostname: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve, reject) =>
    server.setFileSystem('/', new webdav.PhysicalFileSystem(root), (ok) =>
      ok ? resolve() : reject(new Error('setFileSystem failed')),
    ),
  );
  const http = await new Promise<Server>((resolve) => server.start((started?: Server) => resolve(started!)));
  const { port } = http.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/`,
    async dispose() {
      http.closeAllConnections();
      await new Promise<void>((resolve) => server.stop(() => resolve()));
      rmSync(root, { recursive: true, force: true });
    },
  };
}
