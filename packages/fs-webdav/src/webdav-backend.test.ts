import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FanoutError, type SpoolBackend } from '@fanout/core';
import { startEmbeddedDavServer, type EmbeddedDavServer } from './test-support/embedded-server.js';
import { startLossyProxy, type LossyProxy } from './test-support/lossy-proxy.js';
import { httpUrlOf, rawDav } from './test-support/dav-harness.js';
import { WebdavBackend } from './webdav-backend.js';
import type { RetryEvent } from './dav-transport.js';

const enc = new TextEncoder();
let spools = 0;

async function text(b: SpoolBackend, name: string): Promise<string> {
  const chunks: Uint8Array[] = [];
  for await (const c of b.read(name)) chunks.push(c);
  return Buffer.concat(chunks).toString();
}

async function names(b: SpoolBackend): Promise<string[]> {
  const out: string[] = [];
  for await (const e of b.list()) out.push(e.name);
  return out.sort();
}

async function failure(p: Promise<unknown>): Promise<FanoutError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(FanoutError);
  return err as FanoutError;
}

describe('WebdavBackend against webdav-server', () => {
  let server: EmbeddedDavServer;
  const open = async (base = server.baseUrl, options = {}) => {
    const b = new WebdavBackend(`webdav+${base}unit-${++spools}`, options);
    await b.ensureContainer();
    return b;
  };
  beforeAll(async () => {
    server = await startEmbeddedDavServer();
  });
  afterAll(async () => {
    await server?.dispose();
  });

  it('answers a MOVE that meets an existing name (412) with EEXIST and overwrites nothing', async () => {
    const b = await open();
    await b.createExclusive('d1', enc.encode('first'));
    await b.createExclusive('w1', enc.encode('second!'));
    expect((await failure(b.createExclusive('d1', enc.encode('third')))).code).toBe('EEXIST');
    const published = await failure(b.publish('w1', 'd1'));
    expect(published.code).toBe('EEXIST');
    expect(await text(b, 'd1')).toBe('first');
    expect(await text(b, 'w1')).toBe('second!');
    // The refused create left no temp behind.
    expect(await names(b)).toEqual(['d1', 'w1']);
    await b.close();
  });

  it('does not trust If-None-Match: webdav-server overwrites a PUT with it, so creation must go through MOVE', async () => {
    const b = await open();
    await b.createExclusive('d1', enc.encode('kept'));
    const status = await rawDav('PUT', `${httpUrlOf(b)}d1`, { 'If-None-Match': '*' });
    // webdav-server 2.6.3 ignores the precondition (its issue #103): a 2xx here is the reason for PUT + MOVE.
    expect(status).toBeGreaterThanOrEqual(200);
    expect(status).toBeLessThan(300);
    await b.close();
  });

  it('creates and publishes through a proxy that loses the MOVE reply, and still reports success', async () => {
    const proxy: LossyProxy = await startLossyProxy(server.port);
    try {
      const b = await open(proxy.baseUrl, { retryDelayMs: 1 });
      proxy.loseRepliesTo('MOVE');
      expect(await b.createExclusive('s1', enc.encode('hello'))).toBe(5);
      expect(await text(b, 's1')).toBe('hello');
      await b.createExclusive('w2.tx', enc.encode('staged'));
      proxy.loseRepliesTo('MOVE');
      await b.publish('w2.tx', 'd2');
      expect(await text(b, 'd2')).toBe('staged');
      expect(await names(b)).toEqual(['d2', 's1']);
      // Two creates and a publish, two of them sent twice: each retry's 404 was checked against the state, not trusted.
      expect(proxy.seen.filter((r) => r.startsWith('MOVE')).length).toBe(5);
      await b.close();
    } finally {
      await proxy.close();
    }
  });

  it('still reports EEXIST after a lost reply when the target is somebody else\u2019s file', async () => {
    const proxy = await startLossyProxy(server.port);
    try {
      const b = await open(proxy.baseUrl, { retryDelayMs: 1 });
      await b.createExclusive('d1', enc.encode('theirs'));
      await b.createExclusive('w1', enc.encode('ours'));
      proxy.loseRepliesTo('MOVE');
      expect((await failure(b.publish('w1', 'd1'))).code).toBe('EEXIST');
      expect(await text(b, 'd1')).toBe('theirs');
      expect(await text(b, 'w1')).toBe('ours');
      await b.close();
    } finally {
      await proxy.close();
    }
  });

  it('retries while the server is away and carries on once it is back', async () => {
    const b = await open(server.baseUrl, { timeoutMs: 2_000, retries: 5, retryDelayMs: 5 });
    await b.createExclusive('s1', enc.encode('before'));
    const retries: RetryEvent[] = [];
    const again = new WebdavBackend(b.location, {
      timeoutMs: 2_000,
      retries: 5,
      retryDelayMs: 5,
      onRetry: (event) => {
        retries.push(event);
        // Come back after the first failed attempt.
        if (retries.length === 1) void server.start();
      },
    });
    await server.stop();
    expect(await text(again, 's1')).toBe('before');
    expect(retries.length).toBeGreaterThanOrEqual(1);
    expect(retries[0]).toMatchObject({ method: 'PROPFIND', file: 's1', attempt: 1 });
    await again.close();
    await b.close();
  });

  it('gives EUNAVAILABLE naming the spool and the file when the server stays away, and keeps what it had', async () => {
    const b = await open(server.baseUrl, { timeoutMs: 1_000, retries: 2, retryDelayMs: 5 });
    await b.createExclusive('s1', enc.encode('kept'));
    await server.stop();
    try {
      for (const [op, file] of [
        [() => b.createExclusive('s2', enc.encode('x')), 's2'],
        [
          () =>
            b.createExclusive(
              's3',
              (async function* () {
                yield enc.encode('streamed');
              })(),
            ),
          's3',
        ],
        [() => b.stat('s1'), 's1'],
        [() => b.remove('s1'), 's1'],
      ] as const) {
        const err = await failure(op());
        expect(err.code).toBe('EUNAVAILABLE');
        expect(err.spool).toBe(b.location);
        expect(err.file).toBe(file);
        expect(err.oneLine()).toContain(b.location);
      }
    } finally {
      await server.start();
    }
    expect(await names(b)).toEqual(['s1']);
    expect(await text(b, 's1')).toBe('kept');
    await b.close();
  });

  it('sends the lock token in a tagged If: header, so the holder can remove its locked file without crashing webdav-server', async () => {
    const b = await open();
    await b.createExclusive('d1', enc.encode('locked'));
    const lock = await b.lock('d1', 'worker-1');
    expect(await b.isLocked('d1')).toBe(true);
    // webdav-server enforces locks per user, not per token: a second lock is refused even for the same user…
    expect((await failure(b.lock('d1', 'worker-2'))).code).toBe('EEXIST');
    // …but a same-user DELETE without any token would pass (see README); ours carries it.
    expect(await b.remove('d1')).toBe(true);
    expect(await b.stat('d1')).toBeUndefined();
    await lock.release();
    // The server is still alive.
    expect(await names(b)).toEqual([]);
    await b.close();
  });

  it('refuses to lock a missing name rather than create an empty file by LOCK', async () => {
    const b = await open();
    expect((await failure(b.lock('d9', 'w'))).code).toBe('ENOENT');
    expect(await names(b)).toEqual([]);
    await b.close();
  });
});

describe('WebdavBackend credentials', () => {
  let server: EmbeddedDavServer;
  const password = 'pa55-w0rd-s3cret';
  beforeAll(async () => {
    server = await startEmbeddedDavServer({ user: { name: 'alice', password } });
  });
  afterAll(async () => {
    await server?.dispose();
  });

  it('uses credentials from the options and never shows them in location, errors or retry events', async () => {
    const events: RetryEvent[] = [];
    const b = new WebdavBackend(`webdav+${server.baseUrl}creds`, {
      username: 'alice',
      password,
      onRetry: (e) => events.push(e),
    });
    await b.ensureContainer();
    await b.createExclusive('s1', enc.encode('secret message'));
    expect(await text(b, 's1')).toBe('secret message');
    expect(b.location).not.toContain(password);
    const err = await failure(b.publish('missing', 'd1'));
    const shown = `${err.oneLine()} ${inspect(err, { depth: 10 })} ${JSON.stringify(events)}`;
    expect(shown).not.toContain(password);
    expect(shown).not.toContain(Buffer.from(`alice:${password}`).toString('base64'));
    await b.close();
  });

  it('strips user:password from a URL out of the location and still authenticates with them', async () => {
    const url = `webdav+${server.baseUrl.replace('//', `//alice:${password}@`)}creds-url`;
    const b = new WebdavBackend(url);
    expect(b.location).toBe(`webdav+${server.baseUrl}creds-url`);
    await b.ensureContainer();
    expect(await b.createExclusive('s1', enc.encode('x'))).toBe(1);
    await b.close();
  });

  it('maps a refused login to EACCES without the password in the message', async () => {
    const b = new WebdavBackend(`webdav+${server.baseUrl}creds`, { username: 'alice', password: 'wrong-password-123' });
    const err = await failure(b.stat('s1'));
    expect(err.code).toBe('EACCES');
    expect(`${err.oneLine()} ${inspect(err, { depth: 10 })}`).not.toContain('wrong-password-123');
    await b.close();
  });
});
