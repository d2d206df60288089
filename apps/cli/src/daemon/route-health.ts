/**
 * Whether a route (or a consumer's spool) is up or down, and the one event
 * per change of that state: `route-down` when an outage starts, `route-up`
 * when it is over — never one per retry, however long the outage lasts.
 */
import type { FanoutError, FanoutErrorCode } from '@fanout/core';
import { formatDuration } from '../output/human-units.js';

/** A change of a route's state, as `--json` prints it (with `ts` and `level`). */
export type RouteTransition =
  | {
      readonly type: 'route-down';
      readonly route: string;
      /** The spool that failed, where the error names one. */
      readonly spool: string | undefined;
      readonly file: string | undefined;
      readonly code: FanoutErrorCode;
      readonly message: string;
      /** When the first retry comes. */
      readonly retryInMs: number;
    }
  | {
      readonly type: 'route-up';
      readonly route: string;
      /** The spool and code of the outage that is over. */
      readonly spool: string | undefined;
      readonly code: FanoutErrorCode;
      /** How long the route was down. */
      readonly downMs: number;
      /** Retries it took. */
      readonly retries: number;
    };

/** `starting` until the first pass ends; then `up` or `down`. */
export type RouteState = 'starting' | 'up' | 'down';

/** Where a {@link RouteHealth} reports. */
export interface RouteHealthSink {
  /** A transition: print it (once). */
  transition(t: RouteTransition): void;
  /** Every change of state, the silent `starting` → `up` too (for a gauge). */
  state?(route: string, state: RouteState): void;
}

/** The up/down state of one route. */
export class RouteHealth {
  private current: RouteState = 'starting';
  private outage: { error: FanoutError; sinceMs: number; retries: number } | undefined;

  constructor(
    readonly route: string,
    private readonly sink: RouteHealthSink,
    private readonly now: () => number = Date.now,
  ) {
    sink.state?.(route, 'starting');
  }

  get state(): RouteState {
    return this.current;
  }

  /** A pass went through: the route is up (reported only if it was down). */
  up(): void {
    if (this.current === 'up') return;
    const outage = this.outage;
    this.current = 'up';
    this.outage = undefined;
    this.sink.state?.(this.route, 'up');
    if (outage) {
      this.sink.transition({
        type: 'route-up',
        route: this.route,
        spool: outage.error.spool,
        code: outage.error.code,
        downMs: this.now() - outage.sinceMs,
        retries: outage.retries,
      });
    }
  }

  /** A pass failed on `error`; the next try is in `retryInMs` (reported only if the route was not down already). */
  down(error: FanoutError, retryInMs: number): void {
    if (this.outage) {
      this.outage.retries++;
      return;
    }
    this.current = 'down';
    this.outage = { error, sinceMs: this.now(), retries: 0 };
    this.sink.state?.(this.route, 'down');
    this.sink.transition({
      type: 'route-down',
      route: this.route,
      spool: error.spool,
      file: error.file,
      code: error.code,
      message: error.message,
      retryInMs,
    });
  }
}

/** The line an operator reads for a transition (without the `fanout: ` prefix). */
export function describeTransition(t: RouteTransition, label: string, waiting = 'messages wait in the source'): string {
  if (t.type === 'route-down') {
    const where = [t.spool, t.file].filter((x) => x !== undefined && x !== '').join(': ');
    return (
      `${label}down: ${where ? `${where}: ` : ''}${t.message} (${t.code}); ${waiting}, ` +
      `retrying with backoff (next in ${formatDuration(t.retryInMs)})`
    );
  }
  return (
    `${label}up again after ${formatDuration(t.downMs)} ` +
    `(${t.code}${t.spool !== undefined ? ` at ${t.spool}` : ''}` +
    `; ${t.retries} ${t.retries === 1 ? 'retry' : 'retries'})`
  );
}
