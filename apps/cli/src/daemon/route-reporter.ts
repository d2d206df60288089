/**
 * Where a route's up/down transitions go: one line on stderr (through the
 * progress display), one JSON line under `--json`, the `fanout_route_up`
 * gauge, and the state `/healthz` answers from.
 */
import type { CliContext } from '../cli-context.js';
import type { FanoutMetrics } from '../metrics/fanout-metrics.js';
import { describeTransition, type RouteHealthSink, type RouteState } from './route-health.js';

/** Shared by every route of one command. */
export class RouteReporter {
  /** Each route's state now, for `/healthz`. */
  readonly states = new Map<string, RouteState>();

  constructor(
    private readonly ctx: CliContext,
    private readonly log: (line: string) => void,
    private readonly metrics: FanoutMetrics | undefined,
  ) {}

  /**
   * The sink for route `route`, whose human lines start with `label` (e.g. `route main: `); `waiting` says where its
   * messages wait.
   */
  sink(label: string, waiting?: string): RouteHealthSink {
    return {
      transition: (t) => {
        this.log(`fanout: ${describeTransition(t, label, waiting)}\n`);
        if (this.ctx.jsonOutput) this.ctx.json(t);
      },
      state: (route, state) => {
        this.states.set(route, state);
        this.metrics?.routeState(route, state);
      },
    };
  }

  /** A route is gone for good (removed by a reload): no longer in `/healthz` nor in the gauge. */
  forget(route: string): void {
    this.states.delete(route);
    this.metrics?.forgetRoute(route);
  }
}
