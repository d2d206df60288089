/** The npm `webdav-server` 2.6, started on loopback for tests, files kept in a temp directory. */
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { v2 as webdav } from 'webdav-server';

/** A running embedded server. */
export interface EmbeddedDavServer {
  /** `http://127.0.0.1:<port>/` */
  readonly baseUrl: string;
  readonly port: number;
  /** Stop listening (the files stay); `start()` listens again on the same port. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stop for good and remove the files. */
  dispose(): Promise<void>;
}

/** Options: a user that every request must authenticate as (HTTP Basic), or anonymous access. */
export interface EmbeddedDavOptions {
  readonly user?: { name: string; password: string };
  readonly port?: number;
}

export async function startEmbeddedDavServer(options: EmbeddedDavOptions = {}): Promise<EmbeddedDavServer> {
  const root = mkdtempSync(join(tmpdir(), 'fanout-webdav-server-'));
  const config: webdav.WebDAVServerOptions = { hostname: '127.0.0.1', port: options.port ?? 0 };
  if (options.user) {
    const users = new webdav.SimpleUserManager();
    const user = users.addUser(options.user.name, options.user.password, false);
    const privileges = new webdav.SimplePathPrivilegeManager();
    privileges.setRights(user, '/', ['all']);
    config.httpAuthentication = new webdav.HTTPBasicAuthentication(users, 'fanout-test');
    config.privilegeManager = privileges;
  }
  const server = new webdav.WebDAVServer(config);
  await new Promise<void>((resolve, reject) =>
    server.setFileSystem('/', new webdav.PhysicalFileSystem(root), (ok) =>
      ok ? resolve() : reject(new Error('setFileSystem failed')),
    ),
  );
  let port = options.port ?? 0;
  const start = () =>
    new Promise<void>((resolve) => {
      server.options.port = port;
      server.start((http?: Server) => {
        port = (http!.address() as AddressInfo).port;
        resolve();
      });
    });
  const stop = () =>
    new Promise<void>((resolve) => {
      const http = (server as unknown as { server?: Server }).server;
      // Cut idle keep-alive connections too, as a dying server would.
      http?.closeAllConnections?.();
      server.stop(() => resolve());
    });
  await start();
  return {
    get baseUrl() {
      return `http://127.0.0.1:${port}/`;
    },
    get port() {
      return port;
    },
    stop,
    start,
    async dispose() {
      await stop();
      rmSync(root, { recursive: true, force: true });
    },
  };
}
