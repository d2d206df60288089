/**
 * `run --watch`: every route runs as a supervised task of a {@link RouteSet}
 * until SIGINT/SIGTERM; `--metrics` serves `/metrics` and `/healthz`
 * meanwhile; SIGHUP reloads the `--config` file (routes added, removed,
 * changed; a removed or changed route finishes the transaction in hand
 * first; an invalid file is reported in one line and the running
 * configuration kept), and is logged and ignored without `--config`.
 */
import type { CliContext } from '../cli-context.js';
import {
  DEFAULT_ROUTE_NAME,
  type RouteEnv,
  type RouteOutcome,
  type RouteSpec,
  routesOf,
  runRoute,
  type RunFlags,
} from '../commands/run.js';
import { type ExitStatusCode, worstStatus } from '../exit-status.js';
import { onInterrupt } from '../interrupt.js';
import type { FanoutMetrics } from '../metrics/fanout-metrics.js';
import type { MetricsServer } from '../metrics/metrics-server.js';
import { processRouteOpenFiles } from '../open-file-limit.js';
import { noProgress, type Progress } from '../output/progress.js';
import { formatDuration } from '../output/human-units.js';
import { RouteReporter } from './route-reporter.js';
import { RouteSet } from './route-set.js';

/** A route with the context its spools resolve in (a reload brings a new one). */
interface LiveRoute {
  readonly spec: RouteSpec;
  readonly ctx: CliContext;
  /** Equal keys: the same route (spools resolved to the same locations and logins, same settings). */
  readonly key: string;
}

function liveRoutes(ctx: CliContext, specs: readonly RouteSpec[]): Map<string, LiveRoute> {
  const out = new Map<string, LiveRoute>();
  for (const spec of specs) {
    const resolved = [spec.from, ...spec.to.map((d) => d.ref)].map((ref) => ctx.resolve(ref));
    out.set(spec.name ?? DEFAULT_ROUTE_NAME, { spec, ctx, key: JSON.stringify({ spec, resolved }) });
  }
  return out;
}

/** Run `routes` under `--watch`; see the module comment. */
export async function watchRoutes(
  ctx: CliContext,
  flags: RunFlags,
  routes: readonly RouteSpec[],
): Promise<ExitStatusCode> {
  const json = flags.json === true;
  const showBar = !json && ctx.io.stderr.isTTY === true;
  const progress: Progress = showBar
    ? (await import('../output/terminal-progress.js')).terminalProgress(ctx.io.stderr)
    : noProgress((line) => ctx.io.stderr.write(line));
  // prom-client and the HTTP server are loaded only when asked for.
  const served = flags.metrics !== undefined ? await import('../metrics/serve-metrics.js') : undefined;
  const metrics: FanoutMetrics | undefined = served?.newMetrics();
  const reporter = new RouteReporter(ctx, (line) => progress.log(line), metrics);
  const configFile = ctx.config?.file;
  let many = routes.length > 1;
  // The routes share the process's open-file limit; a reload that changes their number changes each one's part for
  // routes started after it.
  let maxOpenFiles = processRouteOpenFiles(routes.length);
  const envOf = (): RouteEnv => ({ progress, showBar, many, metrics, reporter, maxOpenFiles });

  /** Summaries of routes stopped for good; printed at once when a reload stops them, else at the end. */
  const summaries: string[] = [];
  const statuses: ExitStatusCode[] = [];
  let ending = false;
  const set = new RouteSet<LiveRoute, RouteOutcome>({
    run: async (name, live, signal, initial) => {
      const outcome = await runRoute(live.ctx, live.spec, flags, envOf(), signal, initial);
      return { outcome, ...(outcome.fatal ? { fatal: outcome.status } : {}) };
    },
    same: (a, b) => a.key === b.key,
    onUnexpectedEnd: (name, reason, inMs) => {
      const why = reason instanceof Error ? reason.message : 'it returned';
      progress.log(
        `fanout: route ${name}: its task ended unexpectedly (${why}); restarting in ${formatDuration(inMs)}\n`,
      );
      if (json) ctx.json({ type: 'route-restarted', route: name, reason: why, restartInMs: inMs });
    },
    onStopped: (_name, outcome) => {
      statuses.push(outcome.status);
      if (outcome.summary === undefined) return;
      if (ending) summaries.push(outcome.summary);
      else progress.log(outcome.summary);
    },
  });

  let server: MetricsServer | undefined;
  const reload = async () => {
    if (configFile === undefined) {
      progress.log('fanout: SIGHUP: nothing to reload (no --config); ignored\n');
      if (json) ctx.json({ type: 'reload-ignored', reason: 'no --config' });
      return;
    }
    let next: Map<string, LiveRoute>;
    try {
      const { loadConfig } = await import('../config-file.js');
      const reloaded = ctx.withConfig(await loadConfig(configFile, ctx.io.env));
      next = liveRoutes(reloaded, routesOf(reloaded, flags));
    } catch (err) {
      progress.log(
        `fanout: SIGHUP: ${ctx
          .formatError(err)
          .replace(/^fanout: /, '')
          .trimEnd()}; keeping the running configuration\n`,
      );
      if (json) ctx.json({ type: 'reload-failed', file: configFile, error: err });
      return;
    }
    many = next.size > 1;
    maxOpenFiles = processRouteOpenFiles(Math.max(next.size, set.names().length));
    const diff = await set.apply(next);
    for (const name of diff.removed) reporter.forget(name);
    const list = (names: string[]) => (names.length > 0 ? names.join(', ') : 'none');
    progress.log(
      `fanout: SIGHUP: reloaded ${configFile}: added ${list(diff.added)}; ` +
        `changed ${list(diff.changed)}; removed ${list(diff.removed)}; unchanged ${list(diff.unchanged)}\n`,
    );
    if (json) ctx.json({ type: 'config-reloaded', file: configFile, ...diff });
  };
  // Reloads run one after the other: a second SIGHUP waits for the first to finish.
  let reloading = Promise.resolve();
  const interrupt = onInterrupt(
    ctx,
    { note: (line) => progress.log(`fanout: ${line}\n`), beforeExit: () => progress.stop() },
    () => {
      reloading = reloading.then(reload, reload);
    },
  );
  try {
    if (served && metrics) {
      try {
        server = await served.serveMetrics(flags.metrics!, metrics, () => reporter.states);
      } catch (err) {
        ctx.reportError(err, 'fatal');
        return 2;
      }
      progress.log(`fanout: metrics at ${server.url}/metrics, health at ${server.url}/healthz\n`);
      if (json) ctx.json({ type: 'metrics-listening', url: server.url });
    }
    await set.apply(liveRoutes(ctx, routes));
    await new Promise<void>((resolve) => {
      if (interrupt.signal.aborted || set.fatalSignal.aborted) return resolve();
      interrupt.signal.addEventListener('abort', () => resolve(), { once: true });
      set.fatalSignal.addEventListener('abort', () => resolve(), { once: true });
    });
    await reloading;
    ending = true;
    await set.stopAll();
    progress.stop();
    for (const line of summaries) ctx.io.stderr.write(line);
    // The normal end of --watch is a signal: its status is that of the work (0 when all went well).
    return set.fatal ?? worstStatus(...statuses);
  } finally {
    progress.stop();
    interrupt.dispose();
    await server?.close();
  }
}
