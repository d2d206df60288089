/**
 * The routes of one `run --watch`, each a task of its own: started, stopped,
 * and replaced when a reloaded config changes it (the old task finishes the
 * transaction in hand before the new one starts). A task that ends although
 * nobody stopped it is reported and started again after a backoff, so a
 * route never ends silently while the process looks healthy.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Backoff } from './backoff.js';

/** How a route task ended. */
export interface RouteEnd<O> {
  /** What the route did (its totals), for the summary. */
  readonly outcome: O;
  /** Set when the route met an error that must end the whole command (exit status). */
  readonly fatal?: number;
}

/** Options of a {@link RouteSet}. */
export interface RouteSetOptions<S, O> {
  /**
   * Run route `name` until `signal` (or a fatal error); `initial`: it comes from the config the command started with.
   */
  run(name: string, spec: S, signal: AbortSignal, initial: boolean): Promise<RouteEnd<O>>;
  /** Whether two specs are the same route (an unchanged route keeps running through a reload). */
  same(a: S, b: S): boolean;
  /** A task ended unexpectedly (`reason`: its error, or undefined if it returned); it restarts in `inMs`. */
  onUnexpectedEnd(name: string, reason: unknown, inMs: number): void;
  /** A route was stopped (by a reload or at the end) with what it did. */
  onStopped?(name: string, outcome: O): void;
  /** Backoff between restarts of one route; default {@link Backoff}'s defaults. */
  newBackoff?(): Backoff;
}

/** What a reload changed. */
export interface RouteSetDiff {
  readonly added: string[];
  readonly removed: string[];
  readonly changed: string[];
  readonly unchanged: string[];
}

interface Running<S> {
  spec: S;
  controller: AbortController;
  /** Resolves when the task (and its restarts) are over for good. */
  done: Promise<void>;
}

/** See the module comment. */
export class RouteSet<S, O> {
  private readonly running = new Map<string, Running<S>>();
  private readonly outcomes: { name: string; outcome: O }[] = [];
  private fatalStatus: number | undefined;
  private readonly fatalSeen = new AbortController();
  private initial = true;

  constructor(private readonly options: RouteSetOptions<S, O>) {}

  /**
   * Aborted when a route ended with a fatal error: the command should stop every route and exit with
   * {@link RouteSet.fatal}.
   */
  get fatalSignal(): AbortSignal {
    return this.fatalSeen.signal;
  }

  /** The exit status of the first fatal route end, if any. */
  get fatal(): number | undefined {
    return this.fatalStatus;
  }

  /** What every stopped route did, in the order they stopped. */
  get stopped(): readonly { name: string; outcome: O }[] {
    return this.outcomes;
  }

  /** The names of the routes running now. */
  names(): string[] {
    return [...this.running.keys()];
  }

  /**
   * Make the running routes those of `next`: stop removed and changed ones
   * (waiting for their transactions in hand), then start added and changed
   * ones; unchanged ones keep running undisturbed.
   */
  async apply(next: ReadonlyMap<string, S>): Promise<RouteSetDiff> {
    const diff: RouteSetDiff = { added: [], removed: [], changed: [], unchanged: [] };
    for (const [name, r] of this.running) {
      const wanted = next.get(name);
      if (wanted === undefined) diff.removed.push(name);
      else if (this.options.same(r.spec, wanted)) diff.unchanged.push(name);
      else diff.changed.push(name);
    }
    for (const name of next.keys()) if (!this.running.has(name)) diff.added.push(name);
    await Promise.all([...diff.removed, ...diff.changed].map((name) => this.stop(name)));
    const initial = this.initial;
    this.initial = false;
    for (const name of [...diff.changed, ...diff.added]) this.start(name, next.get(name)!, initial);
    return diff;
  }

  /** Stop every route and wait for them. */
  async stopAll(): Promise<void> {
    await Promise.all(this.names().map((name) => this.stop(name)));
  }

  private async stop(name: string): Promise<void> {
    const r = this.running.get(name);
    if (!r) return;
    r.controller.abort();
    await r.done;
    this.running.delete(name);
  }

  private start(name: string, spec: S, initial: boolean): void {
    const controller = new AbortController();
    const backoff = this.options.newBackoff?.() ?? new Backoff();
    const loop = async () => {
      for (;;) {
        let end: RouteEnd<O> | undefined;
        let reason: unknown;
        try {
          end = await this.options.run(name, spec, controller.signal, initial);
        } catch (err) {
          reason = err;
        }
        if (end?.fatal !== undefined) {
          this.fatalStatus ??= end.fatal;
          this.fatalSeen.abort();
        }
        if (end !== undefined && (controller.signal.aborted || end.fatal !== undefined)) {
          this.outcomes.push({ name, outcome: end.outcome });
          this.options.onStopped?.(name, end.outcome);
          return;
        }
        if (controller.signal.aborted) return;
        const inMs = backoff.next();
        this.options.onUnexpectedEnd(name, reason, inMs);
        await sleep(inMs, undefined, { signal: controller.signal }).catch(() => undefined);
        if (controller.signal.aborted) return;
      }
    };
    this.running.set(name, { spec, controller, done: loop() });
  }
}
