/**
 * The loop that keeps one route (or one consumer) going under `--watch`:
 * run a step, wait, run the next; a step that meets an outage marks the
 * route down and is retried with capped exponential backoff; the loop only
 * ends on its signal, or on an error that `isFatal` says must end the command
 * (a mistake of the operator, found before the route ever ran).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { type FanoutError, toFanoutError } from '@fanout/core';
import type { Backoff } from './backoff.js';
import type { RouteHealth } from './route-health.js';

/** What one step of a supervised route says about the next. */
export interface StepResult {
  /** How long to wait before the next step when all went well (0: at once). */
  readonly waitMs: number;
  /**
   * An outage the step ran into without throwing (every message of the pass
   * failed on a full or vanished destination): the route is down.
   */
  readonly outage?: FanoutError;
}

/** Options of {@link supervise}. */
export interface SuperviseOptions {
  readonly health: RouteHealth;
  readonly backoff: Backoff;
  /** Ends the loop; the step in hand finishes first. */
  readonly signal: AbortSignal;
  /** One unit of work (a pass over the source). */
  step(): Promise<StepResult>;
  /** The error as an outage of a storage, or `undefined` (see `classifyFailure`). */
  classify(err: unknown): Promise<FanoutError | undefined>;
  /** Whether an error that is no outage ends the loop (rethrown); otherwise the route is down and retried. */
  isFatal(err: unknown, everUp: boolean): boolean;
  /** Injectable for tests. */
  readonly sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

const abortableSleep = (ms: number, signal: AbortSignal) => sleep(ms, undefined, { signal }).catch(() => undefined);

/** Run the route until its signal; see the module comment. */
export async function supervise(options: SuperviseOptions): Promise<void> {
  const { health, backoff, signal } = options;
  const wait = options.sleep ?? abortableSleep;
  let everUp = false;
  while (!signal.aborted) {
    let waitMs: number;
    try {
      const result = await options.step();
      if (result.outage !== undefined) {
        waitMs = backoff.next();
        health.down(result.outage, waitMs);
      } else {
        health.up();
        backoff.reset();
        everUp = true;
        waitMs = result.waitMs;
      }
    } catch (err) {
      if (signal.aborted) break;
      const fault = await options.classify(err);
      if (fault === undefined && options.isFatal(err, everUp)) throw err;
      waitMs = backoff.next();
      // Anything else that ended the step (a bug included) is an outage of this route too: reported once, retried.
      health.down(fault ?? toFanoutError(err, 'EIO'), waitMs);
    }
    if (signal.aborted) break;
    if (waitMs > 0) await wait(waitMs, signal);
  }
}
