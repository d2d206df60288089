/**
 * `fanout run`: fan out every message of a source spool to its destinations,
 * after recovering the source; exits when none is left (unless `--watch`).
 * With `--config` and no `--from`, every configured route runs, in one process.
 * With `--watch` it keeps polling the source and recovers its stale markers
 * every `--recover-interval`, so several workers (and hosts) can share a source
 * and any of them finishes what a dead one left; each route is supervised on
 * its own (`daemon/`): an outage of a spool marks it down and is retried with
 * backoff, never ending the process.
 */
import { performance } from 'node:perf_hooks';
import {
  DEFAULT_BATCH_SIZE,
  DEFAULT_LEASE_MS,
  DEFAULT_MAX_ATTEMPTS,
  type FanoutEvent,
  type FanOutDestination,
  FanoutError,
  fanOut,
  type FanOutSummary,
  overrideBackend,
  type ProtocolName,
  type SpoolBackend,
  type TransformFactory,
} from '@fanout/core';
import { BatchSizer, parseProtocolName } from '@fanout/core/internal';
import type { CliContext } from '../cli-context.js';
import { Backoff } from '../daemon/backoff.js';
import { RouteHealth } from '../daemon/route-health.js';
import type { RouteReporter } from '../daemon/route-reporter.js';
import { classifyFailure, storageFaultOf } from '../daemon/storage-fault.js';
import { supervise } from '../daemon/supervise.js';
import { ExitStatus, type ExitStatusCode, exitStatusFor, signalStatus, worstStatus } from '../exit-status.js';
import { isTransientFailure } from '../daemon/transient-failure.js';
import { onInterrupt } from '../interrupt.js';
import type { FanoutMetrics } from '../metrics/fanout-metrics.js';
import { parseListenAddress } from '../metrics/listen-address.js';
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
  /** `--metrics <host:port>` (with `--watch`). */
  readonly metrics?: string;
  /** `--max-backoff <ms>`: the longest wait between two retries of a route that is down. */
  readonly maxBackoff?: number;
}

/**
 * How long a copy may make no progress (a transform that never produces, a
 * destination that never answers) before it fails with ETIMEDOUT and is
 * rolled back: `--stall-timeout`, else `FANOUT_STALL_TIMEOUT_MS`, else 5 min.
 */
export function stallTimeoutOf(
  flags: Pick<RunFlags, 'stallTimeout'>,
  env: NodeJS.ProcessEnv = process.env,
): number | undefined {
  if (flags.stallTimeout !== undefined) return flags.stallTimeout;
  const fromEnv = env.FANOUT_STALL_TIMEOUT_MS;
  if (fromEnv === undefined || fromEnv === '') return undefined;
  const ms = Number(fromEnv);
  if (!Number.isSafeInteger(ms) || ms <= 0)
    throw new FanoutError(
      'EUSAGE',
      `FANOUT_STALL_TIMEOUT_MS must be a positive number of milliseconds, not ${JSON.stringify(fromEnv)}`,
    );
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

/** The name that route-down/up lines, JSON events and metrics give the one route of `--from`/`--to`. */
export const DEFAULT_ROUTE_NAME = 'default';

/** One source and its destinations, from the flags or the config file. */
export interface RouteSpec {
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
  /** Under `--watch`: failed attempts of messages that met an outage (they wait; not counted in `failed`). */
  deferred: number;
  held: number;
}

function checkFlags(flags: RunFlags): void {
  if (flags.recoverInterval !== undefined && flags.watch !== true)
    throw new FanoutError('EUSAGE', '--recover-interval needs --watch (without it, run recovers once, at its start)');
  if (flags.lease !== undefined && flags.lease < MIN_LEASE_MS)
    throw new FanoutError(
      'EUSAGE',
      `--lease must be at least ${MIN_LEASE_MS} ms (an owner gives up at 2/3 of its lease)`,
    );
  if (flags.maxBackoff !== undefined && flags.watch !== true)
    throw new FanoutError('EUSAGE', '--max-backoff needs --watch (without it, a run does not retry)');
  if (flags.metrics !== undefined) {
    if (flags.watch !== true)
      throw new FanoutError('EUSAGE', '--metrics needs --watch (a run that ends has nothing to scrape)');
    parseListenAddress(flags.metrics);
  }
}

/** The routes to run: from `--from`/`--to`, or the config file's (those `--route` names). */
export function routesOf(ctx: CliContext, flags: RunFlags): RouteSpec[] {
  checkFlags(flags);
  if (flags.from !== undefined) {
    if (!flags.to || flags.to.length === 0) throw new FanoutError('EUSAGE', 'run needs at least one --to <spool>');
    if (flags.route)
      throw new FanoutError('EUSAGE', '--route selects configured routes; it cannot be combined with --from');
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
  if (configured.length === 0)
    throw new FanoutError(
      'EUSAGE',
      ctx.config
        ? `no routes in ${ctx.config.file}; give --from and --to`
        : 'run needs --from <spool> and --to <spool> (or --config with routes)',
    );
  const wanted = flags.route;
  for (const name of wanted ?? []) {
    if (!configured.some((r) => r.name === name))
      throw new FanoutError('EUSAGE', `no route named "${name}" in ${ctx.config!.file}`);
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
  for await (const entry of spool.list())
    if (entry.kind === 'file' && parseProtocolName(entry.name).kind === 'source') n++;
  return n;
}

/** What the routes of one command share. */
export interface RouteEnv {
  readonly progress: Progress;
  readonly showBar: boolean;
  /** More than one route runs: lines and events name their route. */
  readonly many: boolean;
  readonly metrics: FanoutMetrics | undefined;
  /** Under `--watch`: where route-down/up transitions go. */
  readonly reporter: RouteReporter | undefined;
  /** Each route's part of the process's open-file limit (open-file-limit.ts). */
  readonly maxOpenFiles: number | undefined;
}

/** What one route did, and how it ended. */
export interface RouteOutcome {
  readonly status: ExitStatusCode;
  /** The human summary line, printed by the caller (after the progress bar is gone). */
  readonly summary?: string;
  /** It ended on an error that must end the command (a mistake found before it ever ran). */
  readonly fatal: boolean;
}

/** Run the routes; see the module comment. */
async function runRoutes(ctx: CliContext, flags: RunFlags): Promise<ExitStatusCode> {
  let routes: RouteSpec[];
  try {
    routes = routesOf(ctx, flags);
  } catch (err) {
    ctx.reportError(err, 'fatal');
    return exitStatusFor(err);
  }
  if (flags.watch === true) {
    const { watchRoutes } = await import('../daemon/watch-routes.js');
    return watchRoutes(ctx, flags, routes);
  }
  const showBar = flags.json !== true && ctx.io.stderr.isTTY === true;
  const progress: Progress = showBar
    ? (await import('../output/terminal-progress.js')).terminalProgress(ctx.io.stderr)
    : noProgress((line) => ctx.io.stderr.write(line));
  const interrupt = onInterrupt(
    ctx,
    { note: (line) => progress.log(`fanout: ${line}\n`), beforeExit: () => progress.stop() },
    'stop',
  );
  // The routes share the process's open-file limit: each fan-out keeps under its part (open-file-limit.ts).
  const env: RouteEnv = {
    progress,
    showBar,
    many: routes.length > 1,
    metrics: undefined,
    reporter: undefined,
    maxOpenFiles: processRouteOpenFiles(routes.length),
  };
  try {
    const outcomes = await Promise.all(routes.map((r) => runRoute(ctx, r, flags, env, interrupt.signal, true)));
    // The bar goes first, so the summaries stay on screen below the last messages.
    progress.stop();
    for (const o of outcomes) if (o.summary !== undefined) ctx.io.stderr.write(o.summary);
    const received = interrupt.received();
    const status = worstStatus(...outcomes.map((o) => o.status));
    return received !== undefined ? worstStatus(status, signalStatus(received)) : status;
  } finally {
    progress.stop();
    interrupt.dispose();
  }
}

/** The route's spools, open, with the transforms loaded; directory syncs timed for `/metrics`. */
interface OpenRoute {
  readonly source: SpoolBackend;
  readonly destinations: FanOutDestination[];
}

async function openRoute(
  ctx: CliContext,
  route: RouteSpec,
  metrics: FanoutMetrics | undefined,
  opened: SpoolBackend[],
): Promise<OpenRoute> {
  const open = async (ref: string) => {
    const backend = await ctx.open(ref);
    opened.push(backend);
    if (!metrics) return backend;
    metrics.watchSpool(backend);
    return overrideBackend(backend, {
      async syncDir() {
        const t = performance.now();
        try {
          await backend.syncDir();
        } finally {
          metrics.observeSync(backend.location, performance.now() - t);
        }
      },
    });
  };
  const source = await open(route.from);
  const transforms = new Map<string, TransformFactory>();
  const destinations: FanOutDestination[] = [];
  for (const d of route.to) {
    const spool = await open(d.ref);
    let transform: TransformFactory | undefined;
    if (d.transform !== undefined) {
      transform = transforms.get(d.transform) ?? (await loadTransform(d.transform));
      transforms.set(d.transform, transform);
    }
    destinations.push(transform ? { spool, transform } : { spool });
  }
  return { source, destinations };
}

/** A pass whose every failure was an outage of a storage (and nothing committed) ran into that outage. */
function outageOf(summary: FanOutSummary): FanoutError | undefined {
  if (summary.committed > 0 || summary.failed.length === 0) return undefined;
  const faults = summary.failed.map((f) => storageFaultOf(f.error));
  return faults.every((f) => f !== undefined) ? faults[0] : undefined;
}

/**
 * Run one route: without `--watch` one pass (recovery first); with it,
 * passes until `signal`, supervised (an outage marks the route down and is
 * retried with backoff; only a mistake found before the route ever ran on
 * its first config (`initial`) ends it early, as fatal).
 */
export async function runRoute(
  ctx: CliContext,
  route: RouteSpec,
  flags: RunFlags,
  env: RouteEnv,
  signal: AbortSignal,
  initial: boolean,
): Promise<RouteOutcome> {
  const { progress, showBar, metrics } = env;
  const json = flags.json === true;
  const watch = flags.watch === true;
  const routeName = route.name ?? DEFAULT_ROUTE_NAME;
  const label = route.name !== undefined && env.many ? `${route.name}: ` : '';
  const opened: SpoolBackend[] = [];
  const totals: RouteTotals = {
    committed: 0,
    failed: 0,
    skipped: 0,
    bytes: 0,
    refused: 0,
    outOfFiles: 0,
    rolledBack: 0,
    rolledForward: 0,
    deferred: 0,
    held: 0,
  };
  const maxAttempts = route.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  /**
   * Under --watch a message that failed on an outage of a storage, or for want of a descriptor, is not
   * failed: it waits in S for a later pass.
   */
  const retriedLater = (f: { error: unknown; committed: boolean }) =>
    watch && (isTransientFailure(f) || (!f.committed && storageFaultOf(f.error) !== undefined));
  const started = Date.now();
  // One for the whole run: a --watch pass starts from the batch size the previous ones found fits the lease.
  const batchSizer = new BatchSizer(route.batch ?? DEFAULT_BATCH_SIZE, flags.lease ?? DEFAULT_LEASE_MS);
  const health = watch
    ? new RouteHealth(routeName, env.reporter!.sink(route.name !== undefined ? `route ${route.name}: ` : 'route: '))
    : undefined;
  let recoveryDue = true;
  let passController: AbortController | undefined;
  let dueTimer: NodeJS.Timeout | undefined;
  const recoverEvery = flags.recoverInterval ?? DEFAULT_RECOVER_INTERVAL_MS;
  /**
   * --watch recovers the source periodically (not only at start): a worker that died on this spool, here or on another
   * host, leaves markers that only a recovery finishes.
   */
  const scheduleRecovery = () => {
    clearTimeout(dueTimer);
    dueTimer = setTimeout(() => {
      recoveryDue = true;
      // A steady stream of arrivals keeps fanOut listing; the due recovery ends the pass so it is not starved.
      passController?.abort();
    }, recoverEvery);
  };

  // Later passes of --watch see the other workers' live markers at every recovery: say so only under --verbose.
  let inFlightQuiet = false;
  let openedRoute: OpenRoute | undefined;
  const unknownSeen = new ReportedOnce(MAX_UNKNOWN_REMEMBERED);
  const onEvent = (event: FanoutEvent) => {
    metrics?.observe(routeName, event);
    // Every recovery of --watch, and every pass, lists the same unknown entries again: each is reported once a run.
    if (event.type === 'unknown-entry' && !unknownSeen.first(`${event.spool}\0${event.name}`)) return;
    if (json) ctx.json(route.name !== undefined && env.many ? { ...event, route: route.name } : event);
    switch (event.type) {
      case 'message-committed':
        progress.tick(event.bytes);
        break;
      case 'message-failed': {
        progress.tick(0);
        // While the route is down its route-down line says it all: one line per outage, not per message and retry.
        if (health?.state === 'down' && !ctx.verbose && storageFaultOf(event.error) !== undefined) break;
        const fate = event.committed
          ? ' [committed; its record is left for `fanout recover`]'
          : retriedLater(event)
            ? ' [left in the source; retried on a later pass]'
            : '';
        const counted = event.attempts !== undefined ? ` [failed attempt ${event.attempts} of ${maxAttempts}]` : '';
        progress.log(`fanout: ${label}${event.error.oneLine()}${fate}${counted}\n`);
        break;
      }
      case 'message-held':
        progress.log(
          `fanout: ${label}${event.spool}: s${event.id}: held after ${plural(event.attempts, 'failed attempt')}` +
            ` (h${event.id}.s); \`fanout release ${event.spool} ${event.id}\` once it can be delivered\n`,
        );
        break;
      case 'quarantined':
      case 'recovery-failed':
        progress.log(`fanout: ${label}${event.error.oneLine()}\n`);
        break;
      case 'unknown-entry':
        progress.log(`fanout: ${label}${event.spool}: ${event.name}: not a message (${event.kind}); left alone\n`);
        break;
      case 'marker-in-flight':
        if (!json && !inFlightQuiet)
          progress.log(
            `fanout: ${label}${event.spool}: m${event.id}: in flight, owned by ${event.owner}; left alone\n`,
          );
        break;
      case 'marker-awaiting-owner':
        if (!json && !inFlightQuiet)
          progress.log(
            `fanout: ${label}${event.spool}: m${event.id}: recovered; its record stays until its owner ` +
              `${event.owner} is proven dead or finishes\n`,
          );
        break;
      case 'recovered':
        if (!json && ctx.verbose)
          progress.log(`fanout: ${label}${openedRoute?.source.location ?? route.from}: ${event.id}: ${event.action}\n`);
        break;
      default:
        break;
    }
  };

  let passes = 0;
  const pass = async (): Promise<FanOutSummary> => {
    openedRoute ??= await openRoute(ctx, route, metrics, opened);
    const { source, destinations } = openedRoute;
    if (showBar) progress.addTotal(await countMessages(source));
    const recoverNow = recoveryDue;
    passController = new AbortController();
    inFlightQuiet = passes++ > 0 && !ctx.verbose;
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
      ...(env.maxOpenFiles !== undefined ? { maxOpenFiles: env.maxOpenFiles } : {}),
      maxAttempts,
      signal: watch ? AbortSignal.any([signal, passController.signal]) : signal,
      onEvent,
    });
    if (recoverNow && watch) {
      recoveryDue = false;
      scheduleRecovery();
    }
    totals.committed += summary.committed;
    for (const f of summary.failed) {
      if (retriedLater(f)) {
        totals.deferred++;
        continue;
      }
      totals.failed++;
      if (f.error.code === 'EMFILE') totals.outOfFiles++;
    }
    totals.skipped += summary.skipped;
    totals.held += summary.held;
    totals.bytes += summary.bytes;
    totals.refused += summary.recovery?.refused.length ?? 0;
    // A recovery step the storage refused leaves work undone: the run did not do everything.
    totals.failed += summary.recovery?.failed.length ?? 0;
    totals.rolledBack += summary.recovery?.rolledBack ?? 0;
    totals.rolledForward += summary.recovery?.rolledForward ?? 0;
    return summary;
  };

  let fatal = false;
  try {
    if (!watch) {
      await pass();
    } else {
      await supervise({
        health: health!,
        backoff: new Backoff({ maxMs: flags.maxBackoff }),
        signal,
        step: async () => {
          const summary = await pass();
          return { waitMs: recoveryDue ? 0 : (flags.interval ?? DEFAULT_WATCH_INTERVAL_MS), outage: outageOf(summary) };
        },
        classify: (err) => classifyFailure(err, opened),
        // A mistake in the command line or config (not a spool, a bad URL, a broken transform) ends the
        // command only at its start; a reloaded route with one is down and retried until fixed.
        isFatal: (err, everUp) => initial && !everUp && exitStatusFor(err) === ExitStatus.usage,
      });
    }
  } catch (err) {
    progress.log(ctx.formatError(err));
    if (json)
      ctx.json({
        type: 'error',
        level: 'fatal',
        ...(route.name !== undefined ? { route: route.name } : {}),
        error: err,
      });
    fatal = true;
    return { status: exitStatusFor(err), fatal };
  } finally {
    clearTimeout(dueTimer);
    for (const s of opened) {
      metrics?.unwatchSpool(s);
      await s.close().catch(() => undefined);
    }
  }

  const ms = Date.now() - started;
  const status = worstStatus(
    totals.refused > 0 ? ExitStatus.refused : ExitStatus.ok,
    totals.outOfFiles > 0 ? ExitStatus.resources : ExitStatus.ok,
    totals.failed > 0 ? ExitStatus.failed : ExitStatus.ok,
  );
  if (json) {
    ctx.json({
      type: 'summary',
      ...(route.name !== undefined ? { route: route.name } : {}),
      ...totals,
      ms,
      interrupted: signal.aborted,
    });
    return { status, fatal };
  }
  const recovered =
    totals.rolledBack + totals.rolledForward > 0
      ? `; recovered ${totals.rolledBack} rolled back, ${totals.rolledForward} rolled forward`
      : '';
  const refused = totals.refused > 0 ? `; recovery refused ${totals.refused}` : '';
  const deferred = totals.deferred > 0 ? `; ${plural(totals.deferred, 'attempt')} deferred by outages` : '';
  return {
    status,
    fatal,
    summary:
      `fanout: ${label}${plural(totals.committed, 'message')} fanned out ` +
      `to ${plural(route.to.length, 'spool')}, ${totals.failed} ` +
      `failed${totals.held > 0 ? ` (${totals.held} now held)` : ''}, ${totals.skipped} skipped; ` +
      `${formatBytes(totals.bytes)} written in ${formatDuration(ms)} ` +
      `(${perSecond(totals.committed, ms)} msg/s, ${formatBytes(perSecond(totals.bytes, ms))}/s)` +
      `${recovered}${refused}${deferred}${signal.aborted ? '; interrupted' : ''}\n`,
  };
}

/** `fanout run`. */
export const runCommand = defineCommand({
  name: 'run',
  description:
    'fan out every message of --from to every --to; recovers the source first; exits when none is left unless --watch',
  options: [
    { flags: '--from <spool>', description: 'the source spool' },
    { flags: '--to <spool>', description: 'a destination spool (repeat for several)', parse: collect },
    {
      flags: '--route <name>',
      description: 'with --config: run only this route (repeatable; default all)',
      parse: collect,
    },
    {
      flags: '--protocol <name>',
      description: 'staged (default: copies invisible until committed) or seed',
      choices: ['staged', 'seed'],
    },
    {
      flags: '--batch <n>',
      description: 'messages per transaction (they share directory syncs; default 32)',
      parse: positiveInt,
    },
    {
      flags: '--concurrency <n>',
      description: 'transactions writing copies at once (default 4; as many again may be committing)',
      parse: positiveInt,
    },
    {
      flags: '--transform <module>',
      description: 'module whose default export makes a Transform per message and destination',
    },
    {
      flags: '--watch',
      description:
        'keep running and fan out new messages as they arrive (until SIGINT/SIGTERM); outages are ridden out',
    },
    {
      flags: '--interval <ms>',
      description: 'with --watch: how often to look for new messages (default 1000)',
      parse: positiveInt,
    },
    {
      flags: '--recover-interval <ms>',
      description:
        "with --watch: how often to recover the source's stale attempts, " +
        'left by dead or stopped workers (default 30000)',
      parse: positiveInt,
    },
    {
      flags: '--max-backoff <ms>',
      description:
        'with --watch: the longest wait between two retries of a route ' +
        'that is down (default 30000; retries start at 500 ms and double)',
      parse: positiveInt,
    },
    {
      flags: '--metrics <host:port>',
      description:
        'with --watch: serve Prometheus metrics at http://<host:port>/metrics ' +
        'and health at /healthz (port 0: any free port, printed)',
    },
    {
      flags: '--lease <ms>',
      description:
        `lease written into each attempt's record (default 600000, at least ${MIN_LEASE_MS}; renewed every ` +
        `third of it while the attempt runs); a worker backs out at 2/3 of it, and another host's recovery may ` +
        `take the attempt over once it ends (the commit is fenced: a worker that was taken over cannot commit)`,
      parse: positiveInt,
    },
    {
      flags: '--stall-timeout <ms>',
      description:
        'a copy (read, transform, write) that makes no progress this long fails with ' +
        'ETIMEDOUT and is rolled back (default 300000, or FANOUT_STALL_TIMEOUT_MS)',
      parse: positiveInt,
    },
    {
      flags: '--max-attempts <n>',
      description:
        'failed attempts of a message (its transform threw or gave no stream: ETRANSFORM) ' +
        'before it is held as h<id>.s, no longer offered, until `fanout release` (default 5; ' +
        'config key maxAttempts); an unreachable destination is never counted',
      parse: positiveInt,
    },
    {
      flags: '--json',
      description: 'print one JSON object per event and a summary object on stdout (each line with ts and level)',
    },
  ],
  help:
    'With --watch, an outage of a spool (server away, I/O error, disk full, permission, ' +
    "missing directory) never\nends the run: the route's messages wait in the source, " +
    'it is retried with backoff, and one line says when it\ngoes down and one when it is back. ' +
    'SIGHUP reloads a --config file (routes added, removed, changed; work in\n' +
    'hand finishes first); without --config it is ignored. ' +
    'Without --watch, SIGHUP stops as SIGTERM does (129).\n' +
    'Several workers may run on one source spool at once (on this host, or on hosts sharing an NFS spool):\n' +
    'each message is taken by one (an atomic rename); with --watch each recovers what dead ones left. Give a\n' +
    'source on WebDAV one worker only: common servers check Overwrite: ' +
    'F before they move, so two\nrecoverers could both claim one attempt.',
  examples: [
    'fanout run --from ./spool/in --to ./spool/out-a --to webdav+https://dav.example.com/out',
    'fanout run --from ./spool/in --to ./spool/out-a --watch --interval 200 --recover-interval 10000',
    'fanout --config fanout.yaml run --watch --route main --metrics 127.0.0.1:9464',
  ],
  handler: runRoutes,
});
