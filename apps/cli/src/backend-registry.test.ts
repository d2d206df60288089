import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI_BACKENDS, openSpool } from './spool-url.js';

const CLI_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');
const scratch = mkdtempSync(join(tmpdir(), 'fanout-registry-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const DESCRIPTOR_MODULES = [
  '@fanout/fs-posix/descriptor',
  '@fanout/fs-nfs/descriptor',
  '@fanout/fs-webdav/descriptor',
  '@fanout/fs-memory/descriptor',
];

const SAMPLE: Record<string, string> = {
  '@fanout/fs-posix': join(scratch, 'posix'),
  '@fanout/fs-nfs': `nfs://${join(scratch, 'nfs')}`,
  '@fanout/fs-webdav': 'webdav+http://127.0.0.1:9/spool',
  '@fanout/fs-memory': 'memory://registry-test',
};

describe('the backend descriptors the CLI opens spools with', () => {
  // Hard links are the one capability the protocol asks about, and `link` is how a backend says it has them.
  const HARD_LINKS: Record<string, boolean> = {
    '@fanout/fs-posix': true,
    '@fanout/fs-nfs': true,
    '@fanout/fs-webdav': false,
    '@fanout/fs-memory': true,
  };

  it.each(CLI_BACKENDS.map((d) => [d.name] as const))(
    '%s opens spools that have link() exactly where the storage has hard links',
    async (name) => {
      const spool = await openSpool(SAMPLE[name]!);
      try {
        expect(typeof spool.link === 'function').toBe(HARD_LINKS[name]);
      } finally {
        await spool.close();
      }
    },
  );

  it('names the URL and the schemes offered for an unknown scheme', async () => {
    await expect(openSpool('ftp://h/x')).rejects.toMatchObject({
      code: 'EBADURL',
      spool: 'ftp://h/x',
      message:
        'no backend for the URL scheme "ftp:" (this application opens a path, ' +
        'file:, nfs:, webdav+http:, webdav+https:, memory:)',
    });
  });

  // Runs the built packages in a child process whose module hooks report every module it loads.
  it('loads only the backend a location names, and none when the descriptors are imported', async () => {
    const hooks = `let port; export function initialize(d) { port = d.port; }
      export async function resolve(s, c, next) { const r = await next(s, c); port.postMessage(r.url); return r; }`;
    const script = `
      import { register } from 'node:module';
      import { MessageChannel } from 'node:worker_threads';
      const { port1, port2 } = new MessageChannel();
      const loaded = [];
      port1.on('message', (url) => loaded.push(url));
      port1.unref();
      register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hooks)}), {
        data: { port: port2 },
        transferList: [port2],
      });
      const settle = () => new Promise((r) => setTimeout(r, 50));
      const { openSpool } = await import('@fanout/core');
      const backends = await Promise.all(
        ${JSON.stringify(DESCRIPTOR_MODULES)}.map(async (m) => Object.values(await import(m))[0]),
      );
      await settle();
      const afterImport = [...loaded];
      const spool = await openSpool(${JSON.stringify(join(scratch, 'lazy'))}, { backends });
      await settle();
      console.log(JSON.stringify({ afterImport, afterOpen: loaded, location: spool.location }));`;
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
      cwd: CLI_DIR,
    });
    const { afterImport, afterOpen, location } = JSON.parse(stdout) as {
      afterImport: string[];
      afterOpen: string[];
      location: string;
    };
    const backendEntry = (pkg: string) => (url: string) => url.includes(`/${pkg}/dist/index.js`);
    expect(afterImport.filter((u) => u.includes('/dist/descriptor.js'))).toHaveLength(4);
    for (const pkg of ['fs-posix', 'fs-nfs', 'fs-webdav', 'fs-memory'])
      expect(afterImport.some(backendEntry(pkg)), pkg).toBe(false);
    expect(location).toBe(join(scratch, 'lazy'));
    expect(afterOpen.some(backendEntry('fs-posix'))).toBe(true);
    for (const pkg of ['fs-nfs', 'fs-webdav', 'fs-memory']) expect(afterOpen.some(backendEntry(pkg)), pkg).toBe(false);
    expect(afterOpen.some((u) => u.includes('/node_modules/webdav/'))).toBe(false);
  });
});
