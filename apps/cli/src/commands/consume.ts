/**
 * `fanout consume <spool> [--exec <cmd>] [--json]`: hand each delivered
 * message to a command (through `sh -c`, the message on its stdin, `FANOUT_ID`
 * and `FANOUT_SPOOL` in its environment); delete the message when the command
 * exits 0, release it for a later retry otherwise. Without `--exec`, each
 * message's content is written to stdout and deleted once written. With
 * `--watch` it keeps polling for newly delivered messages and releases the
 * claims of dead consumers periodically, until SIGINT/SIGTERM.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  acknowledge,
  type ClaimedMessage,
  consume,
  type ConsumeOptions,
  consumePass,
  consumerName,
  type ConsumeSummary,
  DEFAULT_MAX_ATTEMPTS,
  type FanoutEvent,
  FanoutError,
  readSpoolIdentity,
  release,
  releaseStaleClaims,
  STALE_TEMP_MS,
} from '@fanout/core';
import { removeDeadTemps } from '@fanout/core/internal';
import type { CliContext } from '../cli-context.js';
import { Backoff } from '../daemon/backoff.js';
import { RouteHealth } from '../daemon/route-health.js';
import { RouteReporter } from '../daemon/route-reporter.js';
import { classifyFailure } from '../daemon/storage-fault.js';
import { supervise } from '../daemon/supervise.js';
import type { FanoutMetrics } from '../metrics/fanout-metrics.js';
import type { MetricsServer } from '../metrics/metrics-server.js';
import { ExitStatus, type ExitStatusCode, exitStatusFor, signalStatus, worstStatus } from '../exit-status.js';
import { onInterrupt } from '../interrupt.js';
import { localOwner, localOwnerProbe } from '../owner-probe.js';
import { defineCommand } from './command-module.js';
import { positiveInt } from './option-values.js';

/**
 * The failures of the command itself (it exited non-zero or was killed): the
 * message's own failure, counted towards `--max-attempts`. A failure to read
 * the message or to start the command is not.
 */
const commandFailures = new WeakSet<FanoutError>();

/** Run `command` with the message on stdin; resolve on exit status 0, throw otherwise. */
async function execHandler(
  ctx: CliContext,
  command: string,
  location: string,
  message: ClaimedMessage,
  childStdout: 'inherit' | Writable,
): Promise<void> {
  const child = spawn('sh', ['-c', command], {
    stdio: ['pipe', childStdout === 'inherit' ? 'inherit' : 'pipe', 'inherit'],
    env: { ...ctx.io.env, FANOUT_ID: message.id, FANOUT_SPOOL: location },
  });
  if (childStdout !== 'inherit') child.stdout?.pipe(childStdout, { end: false });
  const exited = once(child, 'close') as Promise<[number | null, NodeJS.Signals | null]>;
  const spawned = once(child, 'spawn');
  try {
    await spawned;
    // The command may exit without reading all of its stdin; that is its right, not a failure.
    await pipeline(message.read(), child.stdin!).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE' && err.code !== 'ERR_STREAM_PREMATURE_CLOSE' && err.code !== 'ERR_STREAM_DESTROYED')
        throw err;
    });
  } catch (err) {
    child.kill('SIGTERM');
    await exited.catch(() => undefined);
    throw err;
  }
  const [code, signal] = await exited;
  if (code !== 0) {
    const error = new FanoutError(
      'EIO',
      signal ? `command killed by ${signal}` : `command exited with status ${code}`,
      { spool: location, file: message.file },
    );
    commandFailures.add(error);
    throw error;
  }
}

/**
 * Write the message's content to stdout, resolving once every chunk is handed
 * to the OS; a reader that went away (EPIPE) fails it, so it is released, not lost.
 */
async function printHandler(out: Writable, message: ClaimedMessage): Promise<void> {
  for await (const chunk of message.read()) {
    await new Promise<void>((resolve, reject) => {
      if (out.destroyed) reject(new FanoutError('EIO', 'stdout is closed; message released'));
      else out.write(chunk, (err) => (err ? reject(err) : resolve()));
    });
  }
}

/** The flags of `consume`. */
export interface ConsumeFlags {
  readonly exec?: string;
  readonly json?: boolean;
  readonly watch?: boolean;
  readonly interval?: number;
  readonly releaseInterval?: number;
  readonly maxAttempts?: number;
  /** `--metrics <host:port>` (with `--watch`). */
  readonly metrics?: string;
  /** `--max-backoff <ms>`: the longest wait between two retries of a spool that is down. */
  readonly maxBackoff?: number;
}

/** How often `consume --watch` looks for new messages by default. */
export const DEFAULT_CONSUME_INTERVAL_MS = 1000;
/** How often `consume --watch` releases dead consumers' claims (and retries failed messages) by default. */
export const DEFAULT_RELEASE_INTERVAL_MS = 30_000;

/** Timing of {@link watchConsume}. */
export interface WatchTiming {
  /** Pause between two listings that found nothing more to do. */
  readonly intervalMs: number;
  /** How often claims of dead consumers are released, and messages whose handler failed offered again. */
  readonly releaseIntervalMs: number;
}

/** What keeps {@link watchConsume} going through outages. */
export interface ConsumeSupervision {
  readonly health: RouteHealth;
  readonly backoff?: Backoff;
}

/**
 * `consume` that keeps going: list, claim and handle every delivered message,
 * then poll again every `intervalMs` until the signal; release dead consumers'
 * claims at start and every `releaseIntervalMs`. A message in hand when the
 * signal comes is finished (acknowledged or released), never abandoned.
 *
 * An outage of the spool (server or mount away, stale handle, I/O error)
 * never ends it: the spool is marked down (one event), retried with backoff,
 * and marked up again once a pass goes through. A message whose command
 * succeeded but whose deletion failed is deleted at the next try, never
 * handed to the command again; one whose release failed is released then.
 */
export async function watchConsume(
  options: ConsumeOptions & { readonly ownerProbe: NonNullable<ConsumeOptions['ownerProbe']> },
  timing: WatchTiming,
  supervision: ConsumeSupervision,
): Promise<ConsumeSummary> {
  const { spool } = options;
  const signal = options.signal ?? new AbortController().signal;
  const who = options.who ?? consumerName(options.owner);
  const emit = options.onEvent ?? (() => undefined);
  let consumed = 0;
  let failed = 0;
  let released = 0;
  let held = 0;
  let lastSweep = -Infinity;
  let identityChecked = false;
  /** Messages whose handler failed, not offered again before the next sweep (else a failing command would spin). */
  const failedIds = new Set<string>();
  /** Handled (the command exited 0) but not deleted: an outage broke in between. */
  const toAcknowledge = new Map<string, ClaimedMessage>();
  /** The command failed but the claim could not be given back. */
  const toRelease = new Map<string, ClaimedMessage>();
  /** The message between its handler's end and its acknowledgement or release, if any. */
  let settling: { message: ClaimedMessage; handled: boolean } | undefined;
  const handler = async (message: ClaimedMessage) => {
    try {
      await options.handler(message);
    } catch (err) {
      settling = { message, handled: false };
      throw err;
    }
    settling = { message, handled: true };
  };
  const onEvent = (event: FanoutEvent) => {
    if (event.type === 'consumed') consumed++;
    if (event.type === 'consume-failed') failed++;
    if (event.type === 'consumed' || event.type === 'consume-failed') settling = undefined;
    emit(event);
  };
  const settleLeftovers = async () => {
    for (const [id, message] of toAcknowledge) {
      await acknowledge(spool, message);
      toAcknowledge.delete(id);
      onEvent({ type: 'consumed', id, spool: spool.location });
    }
    for (const [id, message] of toRelease) {
      await release(spool, message);
      toRelease.delete(id);
    }
  };
  await supervise({
    health: supervision.health,
    backoff: supervision.backoff ?? new Backoff(),
    signal,
    step: async () => {
      if (!identityChecked) {
        await readSpoolIdentity(spool);
        identityChecked = true;
      }
      await settleLeftovers();
      if (Date.now() - lastSweep >= timing.releaseIntervalMs) {
        released += await releaseStaleClaims(spool, options.ownerProbe, options.owner);
        // A consumer that crashed while counting a failure left a temp file; nobody else recovers a destination.
        await removeDeadTemps(spool, options.ownerProbe, STALE_TEMP_MS, Date.now());
        lastSweep = Date.now();
        failedIds.clear();
      }
      settling = undefined;
      try {
        const pass = await consumePass(spool, handler, {
          who,
          skip: failedIds,
          signal,
          onEvent,
          ...(options.maxAttempts !== undefined ? { maxAttempts: options.maxAttempts } : {}),
          ...(options.counts !== undefined ? { counts: options.counts } : {}),
          ...(options.owner !== undefined ? { owner: options.owner } : {}),
        });
        held += pass.held;
      } catch (err) {
        // Set by the handler while consumePass ran (the narrowing above cannot see that).
        const left = settling as { message: ClaimedMessage; handled: boolean } | undefined;
        if (left !== undefined) (left.handled ? toAcknowledge : toRelease).set(left.message.id, left.message);
        settling = undefined;
        throw err;
      }
      return { waitMs: timing.intervalMs };
    },
    classify: (err) => classifyFailure(err, [spool]),
    isFatal: (err, everUp) => !everUp && exitStatusFor(err) === ExitStatus.usage,
  });
  // Stopped while the spool was down: what is left is settled if the spool is back, else left to `releaseStaleClaims`
  // of a later run.
  await settleLeftovers().catch(() => undefined);
  return { consumed, failed, released, held };
}

/** Consume every delivered message of the spool (and, with `--watch`, those delivered later). */
async function consumeSpool(ctx: CliContext, ref: string, flags: ConsumeFlags): Promise<ExitStatusCode> {
  const json = flags.json === true;
  const watch = flags.watch === true;
  if (json && flags.exec === undefined) {
    ctx.note('--json needs --exec (without it, stdout carries the messages themselves) (EUSAGE)');
    return ExitStatus.usage;
  }
  if (flags.maxAttempts !== undefined && flags.exec === undefined) {
    ctx.note("--max-attempts needs --exec (only a command's failure is counted) (EUSAGE)");
    return ExitStatus.usage;
  }
  const watchOnly = [
    ['--interval', flags.interval],
    ['--release-interval', flags.releaseInterval],
    ['--metrics', flags.metrics],
    ['--max-backoff', flags.maxBackoff],
  ].find(([, v]) => v !== undefined);
  if (watchOnly !== undefined && !watch) {
    ctx.note(`${String(watchOnly[0])} needs --watch (EUSAGE)`);
    return ExitStatus.usage;
  }
  const interrupt = onInterrupt(ctx, undefined, watch ? 'ignore' : 'stop');
  let server: MetricsServer | undefined;
  try {
    const spool = await ctx.open(ref);
    try {
      if (!watch) await readSpoolIdentity(spool);
      // prom-client and the HTTP server are loaded only when asked for: every other command starts faster.
      const served = flags.metrics !== undefined ? await import('../metrics/serve-metrics.js') : undefined;
      const metrics: FanoutMetrics | undefined = served?.newMetrics();
      const reporter = new RouteReporter(ctx, (line) => ctx.io.stderr.write(line), metrics);
      if (served && metrics) {
        metrics.watchSpool(spool);
        server = await served.serveMetrics(flags.metrics!, metrics, () => reporter.states);
        ctx.note(`metrics at ${server.url}/metrics, health at ${server.url}/healthz`);
        if (json) ctx.json({ type: 'metrics-listening', url: server.url });
      }
      const maxAttempts = flags.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
      const onEvent = (event: FanoutEvent) => {
        metrics?.observe(spool.location, event);
        if (json) ctx.json(event);
        if (event.type === 'consume-failed') {
          const e = event.error;
          const what =
            event.held === true
              ? `message held after ${event.attempts} failed attempts ` +
                `(h${event.id}.d; \`fanout release ${event.spool} ${event.id}\` once it can be handled)`
              : 'message released';
          const line = new FanoutError(e.code, `${e.message}; ${what}`, {
            ...(e.spool !== undefined ? { spool: e.spool } : {}),
            ...(e.file !== undefined ? { file: e.file } : {}),
          }).oneLine();
          const counted =
            event.attempts !== undefined && event.held !== true
              ? ` [failed attempt ${event.attempts} of ${maxAttempts}]`
              : '';
          ctx.note(`${line}${counted}`);
        }
      };
      // With --json, stdout is ours: the command's own output goes to stderr.
      const childStdout = json ? ctx.io.stderr : 'inherit';
      // A reader of stdout that went away ends the consumption: no point claiming more messages for nobody.
      const readerGone = new AbortController();
      const print = async (message: ClaimedMessage) => {
        try {
          await printHandler(ctx.io.stdout, message);
        } catch (err) {
          readerGone.abort();
          throw err;
        }
      };
      const options = {
        spool,
        handler: (message: ClaimedMessage) =>
          flags.exec !== undefined
            ? execHandler(ctx, flags.exec, spool.location, message, childStdout)
            : print(message),
        // Claims are taken as this process's owner tag, and judged by the Linux probe.
        owner: localOwner(),
        ownerProbe: localOwnerProbe,
        signal: AbortSignal.any([interrupt.signal, readerGone.signal]),
        onEvent,
        // Only the command's own failure counts (and only with --exec: printing to stdout is not the message's fault).
        ...(flags.exec !== undefined ? { maxAttempts, counts: (e: FanoutError) => commandFailures.has(e) } : {}),
      };
      const summary = watch
        ? await watchConsume(
            options,
            {
              intervalMs: flags.interval ?? DEFAULT_CONSUME_INTERVAL_MS,
              releaseIntervalMs: flags.releaseInterval ?? DEFAULT_RELEASE_INTERVAL_MS,
            },
            {
              health: new RouteHealth(
                spool.location,
                reporter.sink(`consume ${spool.location}: `, 'messages wait in the spool'),
              ),
              backoff: new Backoff({ maxMs: flags.maxBackoff }),
            },
          )
        : await consume(options);
      // Every message whose command failed was released or held (a failed release ends the command): `released`
      // counts the released ones, as each failure line says; the claims of dead consumers given back are counted apart.
      if (json)
        ctx.json({
          type: 'summary',
          spool: spool.location,
          consumed: summary.consumed,
          failed: summary.failed,
          released: summary.failed - summary.held,
          held: summary.held,
          staleClaimsReleased: summary.released,
        });
      else if (flags.exec !== undefined)
        ctx.note(
          `${spool.location}: ${summary.consumed} consumed, ${summary.failed - summary.held} failed ` +
            `and released${summary.held > 0 ? `, ${summary.held} failed and held` : ''}` +
            `, ${summary.released} stale claims released`,
        );
      const status = summary.failed > 0 ? ExitStatus.failed : ExitStatus.ok;
      const received = interrupt.received();
      // The normal end of --watch is a signal: its status is that of the work, as for `run --watch`.
      return received && !watch ? worstStatus(status, signalStatus(received)) : status;
    } finally {
      await server?.close();
      await spool.close();
    }
  } catch (err) {
    ctx.reportError(err, 'fatal');
    return exitStatusFor(err);
  } finally {
    interrupt.dispose();
  }
}

/** `fanout consume`. */
export const consumeCommand = defineCommand({
  name: 'consume',
  description:
    'hand each delivered message to a command (sh -c, message on stdin, ' +
    'FANOUT_ID and FANOUT_SPOOL set); delete it when the command exits 0, release it otherwise',
  arguments: [{ spec: '<spool>', description: 'a destination spool' }],
  options: [
    { flags: '--exec <cmd>', description: 'the command; without it, messages are written to stdout and deleted' },
    {
      flags: '--json',
      description: 'with --exec: one JSON object per message and a summary (each line with ts and level)',
    },
    {
      flags: '--watch',
      description:
        'keep running and consume messages as they are delivered (until SIGINT/SIGTERM, ' +
        'which lets the message in hand finish); outages of the spool are ridden out',
    },
    {
      flags: '--interval <ms>',
      description: 'with --watch: how often to look for new messages (default 1000)',
      parse: positiveInt,
    },
    {
      flags: '--release-interval <ms>',
      description:
        'with --watch: how often to release claims of dead consumers on this ' +
        'host and offer messages whose command failed again (default 30000)',
      parse: positiveInt,
    },
    {
      flags: '--max-attempts <n>',
      description:
        'with --exec: failed runs of the command for one message before it is held as ' +
        'h<id>.d in the destination, no longer handed out, until `fanout release` (default 5)',
      parse: positiveInt,
    },
    {
      flags: '--max-backoff <ms>',
      description: 'with --watch: the longest wait between two retries of a spool that is down (default 30000)',
      parse: positiveInt,
    },
    {
      flags: '--metrics <host:port>',
      description: 'with --watch: serve Prometheus metrics at http://<host:port>/metrics and health at /healthz',
    },
  ],
  examples: [
    "fanout consume ./spool/out-a --exec 'lpr -P office'",
    "fanout consume ./spool/out-a --exec './deliver.sh' --max-attempts 3",
    'fanout consume ./spool/out-a --exec \'cat > "/archive/$FANOUT_ID"\'',
    "fanout consume ./spool/out-a --watch --interval 200 --exec './deliver.sh' --metrics 127.0.0.1:9465",
  ],
  handler: consumeSpool,
});
