/** Apache httpd with mod_dav on loopback, through scripts/apache-webdav.sh (this package's). */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const SCRIPT = resolve(fileURLToPath(import.meta.url), '../../../scripts/apache-webdav.sh');

/** Where Debian installs the server. */
export const APACHE_BIN = process.env.APACHE_BIN ?? '/usr/sbin/apache2';

export function apacheInstalled(): boolean {
  return existsSync(APACHE_BIN);
}

/** A free loopback port (the kernel's pick, released again for Apache to take). */
export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolvePort(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/** A running Apache serving a fresh temp directory. */
export interface ApacheDav {
  readonly baseUrl: string;
  readonly dataDir: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Stop and remove the data and state directories. */
  dispose(): Promise<void>;
}

export async function startApacheDav(): Promise<ApacheDav> {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'fanout-apache-data-'));
  const stateDir = mkdtempSync(join(tmpdir(), 'fanout-apache-state-'));
  const env = { ...process.env, FANOUT_APACHE_STATE: stateDir, APACHE_BIN };
  const script = async (action: 'start' | 'stop') => {
    await run('bash', [SCRIPT, action, dataDir, String(port)], { env });
  };
  await script('start');
  return {
    baseUrl: `http://127.0.0.1:${port}/`,
    dataDir,
    start: () => script('start'),
    stop: () => script('stop'),
    async dispose() {
      await script('stop');
      rmSync(dataDir, { recursive: true, force: true });
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}
