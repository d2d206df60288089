/**
 * A fanout spool in a WebDAV collection (RFC 4918), through the `webdav`
 * client: exclusive creation by PUT to a unique temp name and MOVE with
 * `Overwrite: F`, publication by the same MOVE, DELETE, streamed PROPFIND
 * listings, streamed GET, and LOCK/UNLOCK for the seed protocol's locks.
 */
import { randomUUID } from 'node:crypto';
import {
  FanoutError,
  assertPlainName,
  tempName,
  type ContentSource,
  type CreateOptions,
  type EntryStat,
  type SpoolBackend,
  type SpoolEntry,
} from '@fanout/core';
import { statusError, type Where } from './dav-errors.js';
import { DavTransport, readableOf, type DavReply, type RetryEvent } from './dav-transport.js';
import { encodeXml, parseMultistatus, type DavResource } from './multistatus.js';
import { parseWebdavLocation } from './webdav-url.js';

/** Options of {@link WebdavBackend} and {@link openWebdavSpool}. */
export interface WebdavSpoolOptions {
  /** User name (from `FANOUT_WEBDAV_USER` or a config file; never from argv). */
  readonly username?: string | undefined;
  /** Password (from `FANOUT_WEBDAV_PASSWORD` or a config file; never from argv, never printed). */
  readonly password?: string | undefined;
  /** Longest silence of the server, per request, before it counts as lost. Default 30 000 ms. */
  readonly timeoutMs?: number | undefined;
  /** How many times a failed request is sent again (connection errors, timeouts, 5xx). Default 4. */
  readonly retries?: number | undefined;
  /** First delay between retries, doubled each time (capped at 5 s). Default 250 ms. */
  readonly retryDelayMs?: number | undefined;
  /** Timeout asked for each LOCK, in seconds. Default 3600. */
  readonly lockTimeoutSeconds?: number | undefined;
  /** Called before each retry, e.g. to log it. Gets no credentials. */
  readonly onRetry?: ((event: RetryEvent) => void) | undefined;
}

const PROPS = '<D:resourcetype/><D:getcontentlength/><D:getlastmodified/><D:getetag/>';
const propfindBody = (props: string) =>
  `<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:"><D:prop>${props}</D:prop></D:propfind>`;

/** A WebDAV lock held by {@link WebdavBackend.lock}. */
export interface WebdavLock {
  /** Release the lock (`UNLOCK`). Resolves even if the lock was already gone. */
  release(): Promise<void>;
}

/** One spool = one WebDAV collection. See the package README for guarantees and limits. */
export class WebdavBackend implements SpoolBackend {
  readonly location: string;
  private readonly collectionUrl: URL;
  private readonly transport: DavTransport;
  private readonly lockTimeoutSeconds: number;
  /** Lock tokens this backend holds, by name: sent back in `If:` headers, which the client does not do. */
  private readonly heldLocks = new Map<string, string>();
  /** The tail of the queue of MOVEs onto each target name, see {@link WebdavBackend.oneMoveAtATime}. */
  private readonly movesByTarget = new Map<string, Promise<void>>();

  /**
   * @param url `webdav+http://host:port/path` or `webdav+https://…`; a
   *   `user:password@` part is used only when `options` carry no credentials,
   *   and never appears in {@link WebdavBackend.location}.
   */
  constructor(url: string, options: WebdavSpoolOptions = {}) {
    const parsed = parseWebdavLocation(url);
    this.location = parsed.location;
    this.collectionUrl = parsed.collectionUrl;
    const fromOptions = options.username !== undefined || options.password !== undefined;
    this.lockTimeoutSeconds = options.lockTimeoutSeconds ?? 3600;
    this.transport = new DavTransport({
      spool: this.location,
      collectionUrl: this.collectionUrl,
      username: fromOptions ? options.username : parsed.username,
      password: fromOptions ? options.password : parsed.password,
      timeoutMs: options.timeoutMs ?? 30_000,
      retries: options.retries ?? 4,
      retryDelayMs: options.retryDelayMs ?? 250,
      onRetry: options.onRetry,
    });
  }

  async ensureContainer(): Promise<void> {
    const where = { spool: this.location };
    const existing = await this.describe(this.collectionUrl, '');
    if (existing) {
      if (!existing.collection)
        throw new FanoutError('EBADENTRY', 'the spool location is a file, not a collection', where);
      return;
    }
    await this.makeCollection(this.collectionUrl);
  }

  /** MKCOL `url`, creating missing parents first (a 409 says one is missing). */
  private async makeCollection(url: URL, depth = 0): Promise<void> {
    const where = { spool: this.location };
    const reply = await this.transport.send({ method: 'MKCOL', url, retry: true });
    await reply.discard();
    if (reply.status === 201 || reply.status === 200) return;
    if (reply.status === 405) {
      // 405: something is there already (or our lost first MKCOL made it): it must be a collection.
      const there = await this.describe(url, '');
      if (there?.collection) return;
      throw new FanoutError('EBADENTRY', `${url.pathname} exists and is not a collection`, where);
    }
    if (reply.status === 409 && depth < 64 && url.pathname !== '/') {
      await this.makeCollection(new URL('..', url), depth + 1);
      return this.makeCollection(url, depth + 1);
    }
    throw statusError(reply.status, reply.statusText, 'MKCOL', where);
  }

  async createExclusive(name: string, content: ContentSource, options: CreateOptions = {}): Promise<number> {
    assertPlainName(name, this.location);
    const where = this.where(name);
    const signal = options.signal;
    if (signal?.aborted) throw new FanoutError('EABORTED', 'create aborted', where);
    const temp = tempName();
    let size = 0;
    const bytes = content instanceof Uint8Array ? content : undefined;
    let stopped: { error: unknown } | 'aborted' | undefined;
    /**
     * The content, ending the body *cleanly* when the source throws or the
     * caller aborts: the server then finishes the PUT and answers, and the
     * DELETE below cannot overtake a PUT still being written (which would
     * leave the partial temp behind).
     */
    async function* guarded(source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
      const it = source[Symbol.asyncIterator]();
      try {
        for (;;) {
          const next = await nextUnlessAborted(it, signal);
          if (next === 'aborted') {
            stopped = 'aborted';
            void Promise.resolve(it.return?.()).catch(() => undefined);
            return;
          }
          if (next.done) return;
          yield next.value;
        }
      } catch (error) {
        stopped = { error };
      }
    }
    try {
      // PUT to a name nobody else uses: the target appears only by the MOVE below, complete.
      const put = await this.transport.send({
        method: 'PUT',
        url: this.urlOf(temp),
        file: name,
        headers: { 'Content-Type': 'application/octet-stream' },
        ...(bytes
          ? { body: bytes, retry: true }
          : {
              streamBody: (activity) =>
                readableOf(guarded(content as AsyncIterable<Uint8Array>), activity, (n) => (size += n)),
              retry: false,
            }),
      });
      await put.discard();
      if (stopped === undefined && (put.status < 200 || put.status > 299))
        throw statusError(put.status, put.statusText, 'PUT', where);
      if (bytes) size = bytes.byteLength;
    } catch (err) {
      await this.discardTemp(temp);
      throw err;
    }
    if (stopped !== undefined || signal?.aborted) {
      await this.discardTemp(temp);
      if (stopped === 'aborted' || stopped === undefined) throw new FanoutError('EABORTED', 'create aborted', where);
      const e = stopped.error;
      throw e instanceof FanoutError
        ? e
        : new FanoutError('EIO', `reading the content failed: ${e instanceof Error ? e.message : String(e)}`, {
            ...where,
            cause: e,
          });
    }
    try {
      await this.moveNoClobber(temp, name, size, 'create');
    } catch (err) {
      await this.discardTemp(temp);
      throw err;
    }
    return size;
  }

  async publish(from: string, to: string): Promise<void> {
    assertPlainName(from, this.location);
    assertPlainName(to, this.location);
    const source = await this.describe(this.urlOf(from), from);
    if (!source) throw new FanoutError('ENOENT', 'no such file to publish', this.where(from));
    if (source.collection) throw new FanoutError('EBADENTRY', 'a collection, not a file', this.where(from));
    await this.moveNoClobber(from, to, source.size ?? 0, 'publish');
  }

  /**
   * The `SpoolBackend.rename` contract: a `MOVE` with `Overwrite: F`, one
   * request the server performs as one step (Apache mod_dav_fs: rename(2)),
   * so of concurrent MOVEs of one `from` only one finds it.
   */
  async rename(from: string, to: string): Promise<void> {
    try {
      await this.publish(from, to);
    } catch (err) {
      // A MOVE that lost the race for `from` may answer 5xx (webdav-server 2.6) instead of 404: the state decides.
      if (
        err instanceof FanoutError &&
        err.code !== 'EEXIST' &&
        err.code !== 'ENOENT' &&
        (await this.describe(this.urlOf(from), from).catch(() => 'unknown')) === undefined
      ) {
        throw new FanoutError('ENOENT', 'no such file to move (another MOVE took it)', {
          ...this.where(from),
          cause: err,
        });
      }
      throw err;
    }
  }

  /**
   * MOVE `from` to `to` with `Overwrite: F` (always sent: servers disagree on
   * its default). If an earlier attempt's reply was lost, a 412/404 may be the
   * echo of our own success: then the state decides, not the status.
   */
  private async moveNoClobber(
    from: string,
    to: string,
    expectedSize: number,
    why: 'create' | 'publish',
  ): Promise<void> {
    const file = why === 'create' ? to : from;
    const reply = await this.oneMoveAtATime(to, () =>
      this.transport
        .send({
          method: 'MOVE',
          url: this.urlOf(from),
          file,
          headers: { Destination: this.urlOf(to).toString(), Overwrite: 'F', ...this.ifHeader(from, to) },
          retry: true,
        })
        .then(async (r) => {
          await r.discard();
          return r;
        }),
    );
    if (reply.status >= 200 && reply.status <= 299) {
      this.heldLocks.delete(from);
      return;
    }
    if (
      (reply.status === 412 || reply.status === 404) &&
      reply.maybeAppliedBefore &&
      (await this.landed(from, to, expectedSize))
    ) {
      this.heldLocks.delete(from);
      return;
    }
    if (reply.status === 404 && why === 'create') {
      throw new FanoutError(
        'ENOENT',
        'the temporary file vanished before its MOVE (was the collection removed?)',
        this.where(to),
      );
    }
    const err = statusError(reply.status, reply.statusText, 'MOVE', this.where(file));
    if (reply.status === 412)
      throw new FanoutError(
        'EEXIST',
        `${to} exists (MOVE with Overwrite: F answered 412)`,
        this.where(why === 'create' ? to : from),
      );
    throw err;
  }

  /**
   * Run MOVEs onto the same target one after another within this backend.
   * Servers implement `Overwrite: F` as check-then-move (Apache mod_dav_fs:
   * stat then rename(2); webdav-server with a PhysicalFileSystem: async checks),
   * so concurrent MOVEs onto one new name can all "win" and replace each other.
   * This closes the race between callers in this process; across processes and
   * hosts it stays open (README, Limits).
   */
  private async oneMoveAtATime<T>(target: string, move: () => Promise<T>): Promise<T> {
    const before = this.movesByTarget.get(target) ?? Promise.resolve();
    let done!: () => void;
    const tail = before.then(() => new Promise<void>((resolve) => (done = resolve)));
    this.movesByTarget.set(target, tail);
    await before;
    try {
      return await move();
    } finally {
      done();
      if (this.movesByTarget.get(target) === tail) this.movesByTarget.delete(target);
    }
  }

  /** Whether a MOVE from → to took effect: `from` gone and `to` a file of the expected size. */
  private async landed(from: string, to: string, expectedSize: number): Promise<boolean> {
    const [source, target] = await Promise.all([
      this.describe(this.urlOf(from), from),
      this.describe(this.urlOf(to), to),
    ]);
    return source === undefined && target !== undefined && !target.collection && target.size === expectedSize;
  }

  /** Best-effort removal of a temp file after a failure; recovery removes what this leaves. */
  private async discardTemp(temp: string): Promise<void> {
    try {
      const reply = await this.transport.send({
        method: 'DELETE',
        url: this.urlOf(temp),
        file: temp,
        headers: { Depth: '0' },
        retry: false,
      });
      await reply.discard();
    } catch {
      // The server is away: the temp stays, and recovery deletes a dead writer's temps.
    }
  }

  async remove(name: string): Promise<boolean> {
    assertPlainName(name, this.location);
    const where = this.where(name);
    // A DELETE of a collection deletes all it holds: look first.
    const entry = await this.describe(this.urlOf(name), name);
    if (!entry) return false;
    if (entry.collection) throw new FanoutError('EBADENTRY', 'a collection, not a file', where);
    // Depth: 0 makes servers that honour it (Apache, nginx) refuse a collection that appeared since.
    const reply = await this.transport.send({
      method: 'DELETE',
      url: this.urlOf(name),
      file: name,
      headers: { Depth: '0', ...this.ifHeader(name) },
      retry: true,
    });
    await reply.discard();
    if (reply.status >= 200 && reply.status <= 299) {
      this.heldLocks.delete(name);
      return true;
    }
    // Gone now: ours if an earlier attempt's reply was lost, somebody else's otherwise.
    if (reply.status === 404) return reply.maybeAppliedBefore;
    if (reply.status === 400)
      throw new FanoutError('EBADENTRY', 'the server refused a Depth: 0 DELETE (a collection?)', where);
    throw statusError(reply.status, reply.statusText, 'DELETE', where);
  }

  async *list(): AsyncIterable<SpoolEntry> {
    const where = { spool: this.location };
    const reply = await this.transport.send({
      method: 'PROPFIND',
      url: this.collectionUrl,
      headers: { Depth: '1', 'Content-Type': 'application/xml; charset=utf-8' },
      body: propfindBody('<D:resourcetype/>'),
      retry: true,
    });
    if (reply.status !== 207) {
      await reply.discard();
      throw statusError(reply.status, reply.statusText, 'PROPFIND', where);
    }
    const own = decodedPath(this.collectionUrl.pathname);
    for await (const resource of parseMultistatus(reply.body(), where)) {
      const path = decodedPath(hrefPath(resource.href));
      if (path === own) {
        if (!resource.collection)
          throw new FanoutError('EBADENTRY', 'the spool location is a file, not a collection', where);
        continue;
      }
      const name = path.slice(path.lastIndexOf('/') + 1);
      // Only direct members; a server that answers deeper (or elsewhere) is not trusted with names.
      if (path !== `${own === '/' ? '' : own}/${name}` || name === '') continue;
      yield { name, kind: resource.collection ? 'directory' : 'file' };
    }
  }

  async stat(name: string): Promise<EntryStat | undefined> {
    assertPlainName(name, this.location);
    const r = await this.describe(this.urlOf(name), name);
    if (!r) return undefined;
    return {
      kind: r.collection ? 'directory' : 'file',
      size: r.collection ? 0 : (r.size ?? 0),
      mtimeMs: r.mtimeMs,
      fileId: r.etag,
      nlink: undefined,
    };
  }

  read(name: string): AsyncIterable<Uint8Array> {
    assertPlainName(name, this.location);
    return this.readStream(name);
  }

  private async *readStream(name: string): AsyncIterable<Uint8Array> {
    const where = this.where(name);
    // A GET of a collection may answer with an index page: refuse it before reading.
    const entry = await this.describe(this.urlOf(name), name);
    if (!entry) throw new FanoutError('ENOENT', 'no such file', where);
    if (entry.collection) throw new FanoutError('EBADENTRY', 'a collection, not a file', where);
    const reply = await this.transport.send({ method: 'GET', url: this.urlOf(name), file: name, retry: true });
    if (reply.status !== 200) {
      await reply.discard();
      throw statusError(reply.status, reply.statusText, 'GET', where);
    }
    try {
      yield* reply.body();
    } catch (err) {
      if (err instanceof FanoutError) throw err;
      throw new FanoutError(
        'EUNAVAILABLE',
        `the reply to GET broke off: ${err instanceof Error ? err.message : String(err)}`,
        { ...where, cause: err },
      );
    }
  }

  /** A no-op: a 2xx is not a durability promise and WebDAV has no fsync. */
  async syncDir(): Promise<void> {}

  /**
   * Take an exclusive write lock (`LOCK`, Depth 0, finite timeout) on the file
   * `name` for `owner`. fs-webdav's own: the fan-out protocol takes no locks
   * (the seed protocol's locks are `l<id>` files), so this is not part of the
   * backend contract.
   * @throws `EEXIST` when somebody holds a lock on it; `ENOENT` when it does not exist.
   */
  async lock(name: string, owner: string): Promise<WebdavLock> {
    assertPlainName(name, this.location);
    const where = this.where(name);
    // Locking an unmapped URL would create an empty file (RFC 4918) or a lock-null resource: refuse.
    const entry = await this.describe(this.urlOf(name), name);
    if (!entry) throw new FanoutError('ENOENT', 'no such file to lock', where);
    // A nonce in the owner lets us recognise our own lock if the LOCK reply is lost.
    const nonce = randomUUID();
    const ownerText = `${owner} fanout-lock:${nonce}`;
    const reply = await this.transport.send({
      method: 'LOCK',
      url: this.urlOf(name),
      file: name,
      headers: {
        'Content-Type': 'application/xml; charset=utf-8',
        Timeout: `Second-${this.lockTimeoutSeconds}`,
        Depth: '0',
      },
      body:
        '<?xml version="1.0" encoding="utf-8"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope>' +
        `<D:locktype><D:write/></D:locktype><D:owner>${encodeXml(ownerText)}</D:owner></D:lockinfo>`,
      retry: true,
    });
    let token: string | undefined;
    if (reply.status === 200 || reply.status === 201) {
      token = reply.headers.get('lock-token')?.trim().replace(/^<|>$/g, '');
      await reply.discard();
    } else {
      await reply.discard();
      if (reply.status === 423 && reply.maybeAppliedBefore) {
        token = (await this.describe(this.urlOf(name), name, '<D:lockdiscovery/>'))?.locks.find((l) =>
          l.owner.includes(nonce),
        )?.token;
      }
      if (!token) throw statusError(reply.status, reply.statusText, 'LOCK', where);
    }
    if (!token) throw new FanoutError('EIO', 'LOCK succeeded without a Lock-Token header', where);
    this.heldLocks.set(name, token);
    const heldToken = token;
    let released = false;
    return {
      release: async () => {
        if (released) return;
        const reply = await this.transport.send({
          method: 'UNLOCK',
          url: this.urlOf(name),
          file: name,
          headers: { 'Lock-Token': `<${heldToken}>` },
          retry: true,
        });
        await reply.discard();
        released = true;
        if (this.heldLocks.get(name) === heldToken) this.heldLocks.delete(name);
        // 400/404/409/412: the lock (or the file) is gone already, which is what release wants.
        if (reply.status >= 200 && reply.status <= 299) return;
        if ([400, 404, 409, 412].includes(reply.status)) return;
        throw statusError(reply.status, reply.statusText, 'UNLOCK', where);
      },
    };
  }

  /** Whether anybody holds a lock on `name` (`lockdiscovery`); see {@link WebdavBackend.lock}. */
  async isLocked(name: string): Promise<boolean> {
    assertPlainName(name, this.location);
    const r = await this.describe(this.urlOf(name), name, '<D:lockdiscovery/>');
    return (r?.locks.length ?? 0) > 0;
  }

  async close(): Promise<void> {
    this.transport.close();
  }

  /** PROPFIND Depth 0; undefined on 404. */
  private async describe(url: URL, file: string, props = PROPS): Promise<DavResource | undefined> {
    const where = this.where(file === '' ? undefined : file);
    const reply: DavReply = await this.transport.send({
      method: 'PROPFIND',
      url,
      file: file === '' ? undefined : file,
      headers: { Depth: '0', 'Content-Type': 'application/xml; charset=utf-8' },
      body: propfindBody(props),
      retry: true,
    });
    if (reply.status === 404) {
      await reply.discard();
      return undefined;
    }
    if (reply.status !== 207) {
      await reply.discard();
      throw statusError(reply.status, reply.statusText, 'PROPFIND', where);
    }
    let first: DavResource | undefined;
    for await (const r of parseMultistatus(reply.body(), where)) first ??= r;
    if (!first || (first.status !== undefined && first.status === 404)) return undefined;
    return first;
  }

  /** `If:` header (tagged lists, which `webdav-server` does not crash on) for the names we hold locks on. */
  private ifHeader(...names: string[]): Record<string, string> {
    const lists = names
      .filter((n) => this.heldLocks.has(n))
      .map((n) => `<${this.urlOf(n).toString()}> (<${this.heldLocks.get(n)!}>)`);
    return lists.length === 0 ? {} : { If: lists.join(' ') };
  }

  private urlOf(name: string): URL {
    return new URL(encodeURIComponent(name), this.collectionUrl);
  }

  private where(file: string | undefined): Where {
    return file === undefined ? { spool: this.location } : { spool: this.location, file };
  }
}

/**
 * `it.next()`, or 'aborted' as soon as `signal` aborts. The listener is removed
 * each time: racing every chunk against one long-lived promise would keep
 * every chunk alive.
 */
async function nextUnlessAborted<T>(
  it: AsyncIterator<T>,
  signal: AbortSignal | undefined,
): Promise<IteratorResult<T> | 'aborted'> {
  if (!signal) return it.next();
  if (signal.aborted) return 'aborted';
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<'aborted'>((resolve) => {
    onAbort = () => resolve('aborted');
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([it.next(), aborted]);
  } finally {
    signal.removeEventListener('abort', onAbort!);
  }
}

/** The path part of an href, which servers send as an absolute path or an absolute URL. */
function hrefPath(href: string): string {
  const m = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/]*(\/.*)?$/.exec(href);
  return m ? (m[1] ?? '/') : href;
}

/** A percent-decoded path without a trailing slash, for comparing hrefs however the server encodes them. */
function decodedPath(path: string): string {
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    decoded = path;
  }
  return decoded.length > 1 && decoded.endsWith('/') ? decoded.slice(0, -1) : decoded;
}
