/**
 * Sending one WebDAV request through the `webdav` client, with what a spool
 * needs on top: an inactivity timeout, bounded retries with backoff for
 * connection failures and 5xx replies, and a record of whether an earlier
 * attempt may already have been applied (its reply was lost).
 */
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { FanoutError } from '@fanout/core';
import { createClient, type WebDAVClient } from 'webdav';
import { classifyNetworkError, describeNetworkError, type Where } from './dav-errors.js';

/** Told before each retry; lets a caller log progress (never credentials) or a test act. */
export interface RetryEvent {
  readonly method: string;
  readonly file: string | undefined;
  /** The attempt that failed, from 1. */
  readonly attempt: number;
  /** What went wrong, in words. */
  readonly reason: string;
}

/** Options of {@link DavTransport}. */
export interface DavTransportOptions {
  readonly spool: string;
  readonly collectionUrl: URL;
  readonly username?: string | undefined;
  readonly password?: string | undefined;
  /** Longest silence (no reply, no body bytes either way) before a request is abandoned. */
  readonly timeoutMs: number;
  /** How many times a failed request is sent again. */
  readonly retries: number;
  /** First backoff delay; doubles per retry, capped at 5 s. */
  readonly retryDelayMs: number;
  readonly onRetry?: ((event: RetryEvent) => void) | undefined;
}

/** Resets a request's inactivity timer; body producers call it per chunk. */
export interface Activity {
  poke(): void;
}

/** One request. */
export interface DavRequest {
  readonly method: string;
  readonly url: URL;
  readonly file?: string | undefined;
  readonly headers?: Record<string, string>;
  /** A body that can be sent again (bytes, text), or a one-shot stream built by `streamBody`. */
  readonly body?: Uint8Array | string;
  /** A streamed body; such a request is never retried once its body started flowing. */
  readonly streamBody?: (activity: Activity) => Readable;
  /** May the request be sent again after a failure? (GET/PROPFIND/DELETE yes, a streamed PUT no.) */
  readonly retry: boolean;
  /** The caller's abort signal. */
  readonly signal?: AbortSignal | undefined;
}

/** The reply, with its body still to be read (or discarded). */
export interface DavReply {
  readonly status: number;
  readonly statusText: string;
  readonly headers: Headers;
  /**
   * True when an earlier attempt's reply was lost: the server may already have
   * applied the request, so a 404/412 now may be the echo of our own success.
   */
  readonly maybeAppliedBefore: boolean;
  /** Stream the body; the inactivity timer keeps running between chunks. */
  body(): AsyncIterable<Uint8Array>;
  /** Read the (small) body as text. */
  text(): Promise<string>;
  /** Throw the body away and release the connection. */
  discard(): Promise<void>;
}

const RETRIED_STATUSES = new Set([500, 502, 503, 504]);
const MAX_BACKOFF_MS = 5_000;

/** Error raised by the inactivity timer, so a timeout can be told apart from the caller's abort. */
class InactivityTimeout extends Error {
  override readonly name = 'AbortError';
  readonly code = 'ETIMEDOUT';
}

/** The `webdav` client plus timeouts, retries and lost-reply bookkeeping. */
export class DavTransport {
  private readonly client: WebDAVClient;
  private readonly httpAgent = new HttpAgent({ keepAlive: true });
  private readonly httpsAgent = new HttpsAgent({ keepAlive: true });

  constructor(private readonly options: DavTransportOptions) {
    this.client = createClient(options.collectionUrl.toString(), {
      username: options.username,
      password: options.password,
      httpAgent: this.httpAgent,
      httpsAgent: this.httpsAgent,
    });
  }

  /**
   * Send `req`, retrying what may be retried. Resolves with any HTTP reply
   * (error statuses included: the caller maps them); rejects with `EUNAVAILABLE`
   * when the server stays away, `EABORTED` when the caller aborts.
   */
  async send(req: DavRequest): Promise<DavReply> {
    const where: Where = { spool: this.options.spool, file: req.file };
    let maybeApplied = false;
    for (let attempt = 1; ; attempt++) {
      if (req.signal?.aborted) throw new FanoutError('EABORTED', `${req.method} aborted`, where);
      const timer = new InactivityTimer(this.options.timeoutMs, req.signal);
      let failure: string;
      try {
        const body = req.streamBody ? req.streamBody(timer) : req.body === undefined ? undefined : asBuffer(req.body);
        const response = (await this.client
          .customRequest('', {
            url: req.url.toString(),
            method: req.method,
            headers: req.headers ?? {},
            data: body,
            signal: timer.signal,
          } as never)
          .catch((err: unknown) => {
            // The client throws on status >= 400; the reply is still a reply.
            const response = (err as { response?: Response }).response;
            if (response && typeof (err as { status?: unknown }).status === 'number') return response;
            throw err;
          })) as Response;
        timer.poke();
        const reply = new FetchReply(response, timer, maybeApplied);
        if (!RETRIED_STATUSES.has(response.status) || !req.retry || attempt > this.options.retries) return reply;
        await reply.discard();
        failure = `${req.method} answered ${response.status} ${response.statusText}`;
        // A 5xx may come after the server acted (a MOVE done, the reply failed).
        maybeApplied = true;
      } catch (err) {
        timer.stop();
        if (req.signal?.aborted && !(timer.signal.reason instanceof InactivityTimeout)) {
          throw new FanoutError('EABORTED', `${req.method} aborted`, where);
        }
        const kind = timer.signal.reason instanceof InactivityTimeout ? 'reply-lost' : classifyNetworkError(err);
        const reason =
          timer.signal.reason instanceof InactivityTimeout
            ? `no reply within ${this.options.timeoutMs} ms`
            : describeNetworkError(err);
        if (kind === 'fatal') throw new FanoutError('EIO', `${req.method} failed: ${reason}`, { ...where, cause: err });
        if (kind === 'reply-lost') maybeApplied = true;
        if (!req.retry || attempt > this.options.retries) {
          throw new FanoutError(
            'EUNAVAILABLE',
            `the WebDAV server did not answer ${req.method} (${attempt} attempt${attempt > 1 ? 's' : ''}): ${reason}`,
            {
              ...where,
              cause: err,
            },
          );
        }
        failure = reason;
      }
      this.options.onRetry?.({ method: req.method, file: req.file, attempt, reason: failure });
      const delay = Math.min(MAX_BACKOFF_MS, this.options.retryDelayMs * 2 ** (attempt - 1));
      await sleep(delay, undefined, req.signal ? { signal: req.signal } : undefined).catch(() => undefined);
    }
  }

  /** Close idle connections; the transport is unusable afterwards. */
  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}

function asBuffer(body: Uint8Array | string): Buffer | string {
  // The client JSON-encodes anything that is not a Buffer, string or ArrayBuffer.
  return typeof body === 'string' ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}

/** Aborts a request after `ms` without activity, or when the caller's signal aborts. */
class InactivityTimer implements Activity {
  private readonly controller = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private readonly onCallerAbort = () => this.controller.abort(this.caller?.reason);

  constructor(
    private readonly ms: number,
    private readonly caller: AbortSignal | undefined,
  ) {
    caller?.addEventListener('abort', this.onCallerAbort, { once: true });
    this.poke();
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  poke(): void {
    if (this.controller.signal.aborted) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(
      () => this.controller.abort(new InactivityTimeout(`no activity for ${this.ms} ms`)),
      this.ms,
    );
    this.timer.unref?.();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.caller?.removeEventListener('abort', this.onCallerAbort);
  }
}

class FetchReply implements DavReply {
  constructor(
    private readonly response: Response,
    private readonly timer: InactivityTimer,
    readonly maybeAppliedBefore: boolean,
  ) {}

  get status(): number {
    return this.response.status;
  }

  get statusText(): string {
    return this.response.statusText;
  }

  get headers(): Headers {
    return this.response.headers;
  }

  async *body(): AsyncIterable<Uint8Array> {
    const stream = this.response.body as unknown as Readable | null;
    if (!stream) {
      this.timer.stop();
      return;
    }
    try {
      for await (const chunk of stream) {
        this.timer.poke();
        yield chunk as Uint8Array;
      }
    } finally {
      this.timer.stop();
      // An abandoned read must not keep the connection (or the server) busy.
      if (!stream.readableEnded) stream.destroy();
    }
  }

  async text(): Promise<string> {
    try {
      return await this.response.text();
    } finally {
      this.timer.stop();
    }
  }

  async discard(): Promise<void> {
    try {
      await this.response.arrayBuffer();
    } catch {
      // The body is of no interest; a broken one changes nothing.
    } finally {
      this.timer.stop();
    }
  }
}

/** Wrap `source` as a Readable that pokes `activity` for every chunk it hands over. */
export function readableOf(
  source: AsyncIterable<Uint8Array>,
  activity: Activity,
  onChunk: (n: number) => void,
): Readable {
  async function* counted(): AsyncGenerator<Buffer> {
    for await (const chunk of source) {
      activity.poke();
      onChunk(chunk.byteLength);
      if (chunk.byteLength > 0) yield Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    }
  }
  return Readable.from(counted(), { objectMode: false });
}
