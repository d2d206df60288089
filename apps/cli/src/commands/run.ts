/**
 * `fanout run`: fan out every message of a source spool to its destinations,
 * after recovering the source; exits when none is left (unless `--watch`).
 * With `--config` and no `--from`, every configured route runs, in one process.
 * With `--watch` it keeps polling the source and recovers its stale markers
 * every `--recover-interval`, so several workers (and hosts) can share a source
 * and any of them finishes what a dead one left.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  BatchSizer,
  DEFAULT_BATCH_SIZE,
  DEFAULT_LEASE_MS,
  DEFAULT_MAX_ATTEMPTS,
  type FanoutEvent,
  type FanOutDestination,
  FanoutError,
  fanOut,
  parseProtocolName,
  type ProtocolName,
  type SpoolBackend,
  type TransformFactory,
} from '@fanout/core';
import type { CliContext } from '../cli-context.js';
import { ExitStatus, type ExitStatusCode, exitStatusFor, signalStatus, worstStatus } from '../exit-status.js';
import { isTransientFailure } from '../daemon/transient-failure.js';
import { onInterrupt } from '../interrupt.js';
import { processRouteOpenFiles } from '../open-file-limit.js';
import { formatBytes, formatDuration, perSecond } from '../output/human-units.js';
import { noProgress, type Progress } from '../output/progress.js';
import { localOwner, localOwnerProbe } from '../owner-probe.js';
import { loadTransform } from '../transform-module.js';
import { defineCommand } from './command-module.js';
import { collect, positiveInt } from './option-values.js';

/** The flags of `run`. */
export interface RunFlags {
  readonly from?: string;
  readonly to?: string[];
  readonly route?: string[];
  readonly protocol?: ProtocolName;
  readonly batch?: number;
  readonly concurrency?: number;
  readonly transform?: string;
  readonly json?: boolean;
  readonly watch?: boolean;
  readonly interval?: number;
  readonly recoverInterval?: number;
  readonly lease?: number;
  readonly stallTimeout?: number;
  readonly maxAttempts?: number;
}

/**
 * How long a copy may make no progress (a transform that never produces, a
 * destination that never answers) before it fails with ETIMEDOUT and is
 * rolled back: `--stall-timeout`, else `FANOUT_STALL_TIMEOUT_MS`, else 5 min.
 */
export function stallTimeoutOf(flags: Pick<RunFlags, 'stallTimeout'>, env: NodeJS.ProcessEnv = process.env): number | undefined {
  if (flags.stallTimeout !== undefined) return flags.stallTimeout;
  const fromEnv = env.FANOUT_STALL_TIMEOUT_MS;
  if (fromEnv === undefined || fromEnv === '') return undefined;
  const ms = Number(fromEnv);
  if (!Number.isSafeInteger(ms) || ms <= 0) throw new FanoutError('EUSAGE', `FANOUT_STALL_TIMEOUT_MS must be a positive number of milliseconds, not ${JSON.stringify(fromEnv)}`);
  return ms;
}

/** How often `--watch` polls the source by default. */
export const DEFAULT_WATCH_INTERVAL_MS = 1000;
/** How often `--watch` recovers stale markers of the source by default. */
export const DEFAULT_RECOVER_INTERVAL_MS = 30_000;
/**
 * The shortest lease `--lease` accepts: an owner gives up at 2/3 of its lease,
 * so a shorter one would roll back most transactions to a remote spool.
 */
export const MIN_LEASE_MS = 1000;

/** How many unknown entries a run remembers having reported; past that, each is reported again as it is seen. */
const MAX_UNKNOWN_REMEMBERED = 10_000;

/** Keys seen before, up to a bound (a spool full of junk must not grow the process without end). */
class ReportedOnce {
  private readonly seen = new Set<string>();
  constructor(private readonly limit: number) {}

  /** True the first time `key` is offered (and always once the bound is reached). */
  first(key: string): boolean {
    if (this.seen.has(key)) return false;
    if (this.seen.size < this.limit) this.seen.add(key);
    return true;
  }
}

/** One source and its destinations, from the flags or the config file. */
interface RouteSpec {
  readonly name: string | undefined;
  readonly from: string;
  readonly to: readonly { ref: string; transform: string | undefined }[];
  readonly protocol: ProtocolName | undefined;
  readonly batch: number | undefined;
  readonly concurrency: number | undefined;
  readonly maxAttempts: number | undefined;
}

/** What one route did, over all its passes. */
interface RouteTotals {
  committed: number;
  failed: number;
  skipped: number;
  bytes: number;
  refused: number;
  /** Messages that failed for want of a file descriptor (status 6). */
  outOfFiles: number;
  rolledBack: number;
  rolledForward: number;
  held: number;
}

function checkFlags(flags: RunFlags): void {
  if (flags.recoverInterval !== undefined && flags.watch !== true) throw new FanoutError('EUSAGE', '--recover-interval needs --watch (without it, run recovers once, at its start)');
  if (flags.lease !== undefined && flags.lease < MIN_LEASE_MS) throw new FanoutError('EUSAGE', `--lease must be at least ${MIN_LEASE_MS} ms (an owner gives up at 2/3 of its lease)`);
}

function routesOf(ctx: CliContext, flags: RunFlags): RouteSpec[] {
  checkFlags(flags);
  if (flags.from !== undefined) {
    if (!flags.to || flags.to.length === 0) throw new FanoutError('EUSAGE', 'run needs at least one --to <spool>');
    if (flags.route) throw new FanoutError('EUSAGE', '--route selects configured routes; it cannot be combined with --from');
    return [
      {
        name: undefined,
        from: flags.from,
        to: flags.to.map((ref) => ({ ref, transform: flags.transform })),
        protocol: flags.protocol,
        batch: flags.batch,
        concurrency: flags.concurrency,
        maxAttempts: flags.maxAttempts,
      },
    ];
  }
  if (flags.to && flags.to.length > 0) throw new FanoutError('EUSAGE', '--to needs --from <spool>');
  const configured = ctx.config?.routes ?? [];
  if (configured.length === 0) throw new FanoutError('EUSAGE', ctx.config ? `no routes in ${ctx.config.file}; give --from and --to` : 'run needs --from <spool> and --to <spool> (or --config with routes)');
  const wanted = flags.route;
  for (const name of wanted ?? []) {
    if (!configured.some((r) => r.name === name)) throw new FanoutError('EUSAGE', `no route named "${name}" in ${ctx.config!.file}`);
  }
  return configured
    .filter((r) => !wanted || wanted.includes(r.name))
    .map((r) => ({
      name: r.name,
      from: r.from,
      to: r.to.map((d) => ({ ref: d.spool, transform: d.transform ?? flags.transform })),
      protocol: flags.protocol ?? r.protocol,
      batch: flags.batch ?? r.batch,
      concurrency: flags.concurrency ?? r.concurrency,
      maxAttempts: flags.maxAttempts ?? r.maxAttempts,
    }));
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** How many messages wait in a spool (a streamed listing; only for the progress bar's total). */
async function countMessages(spool: SpoolBackend): Promise<number> {
  let n = 0;
  for await (const entry of spool.list()) if (entry.kind === 'file' && parseProtocolName(entry.name).kind === 'source') n++;
  return n;
}

/** Run the routes; see the module comment. */
async function runRoutes(ctx: CliContext, flags: RunFlags): Promise<ExitStatusCode> {
  let routes: RouteSpec[];
  try {
    routes = routesOf(ctx, flags);
  } catch (err) {
    ctx.reportError(err);
    return exitStatusFor(err);
  }
  const json = flags.json === true;
  const showBar = !json && ctx.io.stderr.isTTY === true;
  const progress: Progress = showBar ? (await import('../output/terminal-progress.js')).terminalProgress(ctx.io.stderr) : noProgress((line) => ctx.io.stderr.write(line));
  const interrupt = onInterrupt(ctx, { note: (line) => progress.log(`fanout: ${line}\n`), beforeExit: () => progress.stop() });
  // The routes share the process's open-file limit: each fan-out keeps under its part (open-file-limit.ts).
  const maxOpenFiles = processRouteOpenFiles(routes.length);
  try {
    const outcomes = await Promise.all(routes.map((r) => runRoute(ctx, r, flags, progress, showBar, interrupt.signal, routes.length > 1, maxOpenFiles)));
    // The bar goes first, so the summaries stay on screen below the last messages.
    progress.stop();
    for (const o of outcomes) if (o.summary !== undefined) ctx.io.stderr.write(o.summary);
    const received = interrupt.received();
    const status = worstStatus(...outcomes.map((o) => o.status));
    if (received !== undefined && flags.watch !== true) return worstStatus(status, signalStatus(received));
    return status;
  } finally {
    progress.stop();
    interrupt.dispose();
  }
}

async function runRoute(ctx: CliContext, route: RouteSpec, flags: RunFlags, progress: Progress, showBar: boolean, signal: AbortSignal, many: boolean, maxOpenFiles: number | undefined): Promise<{ status: ExitStatusCode; summary?: string }> {
  const json = flags.json === true;
  const label = route.name !== undefined && many ? `${route.name}: ` : '';
  const opened: SpoolBackend[] = [];
  const totals: RouteTotals = { committed: 0, failed: 0, skipped: 0, bytes: 0, refused: 0, outOfFiles: 0, rolledBack: 0, rolledForward: 0, held: 0 };
  /** Under --watch a message that failed for want of a descriptor is not failed: it waits in S for a later pass. */
  const retriedLater = (f: { error: unknown; committed: boolean }) => flags.watch === true && isTransientFailure(f);
  const started = Date.now();
  let dueTimer: NodeJS.Timeout | undefined;
  let stopPeriod: (() => void) | undefined;
  try {
    const source = await ctx.open(route.from);
    opened.push(source);
    const transforms = new Map<string, TransformFactory>();
    const destinations: FanOutDestination[] = [];
    for (const d of route.to) {
      const spool = await ctx.open(d.ref);
      opened.push(spool);
      let transform: TransformFactory | undefined;
      if (d.transform !== undefined) {
        transform = transforms.get(d.transform) ?? (await loadTransform(d.transform));
        transforms.set(d.transform, transform);
      }
      destinations.push(transform ? { spool, transform } : { spool });
    }

    const maxAttempts = route.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
    // Later passes of --watch see the other workers' live markers at every recovery: say so only under --verbose.
    let inFlightQuiet = false;
    const unknownSeen = new ReportedOnce(MAX_UNKNOWN_REMEMBERED);
    const onEvent = (event: FanoutEvent) => {
      // Every recovery of --watch, and every pass, lists the same unknown entries again: each is reported once a run.
      if (event.type === 'unknown-entry' && !unknownSeen.first(`${event.spool}\0${event.name}`)) return;
      if (json) ctx.json(route.name !== undefined && many ? { ...event, route: route.name } : event);
      switch (event.type) {
        case 'message-committed':
          progress.tick(event.bytes);
          break;
        case 'message-failed':
          progress.tick(0);
          progress.log(`fanout: ${label}${event.error.oneLine()}${event.committed ? ' [committed; its record is left for `fanout recover`]' : retriedLater(event) ? ' [left in the source; retried on a later pass]' : ''}${event.attempts !== undefined ? ` [failed attempt ${event.attempts} of ${maxAttempts}]` : ''}\n`);
          break;
        case 'message-held':
          progress.log(`fanout: ${label}${event.spool}: s${event.id}: held after ${plural(event.attempts, 'failed attempt')} (h${event.id}.s); \`fanout release ${event.spool} ${event.id}\` once it can be delivered\n`);
          break;
        case 'quarantined':
        case 'recovery-failed':
          progress.log(`fanout: ${label}${event.error.oneLine()}\n`);
          break;
        case 'unknown-entry':
          progress.log(`fanout: ${label}${event.spool}: ${event.name}: not a message (${event.kind}); left alone\n`);
          break;
        case 'marker-in-flight':
          if (!json && !inFlightQuiet) progress.log(`fanout: ${label}${event.spool}: m${event.id}: in flight, owned by ${event.owner}; left alone\n`);
          break;
        case 'recovered':
          if (!json && ctx.verbose) progress.log(`fanout: ${label}${source.location}: ${event.id}: ${event.action}\n`);
          break;
        default:
          break;
      }
    };

    const recoverEvery = flags.recoverInterval ?? DEFAULT_RECOVER_INTERVAL_MS;
    /** Per recovery period of --watch: aborted when the next recovery is due, or on SIGINT/SIGTERM. */
    let period: AbortController | undefined;
    const forwardInterrupt = () => period?.abort();
    signal.addEventListener('abort', forwardInterrupt, { once: true });
    stopPeriod = () => signal.removeEventListener('abort', forwardInterrupt);
    // One for the whole run: a --watch pass starts from the batch size the previous ones found fits the lease.
    const batchSizer = new BatchSizer(route.batch ?? DEFAULT_BATCH_SIZE, flags.lease ?? DEFAULT_LEASE_MS);
    for (let pass = 0; ; pass++) {
      if (showBar) progress.addTotal(await countMessages(source));
      // --watch recovers the source periodically (not only at start): a worker that died on this
      // spool, here or on another host, leaves markers that only a recovery finishes.
      const recoverNow = period === undefined || period.signal.aborted;
      if (recoverNow && flags.watch === true) {
        const c = (period = new AbortController());
        clearTimeout(dueTimer);
        dueTimer = setTimeout(() => c.abort(), recoverEvery);
        if (signal.aborted) c.abort();
      }
      inFlightQuiet = pass > 0 && !ctx.verbose;
      const summary = await fanOut({
        source,
        destinations,
        protocol: route.protocol,
        batchSize: route.batch,
        batchSizer,
        concurrency: route.concurrency,
        recoverFirst: recoverNow,
        open: ctx.opener,
        owner: localOwner(),
        ownerProbe: localOwnerProbe,
        leaseMs: flags.lease,
        stallTimeoutMs: stallTimeoutOf(flags),
        ...(maxOpenFiles !== undefined ? { maxOpenFiles } : {}),
        maxAttempts,
        // A steady stream of arrivals keeps fanOut listing; the due recovery ends the pass so it is not starved.
        signal: period?.signal ?? signal,
        onEvent,
      });
      totals.committed += summary.committed;
      const failed = summary.failed.filter((f) => !retriedLater(f));
      totals.failed += failed.length;
      totals.outOfFiles += failed.filter((f) => f.error.code === 'EMFILE').length;
      totals.skipped += summary.skipped;
      totals.held += summary.held;
      totals.bytes += summary.bytes;
      totals.refused += summary.recovery?.refused.length ?? 0;
      // A recovery step the storage refused leaves work undone: the run did not do everything.
      totals.failed += summary.recovery?.failed.length ?? 0;
      totals.rolledBack += summary.recovery?.rolledBack ?? 0;
      totals.rolledForward += summary.recovery?.rolledForward ?? 0;
      if (flags.watch !== true || signal.aborted) break;
      if (period?.signal.aborted) continue;
      await sleep(flags.interval ?? DEFAULT_WATCH_INTERVAL_MS, undefined, { signal }).catch(() => undefined);
      if (signal.aborted) break;
    }
  } catch (err) {
    progress.log(ctx.formatError(err));
    return { status: exitStatusFor(err) };
  } finally {
    clearTimeout(dueTimer);
    stopPeriod?.();
    for (const s of opened) await s.close().catch(() => undefined);
  }

  const ms = Date.now() - started;
  const status = worstStatus(
    totals.refused > 0 ? ExitStatus.refused : ExitStatus.ok,
    totals.outOfFiles > 0 ? ExitStatus.resources : ExitStatus.ok,
    totals.failed > 0 ? ExitStatus.failed : ExitStatus.ok,
  );
  if (json) {
    ctx.json({ type: 'summary', ...(route.name !== undefined ? { route: route.name } : {}), ...totals, ms, interrupted: signal.aborted });
  } else {
    const recovered = totals.rolledBack + totals.rolledForward > 0 ? `; recovered ${totals.rolledBack} rolled back, ${totals.rolledForward} rolled forward` : '';
    const refused = totals.refused > 0 ? `; recovery refused ${totals.refused}` : '';
    return {
      status,
      summary:
      `fanout: ${label}${plural(totals.committed, 'message')} fanned out to ${plural(route.to.length, 'spool')}, ${totals.failed} failed${totals.held > 0 ? ` (${totals.held} now held)` : ''}, ${totals.skipped} skipped; ` +
        `${formatBytes(totals.bytes)} written in ${formatDuration(ms)} (${perSecond(totals.committed, ms)} msg/s, ${formatBytes(perSecond(totals.bytes, ms))}/s)${recovered}${refused}${signal.aborted ? '; interrupted' : ''}\n`,
    };
  }
  return { status };
}

/** `fanout run`. */
export const runCommand = defineCommand({
  name: 'run',
  description: 'fan out every message of --from to every --to; recovers the source first; exits when none is left unless --watch',
  options: [
    { flags: '--from <spool>', description: 'the source spool' },
    { flags: '--to <spool>', description: 'a destination spool (repeat for several)', parse: collect },
    { flags: '--route <name>', description: 'with --config: run only this route (repeatable; default all)', parse: collect },
    { flags: '--protocol <name>', description: 'staged (default: copies invisible until committed) or seed', choices: ['staged', 'seed'] },
    { flags: '--batch <n>', description: 'messages per transaction (they share directory syncs; default 32)', parse: positiveInt },
    { flags: '--concurrency <n>', description: 'transactions writing copies at once (default 4; as many again may be committing)', parse: positiveInt },
    { flags: '--transform <module>', description: 'module whose default export makes a Transform per message and destination' },
    { flags: '--watch', description: 'keep running and fan out new messages as they arrive (until SIGINT/SIGTERM)' },
    { flags: '--interval <ms>', description: 'with --watch: how often to look for new messages (default 1000)', parse: positiveInt },
    {
      flags: '--recover-interval <ms>',
      description: "with --watch: how often to recover the source's stale attempts, left by dead or stopped workers (default 30000)",
      parse: positiveInt,
    },
    {
      flags: '--lease <ms>',
      description: `lease written into each attempt's record (default 600000, at least ${MIN_LEASE_MS}; renewed every third of it while the attempt runs); a worker backs out at 2/3 of it, and another host's recovery may take the attempt over once it ends (the commit is fenced: a worker that was taken over cannot commit)`,
      parse: positiveInt,
    },
    {
      flags: '--stall-timeout <ms>',
      description: 'a copy (read, transform, write) that makes no progress this long fails with ETIMEDOUT and is rolled back (default 300000, or FANOUT_STALL_TIMEOUT_MS)',
      parse: positiveInt,
    },
    {
      flags: '--max-attempts <n>',
      description: 'failed attempts of a message (its transform threw or gave no stream: ETRANSFORM) before it is held as h<id>.s, no longer offered, until `fanout release` (default 5; config key maxAttempts); an unreachable destination is never counted',
      parse: positiveInt,
    },
    { flags: '--json', description: 'print one JSON object per event and a summary object on stdout' },
  ],
  help:
    'Several workers may run on one source spool at once (on this host, or on hosts sharing an NFS spool):\neach message is taken by one (an atomic rename); with --watch each recovers what dead ones left. Give a\nsource on WebDAV one worker only: common servers check Overwrite: F before they move, so two\nrecoverers could both claim one attempt.',
  examples: [
    'fanout run --from ./spool/in --to ./spool/out-a --to webdav+https://dav.example.com/out',
    'fanout run --from ./spool/in --to ./spool/out-a --watch --interval 200 --recover-interval 10000',
    'fanout --config fanout.yaml run --route main',
  ],
  handler: runRoutes,
});
